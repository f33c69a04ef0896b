"""Isolation in the database: facilities, rooms, orders, tests, release, with refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core import audit, clock
from fangkong.core.errors import CoreErrorCode, FangkongError
from fangkong.core.scope import Actor
from fangkong.isolation import actions, service
from fangkong.isolation.enums import Category, FacilityStatus, ReleaseOutcome, SampleResult
from fangkong.isolation.errors import IsolationErrorCode
from fangkong.isolation.models import IsolationOrder, Room
from fangkong.registry.models import Person
from tests import places
from tests.authz import snapshot
from tests.personas import HETANG, LUSONG, Personas

EXPOSED = datetime(2022, 7, 1, 2, 0, tzinfo=UTC)
ORDERED = EXPOSED + timedelta(hours=20)
D = timedelta(days=1)


def manager(personas: Personas, area_code: str = LUSONG) -> Actor:
    return actor_for(personas.user(f"iso-{area_code}", Role.ISOLATION_MANAGER, area_code))


def resident(session: Session, name: str) -> Person:
    compound = places.compound(session, f"{name}小区")
    home = places.household(session, places.building(session, compound, "1栋"))
    return places.person(session, name, at=home)


def facility_with_room(
    session: Session, actor: Actor, capacity: int, area_code: str = LUSONG
) -> Room:
    facility = service.create_facility(
        session=session,
        actor=actor,
        name="芦淞隔离点",
        area_code=area_code,
        status=FacilityStatus.IN_USE,
    )
    return service.add_room(
        session=session, actor=actor, facility_id=facility.id, label="101", capacity=capacity
    )


def order_for(
    session: Session, actor: Actor, person: Person, pack_id: str = "cn-9"
) -> IsolationOrder:
    return service.create_order(
        session=session,
        actor=actor,
        person_id=person.id,
        category=Category.CLOSE_CONTACT,
        last_exposure_at=EXPOSED,
        section=service.section_for(pack_id=pack_id, version=None, now=ORDERED),
    )


def test_it_runs_a_close_contact_through_7_plus_3_cn9(session: Session, personas: Personas) -> None:
    actor = manager(personas)
    manual = clock.ManualClock(ORDERED)
    with clock.use_clock(manual):
        room = facility_with_room(session, actor, capacity=2)
        order = order_for(session, actor, resident(session, "张三"))
        actions.assign_room(session=session, actor=actor, order_id=order.id, room_id=room.id)
        session.refresh(room)
        assert (order.kind, order.room_id, room.occupancy) == ("centralised", room.id, 1)
        for day in (1, 2, 3, 5, 7):
            service.record_test(
                session=session,
                actor=actor,
                order_id=order.id,
                sampled_at=EXPOSED + (day - 1) * D + timedelta(hours=6),
                result=SampleResult.NEGATIVE,
                ct=None,
            )
        manual.set(EXPOSED + 7 * D)
        _, to_home = actions.release(session=session, actor=actor, order_id=order.id)
        session.refresh(room)
        assert (to_home.outcome, order.kind, order.room_id, room.occupancy) == (
            ReleaseOutcome.NEXT_PHASE,
            "home_monitoring",
            None,
            0,
        )
        assert (order.phase_started_at, order.planned_end_at) == (EXPOSED + 7 * D, EXPOSED + 10 * D)
        service.record_test(
            session=session,
            actor=actor,
            order_id=order.id,
            sampled_at=EXPOSED + 9 * D + timedelta(hours=1),
            result=SampleResult.NEGATIVE,
            ct=None,
        )
        manual.set(EXPOSED + 10 * D)
        _, freed = actions.release(session=session, actor=actor, order_id=order.id)

    assert (freed.outcome, order.status) == (ReleaseOutcome.RELEASED, "released")
    events = audit.events_for(session=session, subject_type="isolation_order", subject_id=order.id)
    assert [e.action for e in events if e.action != "isolation.test.recorded"] == [
        "isolation.order.created",
        "isolation.order.assigned",
        "isolation.order.next_phase",
        "isolation.order.released",
    ]
    assert {e.rule_ref for e in events if e.action != "isolation.test.recorded"} == {
        "cn-9@1#iso.close_contact"
    }


def test_it_refuses_a_full_room(session: Session, personas: Personas) -> None:
    actor = manager(personas)
    with clock.use_clock(clock.ManualClock(ORDERED)):
        room = facility_with_room(session, actor, capacity=1)
        first = order_for(session, actor, resident(session, "张三"))
        second = order_for(session, actor, resident(session, "李四"))
        actions.assign_room(session=session, actor=actor, order_id=first.id, room_id=room.id)
        before = snapshot(session)

        with pytest.raises(FangkongError) as refused:
            actions.assign_room(session=session, actor=actor, order_id=second.id, room_id=room.id)

    assert refused.value.code == IsolationErrorCode.ROOM_FULL
    assert snapshot(session) == before


def test_it_refuses_a_facility_outside_the_jurisdiction(
    session: Session, personas: Personas
) -> None:
    lusong, hetang = manager(personas), manager(personas, HETANG)
    with clock.use_clock(clock.ManualClock(ORDERED)):
        room = facility_with_room(session, hetang, capacity=4, area_code=HETANG)
        order = order_for(session, lusong, resident(session, "张三"))
        before = snapshot(session)

        with pytest.raises(FangkongError) as refused:
            actions.assign_room(session=session, actor=lusong, order_id=order.id, room_id=room.id)

    assert refused.value.code == CoreErrorCode.OUTSIDE_JURISDICTION
    assert snapshot(session) == before


@pytest.mark.parametrize(
    ("_case", "results", "at", "code"),
    [
        (
            "before the 7th day ends",
            {1: "negative", 2: "negative", 3: "negative", 5: "negative", 7: "negative"},
            7 * D - timedelta(minutes=1),
            IsolationErrorCode.NOT_DUE,
        ),
        (
            "day 5 missing",
            {1: "negative", 2: "negative", 3: "negative", 7: "negative"},
            7 * D,
            IsolationErrorCode.TESTS_MISSING,
        ),
        (
            "positive on day 3",
            {1: "negative", 2: "negative", 3: "positive"},
            7 * D,
            IsolationErrorCode.TEST_POSITIVE,
        ),
    ],
)
def test_it_refuses_release_until_the_rules_allow_it(
    _case: str,
    results: dict[int, str],
    at: timedelta,
    code: IsolationErrorCode,
    session: Session,
    personas: Personas,
) -> None:
    actor = manager(personas)
    manual = clock.ManualClock(ORDERED)
    with clock.use_clock(manual):
        order = order_for(session, actor, resident(session, "张三"))
        for day, result in results.items():
            service.record_test(
                session=session,
                actor=actor,
                order_id=order.id,
                sampled_at=EXPOSED + (day - 1) * D + timedelta(hours=6),
                result=SampleResult(result),
                ct=None,
            )
        manual.set(EXPOSED + at)
        before = snapshot(session)

        with pytest.raises(FangkongError) as refused:
            actions.release(session=session, actor=actor, order_id=order.id)

    assert refused.value.code == code
    assert snapshot(session) == before


def test_it_refuses_a_category_the_pack_does_not_have(session: Session, personas: Personas) -> None:
    actor = manager(personas)
    person = resident(session, "张三")
    before = snapshot(session)

    with clock.use_clock(clock.ManualClock(ORDERED)), pytest.raises(FangkongError) as refused:
        service.create_order(
            session=session,
            actor=actor,
            person_id=person.id,
            category=Category.SECONDARY_CONTACT,
            last_exposure_at=EXPOSED,
            section=service.section_for(pack_id="cn-20", version=None, now=ORDERED),
        )

    assert refused.value.code == IsolationErrorCode.CATEGORY_NOT_IN_PACK
    assert snapshot(session) == before


def test_it_refuses_a_test_outside_the_current_phase(session: Session, personas: Personas) -> None:
    actor = manager(personas)
    with clock.use_clock(clock.ManualClock(ORDERED)):
        order = order_for(session, actor, resident(session, "张三"))
        before = snapshot(session)

        with pytest.raises(FangkongError) as refused:
            service.record_test(
                session=session,
                actor=actor,
                order_id=order.id,
                sampled_at=EXPOSED + 8 * D,
                result=SampleResult.NEGATIVE,
                ct=None,
            )

    assert refused.value.code == IsolationErrorCode.TEST_DAY_OUT_OF_PHASE
    assert snapshot(session) == before


def test_it_extends_or_ends_early_only_with_a_reason(session: Session, personas: Personas) -> None:
    actor = manager(personas)
    with clock.use_clock(clock.ManualClock(ORDERED)):
        room = facility_with_room(session, actor, capacity=2)
        order = order_for(session, actor, resident(session, "张三"))
        actions.assign_room(session=session, actor=actor, order_id=order.id, room_id=room.id)
        before = snapshot(session)
        with pytest.raises(FangkongError) as no_reason:
            actions.end_early(session=session, actor=actor, order_id=order.id, reason=" ")
        assert no_reason.value.code == IsolationErrorCode.REASON_REQUIRED
        assert snapshot(session) == before

        actions.extend(
            session=session,
            actor=actor,
            order_id=order.id,
            new_end_at=EXPOSED + 9 * D,
            reason="household member tested positive on day 6",
        )
        assert order.planned_end_at == EXPOSED + 9 * D
        actions.end_early(
            session=session, actor=actor, order_id=order.id, reason="moved to hospital"
        )
        session.refresh(room)

    assert (order.status, order.room_id, room.occupancy) == ("ended_early", None, 0)
    [ended] = [
        e
        for e in audit.events_for(
            session=session, subject_type="isolation_order", subject_id=order.id
        )
        if e.action == "isolation.order.ended_early"
    ]
    assert (ended.reason, ended.before["room_id"], ended.after["status"]) == (
        "moved to hospital",
        room.id,
        "ended_early",
    )


def test_it_takes_a_facility_out_of_use_only_when_empty(
    session: Session, personas: Personas
) -> None:
    actor = manager(personas)
    with clock.use_clock(clock.ManualClock(ORDERED)):
        room = facility_with_room(session, actor, capacity=2)
        order = order_for(session, actor, resident(session, "张三"))
        actions.assign_room(session=session, actor=actor, order_id=order.id, room_id=room.id)
        before = snapshot(session)
        with pytest.raises(FangkongError) as refused:
            actions.set_facility_status(
                session=session,
                actor=actor,
                facility_id=room.facility_id,
                status=FacilityStatus.CLEANING,
            )
        assert refused.value.code == IsolationErrorCode.FACILITY_OCCUPIED
        assert snapshot(session) == before

        actions.end_early(session=session, actor=actor, order_id=order.id, reason="hospital")
        facility = actions.set_facility_status(
            session=session,
            actor=actor,
            facility_id=room.facility_id,
            status=FacilityStatus.CLEANING,
        )
        other = order_for(session, actor, resident(session, "李四"))
        with pytest.raises(FangkongError) as closed:
            actions.assign_room(session=session, actor=actor, order_id=other.id, room_id=room.id)

    assert facility.status == "cleaning"
    assert closed.value.code == IsolationErrorCode.FACILITY_NOT_IN_USE
    [event] = audit.events_for(
        session=session, subject_type="isolation_facility", subject_id=facility.id
    )[-1:]
    assert (event.action, event.before, event.after) == (
        "isolation.facility.status",
        {"status": "in_use"},
        {"status": "cleaning"},
    )
