"""Contact finding from a confirmed trajectory: household, workplace, co-presence at venues,
secondary contacts per pack, merged duplicates, people already cases, the hand-over to
isolation, re-runs, and transmission links when a contact becomes a case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.clock import ManualClock, use_clock
from fangkong.core.errors import FangkongError
from fangkong.tracing import actions, service
from fangkong.tracing.enums import CaseKind, ContactBasis, DetectionRoute
from fangkong.tracing.errors import TracingErrorCode
from fangkong.tracing.models import Case, Contact, TransmissionLink
from fangkong.tracing.rules import Evidence, close_contacts, clusters, near_floor
from fangkong.tracing.rules import cluster_stats as rule_stats
from fangkong.tracing.section import ContactRule, TracingSection
from tests.personas import HETANG, Personas
from tests.tracing.world import NOW, SAMPLED, World, build, epidemiologist, open_case

VISIT = SAMPLED - timedelta(hours=20)


def confirmed(
    session: Session, personas: Personas, pack_id: str | None = None
) -> tuple[World, Case, list[Contact]]:
    world = build(session)
    actor = epidemiologist(personas)
    case = open_case(session, actor, world.case_person, pack_id=pack_id)
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None
    with use_clock(ManualClock(NOW)):
        _, contacts = actions.confirm_investigation(
            session=session, actor=actor, investigation_id=investigation.id
        )
    return world, case, contacts


def described(session: Session, contacts: list[Contact]) -> dict[int, tuple[object, ...]]:
    evidence = service.evidence_of(session=session, contact_ids=[c.id for c in contacts])
    return {
        c.person_id: (
            c.category,
            c.status,
            tuple((e.basis, e.venue_id, e.minutes, e.via_person_id) for e in evidence[c.id]),
        )
        for c in contacts
    }


def test_contacts_are_found_classified_and_carry_their_evidence(
    session: Session, personas: Personas
) -> None:
    world, case, contacts = confirmed(session, personas)
    wife, son = world.housemates
    assert described(session, contacts) == {
        wife.id: ("close_contact", "identified", (("household", None, None, None),)),
        son.id: ("close_contact", "identified", (("household", None, None, None),)),
        world.colleague.id: ("close_contact", "identified", (("workplace", None, None, None),)),
        # scanned 10 minutes after the case; both presumed there 30 minutes: 20 minutes together
        world.shopper.id: ("close_contact", "identified", (("venue", world.market.id, 20, None),)),
        world.shopper_spouse.id: (
            "secondary_contact",
            "identified",
            (("via_contact", None, None, world.shopper.id),),
        ),
    }  # neither the case, nor the late shopper, nor the neighbour (cn-9 lists no floors)
    by_person = {c.person_id: c for c in contacts}
    shopper = by_person[world.shopper.id]
    assert shopper.last_exposure_at == VISIT + timedelta(minutes=10)
    assert shopper.due_at == NOW + timedelta(hours=12)
    assert shopper.rule_ref == "cn-9@1#tr.close_contact"
    assert shopper.area_path == world.shopper.area_path
    assert by_person[world.shopper_spouse.id].due_at == NOW + timedelta(hours=24)
    assert by_person[world.shopper_spouse.id].rule_ref == "cn-9@1#tr.secondary_contact"
    assert {c.case_id for c in contacts} == {case.id}


def test_packs_without_secondary_contacts_find_none(session: Session, personas: Personas) -> None:
    world, _, contacts = confirmed(session, personas, pack_id="cn-20")
    assert world.shopper_spouse.id not in {c.person_id for c in contacts}
    assert {c.category for c in contacts} == {"close_contact"}
    assert {c.rule_ref for c in contacts} == {"cn-20@1#tr.close_contact"}


def test_a_person_found_twice_is_one_contact_and_an_existing_case_is_recognised(
    session: Session, personas: Personas
) -> None:
    world = build(session)
    actor = epidemiologist(personas)
    wife = world.housemates[0]
    # The wife also shopped with the case, and the son is a case already.
    with use_clock(ManualClock(NOW)):
        service.record_scans(
            session=session,
            scans=[
                {"person_id": wife.id, "venue_id": world.market.id, "scanned_at": VISIT},
            ],
        )
    son_case = open_case(session, actor, world.housemates[1])
    case = open_case(session, actor, world.case_person)
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None
    with use_clock(ManualClock(NOW)):
        _, contacts = actions.confirm_investigation(
            session=session, actor=actor, investigation_id=investigation.id
        )
    by_person = {c.person_id: c for c in contacts}
    assert described(session, [by_person[wife.id]])[wife.id] == (
        "close_contact",
        "identified",
        (("venue", world.market.id, 30, None), ("household", None, None, None)),
    )  # in time order: the market visit, then home until the report
    son = by_person[world.housemates[1].id]
    assert (son.status, son.closed_reason, son.already_case_id) == (
        "closed",
        "already_case",
        son_case.id,
    )
    with use_clock(ManualClock(NOW)):
        due = service.list_contacts_due_for_isolation(session=session, actor=actor)
    assert world.housemates[1].id not in {c.person_id for c in due}


def test_isolation_takes_identified_contacts_once(session: Session, personas: Personas) -> None:
    world, _, contacts = confirmed(session, personas)
    lusong = epidemiologist(personas)
    due = service.list_contacts_due_for_isolation(session=session, actor=lusong)
    # the colleague lives in 荷塘区: their district's isolation takes them
    assert world.colleague.id not in {c.person_id for c in due}
    assert [c.person_id for c in due] == sorted(
        (c.person_id for c in due), key=lambda pid: ({c.person_id: c for c in due}[pid].due_at, pid)
    )
    hetang_due = service.list_contacts_due_for_isolation(
        session=session, actor=epidemiologist(personas, HETANG)
    )
    assert [c.person_id for c in hetang_due] == [world.colleague.id]
    first = due[0]
    with use_clock(ManualClock(NOW)):
        service.mark_handed_over(
            session=session, actor=lusong, contact_id=first.id, isolation_ref="order 17"
        )
        with pytest.raises(FangkongError) as twice:
            service.mark_handed_over(session=session, actor=lusong, contact_id=first.id)
    assert (first.status, first.isolation_ref, first.handed_over_at) == (
        "handed_over",
        "order 17",
        NOW,
    )
    assert twice.value.code is TracingErrorCode.CONTACT_STATUS_CONFLICT
    with pytest.raises(FangkongError) as hidden:
        service.mark_handed_over(
            session=session, actor=epidemiologist(personas, HETANG), contact_id=due[1].id
        )
    assert hidden.value.code is TracingErrorCode.CONTACT_NOT_FOUND
    assert len(contacts) == 5


def test_running_again_after_striking_a_visit_withdraws_its_contacts(
    session: Session, personas: Personas
) -> None:
    world, case, contacts = confirmed(session, personas)
    actor = epidemiologist(personas)
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None
    [scan] = [
        e
        for e in service.trajectory(session=session, investigation_id=investigation.id)
        if e.kind == "scan"
    ]
    scan.removed = True  # struck before confirmation in real use; here straight on the row
    session.flush()
    with use_clock(ManualClock(NOW + timedelta(hours=1))):
        again = actions.find_contacts(
            session=session, actor=actor, investigation_id=investigation.id
        )
    states = {c.person_id: (c.status, c.closed_reason) for c in again}
    assert states[world.shopper.id] == ("closed", "withdrawn")
    assert states[world.shopper_spouse.id] == ("closed", "withdrawn")
    assert states[world.housemates[0].id] == ("identified", None)
    assert len(again) == len(contacts)


def test_a_contact_who_becomes_a_case_is_linked_to_the_case_that_exposed_them(
    session: Session, personas: Personas
) -> None:
    world, case, _ = confirmed(session, personas)
    actor = epidemiologist(personas)
    with use_clock(ManualClock(NOW + timedelta(days=2))):
        wife_case = service.create_case(
            session=session,
            actor=actor,
            person_id=world.housemates[0].id,
            kind=CaseKind.CONFIRMED,
            detection_route=DetectionRoute.CONTACT_SCREENING,
        )
        shopper_case = service.create_case(
            session=session,
            actor=actor,
            person_id=world.shopper.id,
            kind=CaseKind.ASYMPTOMATIC,
            detection_route=DetectionRoute.CONTACT_SCREENING,
        )
    links = session.scalars(select(TransmissionLink).order_by(TransmissionLink.id)).all()
    assert [
        (link.infector_case_id, link.infectee_case_id, link.basis, link.confidence)
        for link in links
    ] == [
        (case.id, wife_case.id, "household", "high"),
        (case.id, shopper_case.id, "venue", "medium"),
    ]
    assert clusters((link.infector_case_id, link.infectee_case_id) for link in links) == [
        sorted([case.id, wife_case.id, shopper_case.id])
    ]


def _section(**close: object) -> TracingSection:
    return TracingSection(
        pack_id="local",
        pack_version=1,
        investigation_rule_id="i",
        investigation_due_within=timedelta(hours=24),
        lookback_rule_id="l",
        lookback=timedelta(days=2),
        serial_from_last_negative=False,
        close=ContactRule(
            id="c",
            criteria=frozenset(close.get("criteria", {ContactBasis.HOUSEHOLD, ContactBasis.VENUE})),  # type: ignore[arg-type]
            handover_within=timedelta(hours=12),
            min_overlap=close.get("min_overlap", timedelta(0)),  # type: ignore[arg-type]
        ),
        secondary=None,
    )


def test_the_rules_keep_only_the_packs_criteria_and_its_minimum_time_together() -> None:
    at = datetime(2022, 11, 8, tzinfo=UTC)
    evidence = [
        Evidence(2, ContactBasis.VENUE, at, minutes=10, venue_id=1),
        Evidence(2, ContactBasis.VENUE, at + timedelta(hours=1), minutes=6, venue_id=2),
        Evidence(3, ContactBasis.VENUE, at, minutes=14, venue_id=1),
        Evidence(4, ContactBasis.BUILDING_FLOOR, at),
        Evidence(1, ContactBasis.HOUSEHOLD, at),  # the case itself
    ]
    # us-cdc style: 15 minutes in all, across venues (10 + 6 counts; 14 alone does not)
    found = close_contacts(
        case_person_id=1,
        evidence=evidence,
        section=_section(min_overlap=timedelta(minutes=15)),
        now=at,
    )
    assert [(f.person_id, len(f.evidence), f.last_exposure_at) for f in found] == [
        (2, 2, at + timedelta(hours=1))
    ]
    local = close_contacts(
        case_person_id=1,
        evidence=evidence,
        section=_section(criteria={ContactBasis.BUILDING_FLOOR}),
        now=at,
    )
    assert [f.person_id for f in local] == [4]
    assert (near_floor(3, 4), near_floor(3, 2), near_floor(3, 5)) == (True, True, False)


def test_a_neighbour_on_the_floor_above_is_found_where_the_pack_lists_floors(
    session: Session, personas: Personas
) -> None:
    world = build(session)
    actor = epidemiologist(personas)
    case = open_case(session, actor, world.case_person)
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None
    section = _section(criteria={ContactBasis.HOUSEHOLD, ContactBasis.BUILDING_FLOOR})
    evidence = actions.gather_evidence(
        session=session, investigation=investigation, case=case, section=section
    )
    found = close_contacts(
        case_person_id=case.person_id, evidence=evidence, section=section, now=NOW
    )
    assert {(f.person_id, f.evidence[0].basis) for f in found} == {
        (world.housemates[0].id, ContactBasis.HOUSEHOLD),
        (world.housemates[1].id, ContactBasis.HOUSEHOLD),
        (world.neighbour.id, ContactBasis.BUILDING_FLOOR),
    }


def test_cluster_statistics_give_size_depth_and_generation_intervals() -> None:
    day = datetime(2022, 11, 1, tzinfo=UTC)
    links = [(1, 2), (2, 3), (1, 4), (7, 8)]
    anchors = {
        1: day,
        2: day + timedelta(days=3),
        3: day + timedelta(days=5, hours=12),
        4: None,
        7: day,
        8: day + timedelta(days=4),
    }
    stats = rule_stats(links, anchors)
    assert [(s.case_ids, s.size, s.generations, s.intervals_days) for s in stats] == [
        ((1, 2, 3, 4), 4, 3, (3.0, 2.5)),
        ((7, 8), 2, 2, (4.0,)),
    ]
    assert [s.mean_interval_days for s in stats] == [2.8, 4.0]


def test_a_withdrawn_contact_who_becomes_a_case_is_not_linked(
    session: Session, personas: Personas
) -> None:
    world, case, _ = confirmed(session, personas)
    actor = epidemiologist(personas)
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None
    for entry in service.trajectory(session=session, investigation_id=investigation.id):
        entry.removed = entry.kind == "scan"
    session.flush()
    with use_clock(ManualClock(NOW + timedelta(hours=1))):
        actions.find_contacts(session=session, actor=actor, investigation_id=investigation.id)
    with use_clock(ManualClock(NOW + timedelta(days=2))):
        service.create_case(
            session=session,
            actor=actor,
            person_id=world.shopper.id,
            kind=CaseKind.CONFIRMED,
            detection_route=DetectionRoute.FEVER_CLINIC,
        )
    assert session.scalars(select(TransmissionLink)).all() == []
