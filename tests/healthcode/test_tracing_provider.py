"""Cases and contacts from the tracing domain reach the health-code engine as facts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from fangkong.healthcode import jobs, providers, service
from fangkong.healthcode.enums import CaseStatus, ContactKind
from fangkong.healthcode.facts import TracingFacts
from fangkong.healthcode.models import HealthCode
from fangkong.tracing.models import Contact
from tests.healthcode.builders import section
from tests.personas import Personas
from tests.tracing.test_contact_finding import confirmed
from tests.tracing.world import NOW


def test_it_reads_cases_and_the_closest_open_contact(session: Session, personas: Personas) -> None:
    world, case, contacts = confirmed(session, personas)
    exposure = {c.person_id: c.last_exposure_at for c in contacts}
    wife = world.housemates[0]
    people = [world.case_person.id, wife.id, world.shopper_spouse.id, world.late_shopper.id]

    found = providers.tracing_facts(session=session, person_ids=people, now=NOW)

    assert found == {
        world.case_person.id: TracingFacts(
            case_status=CaseStatus.ASYMPTOMATIC, case_status_since=case.reported_at
        ),
        wife.id: TracingFacts(contact=ContactKind.CLOSE, last_exposure_at=exposure[wife.id]),
        world.shopper_spouse.id: TracingFacts(
            contact=ContactKind.SECONDARY,
            last_exposure_at=exposure[world.shopper_spouse.id],
        ),
    }
    # a contact closed (e.g. released from isolation) no longer counts
    session.execute(update(Contact).where(Contact.person_id == wife.id).values(status="closed"))
    assert wife.id not in providers.tracing_facts(session=session, person_ids=[wife.id], now=NOW)


def test_a_case_and_a_close_contact_get_red_codes_from_the_tables(
    session: Session, personas: Personas
) -> None:
    world, _, _ = confirmed(session, personas)
    wife = world.housemates[0]
    later = NOW + timedelta(minutes=5)

    result = service.recompute_affected(
        session=session,
        person_ids=[world.case_person.id, wife.id, world.late_shopper.id],
        now=later,
        pack=section("cn-9"),
    )

    colours = {
        p: (code.colour if (code := session.get(HealthCode, p)) else None)
        for p in (world.case_person.id, wife.id, world.late_shopper.id)
    }
    assert sorted(result.changed) == sorted(colours)
    assert colours == {world.case_person.id: "red", wife.id: "red", world.late_shopper.id: "green"}


def test_the_changed_feed_recomputes_only_people_whose_facts_moved(
    session: Session, personas: Personas
) -> None:
    world, case, contacts = confirmed(session, personas)
    moved = {case.person_id, *(c.person_id for c in contacts)}

    assert providers.changed_since(session=session, since=NOW - timedelta(minutes=1)) == moved
    report = jobs.recompute_changed(
        session=session, since=NOW - timedelta(minutes=1), now=NOW + timedelta(minutes=5)
    )
    later = jobs.recompute_changed(
        session=session, since=NOW + timedelta(hours=1), now=NOW + timedelta(hours=1)
    )

    assert (report.evaluated, report.changed) == (len(moved), len(moved))
    assert session.get(HealthCode, world.late_shopper.id) is None  # nothing moved for them
    assert (later.evaluated, later.changed) == (0, 0)
