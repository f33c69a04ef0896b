"""Isolation facilities, rooms and orders.

Room occupancy moves only by conditional SQL increments (``occupancy < capacity``), and every
order transition is an UPDATE on the expected old state checked by rowcount; each writes an
audit event in the same transaction. The caller commits.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.core.errors import Conflict, FangkongError, NotFound
from fangkong.core.scope import Actor, scope_to_jurisdiction
from fangkong.isolation import events
from fangkong.isolation.enums import (
    Category,
    FacilityStatus,
    OrderStatus,
    SampleResult,
)
from fangkong.isolation.errors import IsolationErrorCode
from fangkong.isolation.models import Facility, IsolationOrder, IsolationTest, Room
from fangkong.isolation.rules import phase_day, plan_order, propose_placements, release_check
from fangkong.isolation.schemas import (
    IsolationSection,
    OrderFacts,
    PersonToPlace,
    Placement,
    ReleaseDecision,
    RoomSpace,
    TakenTest,
)
from fangkong.isolation.section import ISOLATION_SECTION
from fangkong.registry import service as registry_service
from fangkong.rulepacks.catalog import Catalog, load_catalog

DEFAULT_SERIES = "cn"


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    return load_catalog(schemas=[ISOLATION_SECTION])


def section_for(*, pack_id: str | None, version: int | None, now: datetime) -> IsolationSection:
    """The isolation section of a pack, or of the national pack in force at ``now``."""
    packs = catalog()
    pack = (
        packs.in_force(series=DEFAULT_SERIES, at=now)
        if pack_id is None
        else packs.get(pack_id, version)
    )
    return pack.section(ISOLATION_SECTION)


def create_facility(
    *, session: Session, actor: Actor, name: str, area_code: str, status: FacilityStatus
) -> Facility:
    area = registry_service.get_by_code_or_raise(session=session, code=area_code)
    actor.require_path(area.path)
    facility = Facility(
        name=name, area_id=area.id, area_path=area.path, status=str(status), created_at=clock.now()
    )
    session.add(facility)
    session.flush()
    events.recorded(
        session=session,
        actor=actor,
        action="isolation.facility.created",
        subject_type="isolation_facility",
        subject_id=facility.id,
        after={"name": name, "area_path": area.path, "status": str(status)},
    )
    return facility


def get_facility_or_raise(*, session: Session, actor: Actor, facility_id: int) -> Facility:
    facility = session.scalars(
        scope_to_jurisdiction(
            select(Facility).where(Facility.id == facility_id),
            actor=actor,
            path_column=Facility.area_path,
        )
    ).one_or_none()
    if facility is None:
        raise NotFound(
            IsolationErrorCode.FACILITY_NOT_FOUND,
            f"no facility {facility_id} in your jurisdiction",
            field="facility_id",
        )
    return facility


def list_facilities(*, session: Session, actor: Actor) -> list[Facility]:
    stmt = scope_to_jurisdiction(
        select(Facility).order_by(Facility.name), actor=actor, path_column=Facility.area_path
    )
    return list(session.scalars(stmt))


def add_room(
    *, session: Session, actor: Actor, facility_id: int, label: str, capacity: int
) -> Room:
    facility = get_facility_or_raise(session=session, actor=actor, facility_id=facility_id)
    room = Room(facility_id=facility.id, label=label, capacity=capacity, occupancy=0)
    session.add(room)
    session.flush()
    events.recorded(
        session=session,
        actor=actor,
        action="isolation.room.created",
        subject_type="isolation_room",
        subject_id=room.id,
        after={"facility_id": facility.id, "label": label, "capacity": capacity},
    )
    return room


def list_rooms(*, session: Session, actor: Actor, facility_id: int) -> list[Room]:
    facility = get_facility_or_raise(session=session, actor=actor, facility_id=facility_id)
    return list(
        session.scalars(select(Room).where(Room.facility_id == facility.id).order_by(Room.label))
    )


def create_order(
    *,
    session: Session,
    actor: Actor,
    person_id: int,
    category: Category,
    last_exposure_at: datetime,
    section: IsolationSection,
) -> IsolationOrder:
    """Order a person into isolation under the pack's rule for ``category``."""
    person = registry_service.get_person(session=session, person_id=person_id)
    if person is None:
        raise NotFound(
            IsolationErrorCode.PERSON_NOT_FOUND, f"no person {person_id}", field="person_id"
        )
    actor.require_path(person.area_path)
    now = clock.now()
    if last_exposure_at.tzinfo is None or last_exposure_at > now:
        raise FangkongError(
            IsolationErrorCode.END_BEFORE_START,
            "the last exposure must be a past, timezone-aware moment",
            field="last_exposure_at",
        )
    plan = plan_order(
        category=category, last_exposure_at=last_exposure_at, now=now, section=section
    )
    if plan is None:
        raise FangkongError(
            IsolationErrorCode.CATEGORY_NOT_IN_PACK,
            f"{section.pack_id}@{section.pack_version} has no isolation rule for {category}",
            field="category",
        )
    first = plan.phases[0]
    order = IsolationOrder(
        person_id=person.id,
        household_id=person.household_id,
        area_path=person.area_path,
        category=str(category),
        kind=str(first.kind),
        phase_index=0,
        facility_id=None,
        room_id=None,
        anchor_at=first.starts_at,
        phase_started_at=first.starts_at,
        planned_end_at=first.ends_at,
        status=str(OrderStatus.ACTIVE),
        pack_id=section.pack_id,
        pack_version=section.pack_version,
        rule_id=plan.rule_id,
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    session.flush()
    events.order_changed(
        session=session, actor=actor, action="isolation.order.created", order=order, before=None
    )
    return order


def get_order_or_raise(*, session: Session, actor: Actor, order_id: int) -> IsolationOrder:
    order = session.scalars(
        scope_to_jurisdiction(
            select(IsolationOrder).where(IsolationOrder.id == order_id),
            actor=actor,
            path_column=IsolationOrder.area_path,
        )
    ).one_or_none()
    if order is None:
        raise NotFound(
            IsolationErrorCode.ORDER_NOT_FOUND,
            f"no isolation order {order_id} in your jurisdiction",
            field="order_id",
        )
    return order


def list_orders(
    *, session: Session, actor: Actor, status: OrderStatus | None
) -> list[IsolationOrder]:
    stmt = select(IsolationOrder).order_by(IsolationOrder.planned_end_at, IsolationOrder.id)
    if status is not None:
        stmt = stmt.where(IsolationOrder.status == str(status))
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=IsolationOrder.area_path)
    return list(session.scalars(stmt))


def record_test(
    *,
    session: Session,
    actor: Actor,
    order_id: int,
    sampled_at: datetime,
    result: SampleResult,
    ct: float | None,
) -> IsolationTest:
    """File a test under the order's current phase, on the phase day it was sampled."""
    order = get_order_or_raise(session=session, actor=actor, order_id=order_id)
    if order.status != OrderStatus.ACTIVE:
        raise Conflict(IsolationErrorCode.STATUS_CONFLICT, f"order {order.id} is {order.status}")
    day = phase_day(phase_started_at=order.phase_started_at, sampled_at=sampled_at)
    if sampled_at < order.phase_started_at or sampled_at > order.planned_end_at:
        raise FangkongError(
            IsolationErrorCode.TEST_DAY_OUT_OF_PHASE,
            "the sample was taken outside the current phase",
            field="sampled_at",
        )
    test = IsolationTest(
        order_id=order.id,
        phase_index=order.phase_index,
        day=day,
        sampled_at=sampled_at,
        result=str(result),
        ct=ct,
        recorded_at=clock.now(),
    )
    session.add(test)
    session.flush()
    events.recorded(
        session=session,
        actor=actor,
        action="isolation.test.recorded",
        subject_type="isolation_order",
        subject_id=order.id,
        after={"phase_index": order.phase_index, "day": day, "result": str(result), "ct": ct},
    )
    return test


def check_release(*, session: Session, order: IsolationOrder) -> ReleaseDecision:
    """What the pack says about releasing the order now (changes nothing)."""
    section = section_for(pack_id=order.pack_id, version=order.pack_version, now=clock.now())
    tests = session.scalars(
        select(IsolationTest).where(
            IsolationTest.order_id == order.id, IsolationTest.phase_index == order.phase_index
        )
    )
    facts = OrderFacts(
        category=Category(order.category),
        phase_index=order.phase_index,
        phase_ends_at=order.planned_end_at,
        tests=tuple(TakenTest(t.day, SampleResult(t.result), t.ct) for t in tests),
    )
    return release_check(facts=facts, now=clock.now(), section=section)


def propose_placements_for(
    *, session: Session, actor: Actor, order_ids: list[int]
) -> list[Placement]:
    """Placements for unassigned active orders of one category (the first order's), into the
    free beds of facilities in use inside the caller's jurisdiction (nothing is changed)."""
    orders = [get_order_or_raise(session=session, actor=actor, order_id=i) for i in order_ids]
    if not orders:
        return []
    category = Category(orders[0].category)
    section = section_for(
        pack_id=orders[0].pack_id, version=orders[0].pack_version, now=clock.now()
    )
    people = []
    for order in orders:
        if order.category != category or order.status != OrderStatus.ACTIVE or order.room_id:
            raise Conflict(
                IsolationErrorCode.STATUS_CONFLICT,
                f"order {order.id} is not an unassigned active {category} order",
                field="order_ids",
            )
        person = registry_service.get_person(session=session, person_id=order.person_id)
        assert person is not None  # an order's person always exists (foreign key)
        people.append(PersonToPlace(person.id, person.household_id, person.tags, person.birth_date))
    rooms = session.execute(
        scope_to_jurisdiction(
            select(Room.id, Room.facility_id, Room.capacity - Room.occupancy)
            .join(Facility, Facility.id == Room.facility_id)
            .where(Facility.status == str(FacilityStatus.IN_USE), Room.occupancy < Room.capacity)
            .order_by(Room.id),
            actor=actor,
            path_column=Facility.area_path,
        )
    ).all()
    return propose_placements(
        category=category,
        people=people,
        rooms=[RoomSpace(room_id, facility_id, free) for room_id, facility_id, free in rooms],
        now=clock.now(),
        section=section,
    )
