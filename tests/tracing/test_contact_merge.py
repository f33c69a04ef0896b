"""One contact per person across investigations: two cases finding the same person make one
contact row with both findings, the later exposure driving the clock; withdrawing one finding
keeps the other; a person exposed again after hand-over gets their one order moved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core.clock import ManualClock, use_clock
from fangkong.core.scope import Actor
from fangkong.healthcode.providers import tracing_facts
from fangkong.isolation import actions as isolation_actions
from fangkong.isolation import service as isolation_service
from fangkong.isolation.models import IsolationOrder
from fangkong.registry.models import Person
from fangkong.tracing import actions, service
from fangkong.tracing.models import Case, Contact
from tests import places
from tests.personas import LUSONG, Personas
from tests.tracing.world import LUSONG_PATH, NOW, SAMPLED, World, build, epidemiologist, open_case

VISIT = SAMPLED - timedelta(hours=20)  # the first case at the market, the shopper 10 min later
CLINIC = VISIT + timedelta(hours=5)  # the second case at the clinic, the shopper 5 min later


@dataclass
class Two:
    world: World
    actor: Actor
    first: Case
    second: Case
    second_person: Person


def two_cases(session: Session, personas: Personas) -> Two:
    world = build(session)
    actor = epidemiologist(personas)
    second_person = places.person(session, "陈病例", area_path=LUSONG_PATH)
    with use_clock(ManualClock(NOW)):
        stored = service.record_scans(
            session=session,
            scans=[
                {"person_id": second_person.id, "venue_id": world.clinic.id, "scanned_at": CLINIC},
                {
                    "person_id": world.shopper.id,
                    "venue_id": world.clinic.id,
                    "scanned_at": CLINIC + timedelta(minutes=5),
                },
            ],
        )
    assert stored.rejected == []
    first = open_case(session, actor, world.case_person)
    second = open_case(session, actor, second_person)
    return Two(world, actor, first, second, second_person)


def confirm(session: Session, actor: Actor, case: Case) -> list[Contact]:
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None
    with use_clock(ManualClock(NOW)):
        _, contacts = actions.confirm_investigation(
            session=session, actor=actor, investigation_id=investigation.id
        )
    return contacts


def rows_of(session: Session, person: Person) -> list[Contact]:
    return list(session.scalars(select(Contact).where(Contact.person_id == person.id)))


def findings(session: Session, contact: Contact) -> list[tuple[int, str, str, datetime]]:
    return [
        (link.case_id, link.category, link.status, link.last_exposure_at)
        for link in service.links_of(session=session, contact_ids=[contact.id])[contact.id]
    ]


def test_two_cases_finding_one_person_make_one_contact_with_both_findings(
    session: Session, personas: Personas
) -> None:
    two = two_cases(session, personas)
    world = two.world
    confirm(session, two.actor, two.first)
    second_contacts = confirm(session, two.actor, two.second)

    [shopper] = rows_of(session, world.shopper)
    assert findings(session, shopper) == [
        (two.first.id, "close_contact", "active", VISIT + timedelta(minutes=10)),
        (two.second.id, "close_contact", "active", CLINIC + timedelta(minutes=5)),
    ]
    assert (shopper.status, shopper.category, shopper.case_id, shopper.active_person_id) == (
        "identified",
        "close_contact",
        two.first.id,
        world.shopper.id,
    )
    assert shopper.last_exposure_at == CLINIC + timedelta(minutes=5)  # the later exposure
    evidence = service.evidence_of(session=session, contact_ids=[shopper.id])[shopper.id]
    assert [(e.case_id, e.basis, e.venue_id) for e in evidence] == [
        (two.first.id, "venue", world.market.id),
        (two.second.id, "venue", world.clinic.id),
    ]
    assert shopper.id in {c.id for c in second_contacts}
    # the spouse is a secondary contact through the shopper, for both cases: one row too
    [spouse] = rows_of(session, world.shopper_spouse)
    assert [(case_id, category) for case_id, category, _, _ in findings(session, spouse)] == [
        (two.first.id, "secondary_contact"),
        (two.second.id, "secondary_contact"),
    ]
    with use_clock(ManualClock(NOW)):
        due = service.list_contacts_due_for_isolation(session=session, actor=two.actor)
    assert [c.id for c in due if c.person_id == world.shopper.id] == [shopper.id]
    facts = tracing_facts(session=session, person_ids=[world.shopper.id], now=NOW)
    assert facts[world.shopper.id].last_exposure_at == CLINIC + timedelta(minutes=5)
    lines = service.export_line_list(session=session, actor=two.actor, fmt="csv")
    assert lines.media_type == "text/csv"


def test_a_withdrawn_finding_leaves_the_other_and_the_last_one_closes_the_contact(
    session: Session, personas: Personas
) -> None:
    two = two_cases(session, personas)
    world = two.world
    confirm(session, two.actor, two.first)
    confirm(session, two.actor, two.second)
    for case, at in ((two.second, NOW + timedelta(hours=1)), (two.first, NOW + timedelta(hours=2))):
        investigation = service.investigation_of_case(session=session, case_id=case.id)
        assert investigation is not None
        for entry in service.trajectory(session=session, investigation_id=investigation.id):
            if entry.kind == "scan":
                entry.removed = True  # struck before confirmation in real use
        session.flush()
        with use_clock(ManualClock(at)):
            actions.find_contacts(
                session=session, actor=two.actor, investigation_id=investigation.id
            )
        [shopper] = rows_of(session, world.shopper)
        if case is two.second:
            assert (shopper.status, shopper.last_exposure_at) == (
                "identified",
                VISIT + timedelta(minutes=10),
            )
            assert [s for _, _, s, _ in findings(session, shopper)] == ["active", "withdrawn"]
    assert (shopper.status, shopper.closed_reason, shopper.active_person_id) == (
        "closed",
        "withdrawn",
        None,
    )


def test_a_contact_exposed_again_after_hand_over_keeps_one_order_moved_to_the_later_exposure(
    session: Session, personas: Personas
) -> None:
    two = two_cases(session, personas)
    world = two.world
    officer = actor_for(personas.user(f"iso-{LUSONG}", Role.ISOLATION_MANAGER, LUSONG))
    section = isolation_service.section_for(pack_id="cn-9", version=None, now=NOW)
    confirm(session, two.actor, two.first)
    with use_clock(ManualClock(NOW)):
        first = isolation_actions.isolate_due_contacts(
            session=session, actor=officer, section=section
        )
    [order] = session.scalars(
        select(IsolationOrder).where(IsolationOrder.person_id == world.shopper.id)
    ).all()
    assert order.id in first.created
    assert (order.anchor_at, order.planned_end_at) == (
        VISIT + timedelta(minutes=10),
        VISIT + timedelta(minutes=10, days=7),  # cn-9: 7 days centralised from the exposure
    )
    confirm(session, two.actor, two.second)
    [shopper] = rows_of(session, world.shopper)
    assert shopper.status == "identified"  # back to isolation with the later exposure
    with use_clock(ManualClock(NOW + timedelta(hours=1))):
        second = isolation_actions.isolate_due_contacts(
            session=session, actor=officer, section=section
        )
    orders = session.scalars(
        select(IsolationOrder).where(IsolationOrder.person_id == world.shopper.id)
    ).all()
    assert [o.id for o in orders] == [order.id]
    session.refresh(order)
    assert (order.anchor_at, order.planned_end_at) == (
        CLINIC + timedelta(minutes=5),
        CLINIC + timedelta(minutes=5, days=7),
    )
    assert order.id in second.moved_to_later_exposure
    assert world.shopper.id in second.already_ordered
    session.refresh(shopper)
    assert (shopper.status, shopper.isolation_ref) == ("handed_over", f"order:{order.id}")
