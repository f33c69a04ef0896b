"""Isolation orders: which pack section applies, creating and listing orders, and placement
proposals (nothing placed here: ``actions.assign_room`` moves people)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.core.errors import Conflict, FangkongError, NotFound
from fangkong.core.scope import Actor, scope_to_jurisdiction
from fangkong.isolation import events
from fangkong.isolation.enums import Category, FacilityStatus, OrderStatus, PhaseKind
from fangkong.isolation.errors import IsolationErrorCode
from fangkong.isolation.models import Facility, IsolationOrder, Room
from fangkong.isolation.rules import plan_order, propose_placements
from fangkong.isolation.schemas import IsolationSection, PersonToPlace, Placement, RoomSpace
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


def create_order(
    *,
    session: Session,
    actor: Actor,
    person_id: int,
    category: Category,
    last_exposure_at: datetime,
    section: IsolationSection,
    source_ref: str | None = None,
) -> IsolationOrder:
    """Order a person into isolation under the pack's rule for ``category``; ``source_ref``
    names what it came from (tracing's contact reference), kept in the note and the event."""
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
        note=None if source_ref is None else f"source: {source_ref}",
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    session.flush()
    events.order_changed(
        session=session,
        actor=actor,
        action="isolation.order.created",
        order=order,
        before=None,
        reason=None if source_ref is None else f"source: {source_ref}",
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


def list_orders_filtered(
    *,
    session: Session,
    actor: Actor,
    status: OrderStatus | None,
    kind: PhaseKind | None,
    category: Category | None,
    unassigned: bool = False,
    limit: int = 500,
) -> list[IsolationOrder]:
    """Orders of the jurisdiction by status, current phase kind and category (the page's
    filters), earliest end first."""
    stmt = select(IsolationOrder).order_by(IsolationOrder.planned_end_at, IsolationOrder.id)
    if status is not None:
        stmt = stmt.where(IsolationOrder.status == str(status))
    if kind is not None:
        stmt = stmt.where(IsolationOrder.kind == str(kind))
    if category is not None:
        stmt = stmt.where(IsolationOrder.category == str(category))
    if unassigned:
        stmt = stmt.where(IsolationOrder.room_id.is_(None))
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=IsolationOrder.area_path)
    return list(session.scalars(stmt.limit(limit)))


def person_names(*, session: Session, person_ids: Sequence[int]) -> dict[int, str]:
    """Names for a page's list of orders (through the registry's service)."""
    names = {}
    for person_id in dict.fromkeys(person_ids):
        person = registry_service.get_person(session=session, person_id=person_id)
        names[person_id] = person.name if person else "?"
    return names


def list_orders_in_facility(*, session: Session, facility_id: int) -> list[IsolationOrder]:
    return list(
        session.scalars(
            select(IsolationOrder)
            .where(
                IsolationOrder.facility_id == facility_id,
                IsolationOrder.status == str(OrderStatus.ACTIVE),
            )
            .order_by(IsolationOrder.room_id, IsolationOrder.id)
        )
    )


def area_names(*, session: Session, paths: Sequence[str]) -> dict[str, str]:
    names = {}
    for path in paths:
        area = registry_service.get_by_path(session=session, path=path)
        names[path] = area.name if area else path
    return names
