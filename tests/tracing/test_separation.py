"""An exposure ends where the contact and the case were separated: a contact taken to a hotel
room on day 1 is not exposed at home on day 4 when a housemate becomes a case there, unless the
two share a family room (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core.audit import AuditEvent
from fangkong.core.clock import ManualClock, use_clock
from fangkong.core.scope import Actor
from fangkong.isolation import actions as isolation_actions
from fangkong.isolation import service as isolation_service
from fangkong.isolation.enums import DestinationKind, FacilityStatus, TransferKind, TransferStatus
from fangkong.isolation.models import IsolationOrder
from fangkong.isolation.schemas import StopIn
from fangkong.registry.models import Person
from fangkong.tracing import actions, service
from fangkong.tracing.enums import CaseKind, DetectionRoute
from fangkong.tracing.models import Case, Contact
from fangkong.tracing.rules import Whereabouts, exposure_until
from tests.personas import LUSONG, Personas
from tests.tracing.world import NOW, build, epidemiologist

T0 = datetime(2022, 11, 9, 12, 0, tzinfo=UTC)
DAY4 = T0 + timedelta(days=3)

# --- the pure rule --------------------------------------------------------------------------


def test_a_free_contact_of_a_free_case_keeps_the_exposure() -> None:
    at = T0 + timedelta(days=2)
    assert exposure_until(at, contact=Whereabouts(place="home:1"), case=Whereabouts()) == at


def test_the_exposure_ends_when_the_contact_was_taken_to_a_room() -> None:
    contact = Whereabouts(since=T0, place="room:7")
    case = Whereabouts(place="home:1")
    assert exposure_until(DAY4, contact=contact, case=case) == T0


def test_the_exposure_ends_when_the_case_was_taken_away_first() -> None:
    contact = Whereabouts(since=T0 + timedelta(hours=5), place="room:7")
    case = Whereabouts(since=T0 + timedelta(hours=1), place="room:8")
    assert exposure_until(DAY4, contact=contact, case=case) == T0 + timedelta(hours=1)


def test_an_exposure_before_the_separation_is_left_as_it_was() -> None:
    before = T0 - timedelta(hours=3)
    contact = Whereabouts(since=T0, place="room:7")
    assert exposure_until(before, contact=contact, case=Whereabouts(place="home:1")) == before


@pytest.mark.parametrize(
    "place",
    ["room:7", "home:1"],  # a family room of a hotel; home isolation together
)
def test_people_kept_in_the_same_place_are_not_separated(place: str) -> None:
    contact = Whereabouts(since=T0, place=place)
    case = Whereabouts(since=T0 + timedelta(hours=2), place=place)
    assert exposure_until(DAY4, contact=contact, case=case) == DAY4


def test_a_contact_isolating_at_home_is_exposed_by_a_housemate_living_freely() -> None:
    contact = Whereabouts(since=T0, place="home:1")
    assert exposure_until(DAY4, contact=contact, case=Whereabouts(place="home:1")) == DAY4
    assert exposure_until(DAY4, contact=contact, case=Whereabouts(place="home:2")) == T0


# --- through the services -------------------------------------------------------------------


def _case(session: Session, actor: Actor, person: Person, reported_at: datetime) -> Case:
    with use_clock(ManualClock(reported_at)):
        case = service.create_case(
            session=session,
            actor=actor,
            person_id=person.id,
            kind=CaseKind.ASYMPTOMATIC,
            detection_route=DetectionRoute.FEVER_CLINIC,
            sampled_at=reported_at - timedelta(hours=6),
            reported_at=reported_at,
        )
        investigation = service.investigation_of_case(session=session, case_id=case.id)
        assert investigation is not None
        actions.confirm_investigation(
            session=session, actor=actor, investigation_id=investigation.id
        )
    return case


def _order_of(session: Session, person: Person) -> IsolationOrder:
    [order] = session.scalars(
        select(IsolationOrder).where(IsolationOrder.person_id == person.id)
    ).all()
    return order


def _housemates_in_rooms(
    session: Session, personas: Personas, *, family_room: bool
) -> tuple[Actor, Actor, Person, Person]:
    """Day 1: a case reported at T0; its two housemates ordered and taken to a hotel at T0, in
    two single rooms or together in a family room."""
    world = build(session)
    actor = epidemiologist(personas)
    officer = actor_for(personas.user(f"iso-{LUSONG}", Role.ISOLATION_MANAGER, LUSONG))
    wife, son = world.housemates
    _case(session, actor, world.case_person, T0)
    section = isolation_service.section_for(pack_id="cn-9", version=None, now=NOW)
    with use_clock(ManualClock(T0)):
        isolation_actions.isolate_due_contacts(session=session, actor=officer, section=section)
        hotel = isolation_service.create_facility(
            session=session,
            actor=officer,
            name="芦淞隔离酒店",
            area_code=LUSONG,
            status=FacilityStatus.IN_USE,
        )
        if family_room:
            room = isolation_service.add_room(
                session=session, actor=officer, facility_id=hotel.id, label="205", capacity=3
            )
            rooms = {wife.id: room.id, son.id: room.id}
        else:
            rooms = {
                person.id: isolation_service.add_room(
                    session=session, actor=officer, facility_id=hotel.id, label=label, capacity=1
                ).id
                for person, label in ((wife, "201"), (son, "202"))
            }
        stops = []
        for person in (wife, son):
            order = _order_of(session, person)
            isolation_actions.assign_room(
                session=session, actor=officer, order_id=order.id, room_id=rooms[person.id]
            )
            stops.append(StopIn(person_id=person.id, order_id=order.id))
        task = isolation_service.create_transfer(
            session=session,
            actor=officer,
            kind=TransferKind.CONTACT,
            destination_kind=DestinationKind.FACILITY,
            facility_id=hotel.id,
            destination_name=None,
            vehicle="湘B·1",
            team="转运一组",
            stops=stops,
        )
        for step in (
            TransferStatus.DISPATCHED,
            TransferStatus.PICKED_UP,
            TransferStatus.CHECKED_IN,
        ):
            isolation_actions.advance_transfer(
                session=session, actor=officer, transfer_id=task.id, to=step
            )
    return actor, officer, wife, son


def _moved(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(AuditEvent.subject_id).where(
                AuditEvent.action == "isolation.order.moved_to_later_exposure"
            )
        )
    )


def test_a_contact_in_a_hotel_room_since_day_1_keeps_the_end_when_a_housemate_is_a_case_on_day_4(
    session: Session, personas: Personas
) -> None:
    actor, officer, wife, son = _housemates_in_rooms(session, personas, family_room=False)
    order = _order_of(session, wife)
    assert (order.anchor_at, order.planned_end_at) == (T0, T0 + timedelta(days=7))

    second = _case(session, actor, son, DAY4)

    [contact] = session.scalars(select(Contact).where(Contact.person_id == wife.id)).all()
    assert (contact.status, contact.last_exposure_at) == ("handed_over", T0)
    evidence = service.evidence_of(session=session, contact_ids=[contact.id])[contact.id]
    # the day-4 case's household evidence ends at the pick-up on day 1, not at its report
    assert [(e.case_id, e.basis, e.at) for e in evidence if e.case_id == second.id] == [
        (second.id, "household", T0)
    ]
    section = isolation_service.section_for(pack_id="cn-9", version=None, now=DAY4)
    with use_clock(ManualClock(DAY4 + timedelta(hours=1))):
        result = isolation_actions.isolate_due_contacts(
            session=session, actor=officer, section=section
        )
    assert result.moved_to_later_exposure == []
    session.refresh(order)
    assert (order.anchor_at, order.planned_end_at) == (T0, T0 + timedelta(days=7))
    assert _moved(session) == []


def test_a_contact_sharing_a_family_room_with_a_new_case_has_the_order_moved(
    session: Session, personas: Personas
) -> None:
    actor, officer, wife, son = _housemates_in_rooms(session, personas, family_room=True)
    order = _order_of(session, wife)
    assert (order.anchor_at, order.planned_end_at) == (T0, T0 + timedelta(days=7))

    _case(session, actor, son, DAY4)

    [contact] = session.scalars(select(Contact).where(Contact.person_id == wife.id)).all()
    assert (contact.status, contact.last_exposure_at) == ("identified", DAY4)
    section = isolation_service.section_for(pack_id="cn-9", version=None, now=DAY4)
    with use_clock(ManualClock(DAY4 + timedelta(hours=1))):
        result = isolation_actions.isolate_due_contacts(
            session=session, actor=officer, section=section
        )
    assert result.moved_to_later_exposure == [order.id]
    session.refresh(order)
    assert (order.anchor_at, order.planned_end_at) == (DAY4, DAY4 + timedelta(days=7))
    assert _moved(session) == [str(order.id)]
