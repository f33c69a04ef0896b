"""The synthetic city's isolation hotels and a short drill that fills them through the real
isolation service: orders placed, hotels full, people moved on the day their phase ends, people
who cannot be moved isolated at home with the reason (both databases)."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.config import get_settings
from fangkong.core.audit import AuditEvent
from fangkong.core.crypto import get_cipher
from fangkong.drill.loop import CITY_CODE, DrillConfig, DrillRun, run_drill
from fangkong.drill.twin import load_parameters, load_population
from fangkong.isolation.enums import FacilityStatus, PlacementReason
from fangkong.isolation.models import Facility, IsolationOrder, Room
from fangkong.registry.enums import PersonTag
from fangkong.registry.models import Person
from fangkong.sim.city.facilities import HotelPlan, plan_hotels, seed_facilities
from fangkong.sim.city.generator import City, generate
from fangkong.sim.city.load import load_city

PACK = "zhuzhou-2022-11"
DAYS = 10


def test_the_plan_gives_20_rooms_per_10000_residents_in_hotels_of_at_most_40() -> None:
    plans = plan_hotels(
        [("430203", "芦淞区", 7_870), ("430281", "醴陵市", 22_700), ("430225", "炎陵县", 0)]
    )

    assert [(p.district_code, p.name, p.status, len(p.rooms)) for p in plans] == [
        ("430203", "芦淞区建宁宾馆集中隔离点", FacilityStatus.IN_USE, 16),
        ("430281", "醴陵市神农宾馆集中隔离点", FacilityStatus.IN_USE, 23),
        ("430281", "醴陵市炎帝宾馆集中隔离点", FacilityStatus.RESERVE, 23),
    ]
    # every fifth room is a family room of three beds
    assert [beds for _, beds in plans[0].rooms] == [1, 1, 1, 1, 3] * 3 + [1]
    assert [label for label, _ in plans[0].rooms][:3] == ["201", "202", "203"]
    assert plans[1].rooms[20] == ("301", 1)  # 20 rooms a floor from the second
    assert plan_hotels([("430203", "芦淞区", 7_870)]) == [plans[0]]  # deterministic


def test_a_plan_is_frozen() -> None:
    plan = HotelPlan("430203", "x", FacilityStatus.IN_USE, (("201", 1),))
    with pytest.raises(AttributeError):
        plan.name = "y"  # type: ignore[misc]


@cache
def small_city() -> City:
    return generate(population=2_000, seed=5)


@pytest.fixture
def seeded(session: Session) -> list[Facility]:
    load_city(session=session, city=small_city(), cipher=get_cipher())
    facilities = seed_facilities(session=session, city_code=CITY_CODE)
    session.commit()
    return facilities


def test_the_city_gets_its_hotels_once(session: Session, seeded: list[Facility]) -> None:
    rooms = session.execute(
        select(Facility.name, Facility.status, func.count(), func.sum(Room.capacity))
        .join(Room, Room.facility_id == Facility.id)
        .group_by(Facility.id, Facility.name, Facility.status)
        .order_by(Facility.id)
    ).all()

    assert [tuple(row) for row in rooms] == [
        ("荷塘区炎帝宾馆集中隔离点", "in_use", 1, 1),
        ("芦淞区建宁宾馆集中隔离点", "in_use", 1, 1),
        ("石峰区凤凰宾馆集中隔离点", "in_use", 1, 1),
        ("天元区神农宾馆集中隔离点", "in_use", 1, 1),
        ("渌口区炎帝宾馆集中隔离点", "in_use", 1, 1),
        ("攸县建宁宾馆集中隔离点", "in_use", 1, 1),
        ("茶陵县凤凰宾馆集中隔离点", "in_use", 1, 1),
        ("炎陵县云龙宾馆集中隔离点", "in_use", 1, 1),
        ("醴陵市神农宾馆集中隔离点", "in_use", 1, 1),
    ]
    assert seed_facilities(session=session, city_code=CITY_CODE) == []
    created = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action.in_(["isolation.facility.created", "isolation.room.created"]))
    )
    assert created == 18


@pytest.fixture
def drilled(session: Session, seeded: list[Facility]) -> DrillRun:
    start = load_parameters().start
    population, index = load_population(session=session, city_code=CITY_CODE, on=start.date())
    return run_drill(
        session=session,
        population=population,
        index=index,
        config=DrillConfig(pack_id=PACK, seed=7, days=DAYS),
        commit=session.commit,
    )


def actions(session: Session, action: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def local(moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(get_settings().timezone)).date()


def test_the_drill_fills_the_hotels_and_moves_people_on_their_day(
    session: Session, drilled: DrillRun
) -> None:
    assigned = actions(session, "isolation.order.assigned")
    assert len(assigned) == sum(day.orders_placed for day in drilled.days) == 12
    rooms = session.execute(select(Room.capacity, Room.occupancy).order_by(Room.id)).all()
    assert all(occupancy <= capacity for capacity, occupancy in rooms)
    full = session.scalars(
        select(Facility.name)
        .join(Room, Room.facility_id == Facility.id)
        .where(Room.occupancy == Room.capacity)
        .order_by(Facility.id)
    ).all()
    assert len(full) == 9  # every hotel of this small city is full at the end
    waiting = session.scalar(
        select(func.count())
        .select_from(IsolationOrder)
        .where(
            IsolationOrder.status == "active",
            IsolationOrder.kind == "centralised",
            IsolationOrder.room_id.is_(None),
        )
    )
    assert waiting == 38
    # Each placed person left the hotel on the day their centralised phase ended.
    placed = {int(event.subject_id) for event in assigned}
    moved = [
        e for e in actions(session, "isolation.order.next_phase") if int(e.subject_id) in placed
    ]
    assert len(moved) == 3
    for event in moved:
        order = session.get(IsolationOrder, int(event.subject_id))
        assert order is not None
        # the home phase starts where the centralised one ended
        assert local(event.occurred_at) == local(order.phase_started_at)
        assert event.before is not None and event.before["room_id"] is not None
    # (one drill for both checks: it is the slow part)
    people_who_cannot_be_moved_isolate_at_home_with_the_reason(session)


# one infant, and the four others of the households kept at home with them
REASONS = ["accompanies_household"] * 4 + ["infant"]


def people_who_cannot_be_moved_isolate_at_home_with_the_reason(session: Session) -> None:
    at_home = actions(session, "isolation.order.at_home")
    assert sorted(str(event.reason) for event in at_home) == REASONS
    start = load_parameters().start.date()
    for event in at_home:
        order = session.get(IsolationOrder, int(event.subject_id))
        assert order is not None
        assert event.before is not None and event.after is not None
        assert (event.before["kind"], event.after["kind"]) == ("centralised", "home_isolation")
        assert order.room_id is None
        assert order.note is not None and order.note.endswith(f"at home: {event.reason}")
        person = session.get(Person, order.person_id)
        assert person is not None
        reason = PlacementReason(str(event.reason))
        if reason is PlacementReason.INFANT:
            assert person.birth_date is not None
            assert (start - person.birth_date).days < 1095
        elif reason is PlacementReason.BEDRIDDEN:
            assert PersonTag(person.tags) & PersonTag.BEDRIDDEN
        elif reason is PlacementReason.DIALYSIS:
            assert PersonTag(person.tags) & PersonTag.DIALYSIS
        else:
            assert reason is PlacementReason.ACCOMPANIES_HOUSEHOLD
            assert person.household_id is not None
