"""Isolation facilities, rooms and orders.

Room occupancy moves only by conditional SQL increments (``occupancy < capacity``), and every
order transition is an UPDATE on the expected old state checked by rowcount; each writes an
audit event in the same transaction. The caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import String, cast, func, select, true
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.config import get_settings
from fangkong.core import audit, clock
from fangkong.core.errors import (
    Conflict,
    CoreErrorCode,
    FangkongError,
    NotFound,
    PermissionDenied,
)
from fangkong.core.scope import Actor, scope_to_jurisdiction, within_path
from fangkong.isolation import events
from fangkong.isolation.enums import (
    Category,
    DestinationKind,
    FacilityStatus,
    OrderStatus,
    PhaseKind,
    SampleResult,
    Symptom,
    TransferKind,
    TransferStatus,
)
from fangkong.isolation.errors import IsolationErrorCode
from fangkong.isolation.models import (
    Facility,
    HomeCheckIn,
    IsolationOrder,
    IsolationTest,
    Room,
    TransferStop,
    TransferTask,
)
from fangkong.isolation.rules import (
    HOME_KINDS,
    BedForecast,
    FacilityBeds,
    ReserveWarning,
    ScheduledTest,
    common_area_path,
    destination_fits,
    forecast_beds,
    is_transfer_overdue,
    needs_follow_up,
    phase_day,
    plan_order,
    propose_placements,
    release_check,
    required_tests,
    reserve_warning,
    transfer_deadline,
)
from fangkong.isolation.schemas import (
    IsolationSection,
    OrderFacts,
    PersonToPlace,
    Placement,
    ReleaseDecision,
    RoomSpace,
    StopIn,
    TakenTest,
)
from fangkong.isolation.section import ISOLATION_SECTION
from fangkong.registry import places as registry_places
from fangkong.registry import service as registry_service
from fangkong.registry.models import Person
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


# --- Transfer (转运) --------------------------------------------------------------------------


def local_day(moment: datetime) -> date:
    """The local calendar day of ``moment`` in the platform's time zone."""
    return moment.astimezone(ZoneInfo(get_settings().timezone)).date()


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(get_settings().timezone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start, start + timedelta(days=1)


def _address(session: Session, actor: Actor, person: Person) -> str:
    if person.household_id is None:
        return person.address or ""
    household = registry_places.get_household_or_raise(
        session=session, actor=actor, household_id=person.household_id
    )
    building = registry_service.get_building(session=session, building_id=household.building_id)
    compound = (
        registry_service.get_compound(session=session, compound_id=building.compound_id)
        if building is not None
        else None
    )
    parts = [
        compound.name if compound else "",
        building.label if building else "",
        f"{household.unit}单元{household.room}",
    ]
    return "".join(parts)


def create_transfer(
    *,
    session: Session,
    actor: Actor,
    kind: TransferKind,
    destination_kind: DestinationKind,
    facility_id: int | None,
    destination_name: str | None,
    vehicle: str,
    team: str,
    stops: Sequence[StopIn],
    note: str | None = None,
) -> TransferTask:
    """Plan a transfer: its pick-up list, destination and deadline (from the local setting for
    positives or contacts). Refused whole when any stop or the destination is wrong."""
    if not destination_fits(kind=kind, destination=destination_kind):
        raise FangkongError(
            IsolationErrorCode.TRANSFER_DESTINATION_INVALID,
            f"a {kind} transfer cannot go to a {destination_kind}",
            field="destination_kind",
        )
    if not stops:
        raise FangkongError(
            IsolationErrorCode.TRANSFER_EMPTY, "the pick-up list is empty", field="stops"
        )
    if destination_kind is DestinationKind.FACILITY:
        facility = session.get(Facility, facility_id) if facility_id is not None else None
        if facility is None:
            raise NotFound(
                IsolationErrorCode.FACILITY_NOT_FOUND,
                f"no facility {facility_id}",
                field="facility_id",
            )
        if not actor.covers_path(facility.area_path):
            raise PermissionDenied(
                CoreErrorCode.OUTSIDE_JURISDICTION,
                f"facility {facility.name} is outside your jurisdiction",
            )
        destination_name = facility.name
    elif not (destination_name or "").strip():
        raise FangkongError(
            IsolationErrorCode.TRANSFER_DESTINATION_INVALID,
            "name the hospital or shelter hospital",
            field="destination_name",
        )
    assert destination_name is not None
    rows: list[TransferStop] = []
    paths: list[str] = []
    for stop in stops:
        person = registry_service.get_person(session=session, person_id=stop.person_id)
        if person is None:
            raise NotFound(
                IsolationErrorCode.PERSON_NOT_FOUND, f"no person {stop.person_id}", field="stops"
            )
        actor.require_path(person.area_path)
        if stop.order_id is not None:
            order = get_order_or_raise(session=session, actor=actor, order_id=stop.order_id)
            if order.person_id != person.id:
                raise NotFound(
                    IsolationErrorCode.ORDER_NOT_FOUND,
                    f"order {order.id} is not {person.name}'s",
                    field="stops",
                )
        address = (stop.address or "").strip() or _address(session, actor, person)
        rows.append(TransferStop(person_id=person.id, order_id=stop.order_id, address=address))
        paths.append(person.area_path)
    if len({row.person_id for row in rows}) != len(rows):
        raise FangkongError(
            IsolationErrorCode.TRANSFER_EMPTY, "a person is listed twice", field="stops"
        )
    settings = get_settings()
    now = clock.now()
    deadline, deadline_rule = transfer_deadline(
        kind=kind,
        planned_at=now,
        positive_hours=settings.transfer_positive_hours,
        contact_hours=settings.transfer_contact_hours,
    )
    task = TransferTask(
        kind=str(kind),
        destination_kind=str(destination_kind),
        facility_id=facility_id if destination_kind is DestinationKind.FACILITY else None,
        destination_name=destination_name.strip(),
        area_path=common_area_path(paths),
        vehicle=vehicle.strip(),
        team=team.strip(),
        status=str(TransferStatus.PLANNED),
        deadline_at=deadline,
        deadline_rule=deadline_rule,
        dispatched_at=None,
        picked_up_at=None,
        checked_in_at=None,
        escalated_at=None,
        note=note,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    session.flush()
    for row in rows:
        row.task_id = task.id
        session.add(row)
    session.flush()
    events.transfer_changed(
        session=session,
        actor=actor,
        action="isolation.transfer.created",
        task=task,
        before=None,
        people=[row.person_id for row in rows],
    )
    return task


def get_transfer_or_raise(*, session: Session, actor: Actor, transfer_id: int) -> TransferTask:
    task = session.scalars(
        scope_to_jurisdiction(
            select(TransferTask).where(TransferTask.id == transfer_id),
            actor=actor,
            path_column=TransferTask.area_path,
        )
    ).one_or_none()
    if task is None:
        raise NotFound(
            IsolationErrorCode.TRANSFER_NOT_FOUND,
            f"no transfer {transfer_id} in your jurisdiction",
            field="transfer_id",
        )
    return task


def list_stops(*, session: Session, task_id: int) -> list[TransferStop]:
    return list(
        session.scalars(
            select(TransferStop).where(TransferStop.task_id == task_id).order_by(TransferStop.id)
        )
    )


def list_transfers(
    *, session: Session, actor: Actor, include_closed: bool = False
) -> list[TransferTask]:
    """Transfers of the jurisdiction, overdue first, then by deadline."""
    stmt = select(TransferTask).order_by(TransferTask.deadline_at, TransferTask.id)
    if not include_closed:
        stmt = stmt.where(TransferTask.status != str(TransferStatus.CHECKED_IN))
    tasks = list(
        session.scalars(
            scope_to_jurisdiction(stmt, actor=actor, path_column=TransferTask.area_path)
        )
    )
    now = clock.now()
    return sorted(tasks, key=lambda t: not is_overdue(t, now))


def is_overdue(task: TransferTask, now: datetime) -> bool:
    return is_transfer_overdue(
        status=TransferStatus(task.status), deadline_at=task.deadline_at, now=now
    )


def list_overdue(*, session: Session, actor: Actor) -> list[TransferTask]:
    """Open transfers past their deadline (for the command dashboard), most overdue first."""
    stmt = select(TransferTask).where(
        TransferTask.status != str(TransferStatus.CHECKED_IN),
        TransferTask.deadline_at < clock.now(),
    )
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=TransferTask.area_path)
    return list(session.scalars(stmt.order_by(TransferTask.deadline_at, TransferTask.id)))


# --- Daily home monitoring ---------------------------------------------------------------------


def require_checkin_role(actor: Actor) -> None:
    """Check-ins are recorded by residents (their own), grid workers and isolation managers."""
    if not (
        actor.can(Permission.SELF_SERVICE)
        or actor.can(Permission.REGISTRY_EDIT)
        or actor.can(Permission.ISOLATION_MANAGE)
    ):
        raise PermissionDenied(
            CoreErrorCode.PERMISSION_DENIED, f"your role ({actor.role}) does not record check-ins"
        )


def get_order_for_checkin(*, session: Session, actor: Actor, order_id: int) -> IsolationOrder:
    """The order a check-in is for: the resident's own or household's, or one inside the grid
    worker's or manager's jurisdiction."""
    require_checkin_role(actor)
    order = session.scalars(
        scope_to_jurisdiction(
            select(IsolationOrder).where(IsolationOrder.id == order_id),
            actor=actor,
            path_column=IsolationOrder.area_path,
            person_column=IsolationOrder.person_id,
            household_column=IsolationOrder.household_id,
        )
    ).one_or_none()
    if order is None:
        raise NotFound(
            IsolationErrorCode.ORDER_NOT_FOUND,
            f"no isolation order {order_id} you may check in for",
            field="order_id",
        )
    return order


def record_checkin(
    *,
    session: Session,
    actor: Actor,
    order_id: int,
    temperature: float,
    symptoms: Sequence[Symptom],
) -> HomeCheckIn:
    """Today's check-in of a person under a home phase; one per order and local day."""
    order = get_order_for_checkin(session=session, actor=actor, order_id=order_id)
    if order.status != OrderStatus.ACTIVE or PhaseKind(order.kind) not in HOME_KINDS:
        raise Conflict(
            IsolationErrorCode.NOT_AT_HOME,
            f"order {order.id} is {order.status} {order.kind}: no home check-in",
        )
    now = clock.now()
    day = local_day(now)
    exists = session.scalar(
        select(func.count())
        .select_from(HomeCheckIn)
        .where(HomeCheckIn.order_id == order.id, HomeCheckIn.day == day)
    )
    if exists:
        raise Conflict(
            IsolationErrorCode.CHECKIN_ALREADY_DONE,
            f"today's check-in ({day.isoformat()}) is already recorded",
        )
    names = sorted({str(symptom) for symptom in symptoms})
    checkin = HomeCheckIn(
        order_id=order.id,
        person_id=order.person_id,
        area_path=order.area_path,
        day=day,
        temperature=temperature,
        symptoms=names,
        flagged=needs_follow_up(
            temperature=temperature, symptoms=names, fever_at=get_settings().home_fever_celsius
        ),
        by_user_id=actor.user_id,
        by_role=actor.role,
        checked_at=now,
    )
    session.add(checkin)
    session.flush()
    events.recorded(
        session=session,
        actor=actor,
        action="isolation.checkin.recorded",
        subject_type="isolation_order",
        subject_id=order.id,
        after={
            "day": day.isoformat(),
            "temperature": temperature,
            "symptoms": names,
            "flagged": checkin.flagged,
        },
    )
    return checkin


def list_home_orders_of(*, session: Session, actor: Actor) -> list[IsolationOrder]:
    """Active home orders the actor may check in for: a resident's own and their household's,
    or those of a grid worker's or manager's jurisdiction."""
    require_checkin_role(actor)
    stmt = select(IsolationOrder).where(
        IsolationOrder.status == str(OrderStatus.ACTIVE),
        IsolationOrder.kind.in_([str(kind) for kind in HOME_KINDS]),
    )
    stmt = scope_to_jurisdiction(
        stmt,
        actor=actor,
        path_column=IsolationOrder.area_path,
        person_column=IsolationOrder.person_id,
        household_column=IsolationOrder.household_id,
    )
    return list(session.scalars(stmt.order_by(IsolationOrder.id)))


@dataclass(frozen=True)
class MissedCheckIn:
    order: IsolationOrder
    name: str


def list_missed_checkins(*, session: Session, actor: Actor, day: date) -> list[MissedCheckIn]:
    """People under a home phase that had begun by ``day`` with no check-in that day, by area
    path (grid) and name."""
    _, day_end = local_day_bounds(day)
    done = select(HomeCheckIn.id).where(
        HomeCheckIn.order_id == IsolationOrder.id, HomeCheckIn.day == day
    )
    stmt = select(IsolationOrder).where(
        IsolationOrder.status == str(OrderStatus.ACTIVE),
        IsolationOrder.kind.in_([str(kind) for kind in HOME_KINDS]),
        IsolationOrder.phase_started_at < day_end,
        ~done.exists(),
    )
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=IsolationOrder.area_path)
    missed = []
    for order in session.scalars(stmt.order_by(IsolationOrder.area_path, IsolationOrder.id)):
        person = registry_service.get_person(session=session, person_id=order.person_id)
        missed.append(MissedCheckIn(order, person.name if person else "?"))
    return missed


def list_checkins(
    *, session: Session, actor: Actor, day: date, flagged_only: bool = False
) -> list[HomeCheckIn]:
    stmt = select(HomeCheckIn).where(HomeCheckIn.day == day)
    if flagged_only:
        stmt = stmt.where(HomeCheckIn.flagged.is_(True))
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=HomeCheckIn.area_path)
    return list(session.scalars(stmt.order_by(HomeCheckIn.area_path, HomeCheckIn.id)))


def checkins_of_order(*, session: Session, order_id: int) -> list[HomeCheckIn]:
    return list(
        session.scalars(
            select(HomeCheckIn).where(HomeCheckIn.order_id == order_id).order_by(HomeCheckIn.day)
        )
    )


# --- Beds: capacity, forecast, reserve ---------------------------------------------------------

TREND_DAYS = 3


def facility_beds(*, session: Session, actor: Actor, path: str | None = None) -> list[FacilityBeds]:
    """Every facility of the jurisdiction (inside ``path`` when given) with its beds and
    occupants."""
    stmt = (
        select(
            Facility.id,
            Facility.name,
            Facility.status,
            func.coalesce(func.sum(Room.capacity), 0),
            func.coalesce(func.sum(Room.occupancy), 0),
        )
        .outerjoin(Room, Room.facility_id == Facility.id)
        .group_by(Facility.id, Facility.name, Facility.status)
        .order_by(Facility.name, Facility.id)
    )
    if path is not None:
        stmt = stmt.where(within_path(Facility.area_path, path))
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=Facility.area_path)
    return [
        FacilityBeds(fid, name, FacilityStatus(status), int(beds), int(occupied))
        for fid, name, status, beds, occupied in session.execute(stmt)
    ]


def _stay_days(now: datetime) -> int:
    """How long a new close contact stays in a facility under the national pack in force."""
    rule = section_for(pack_id=None, version=None, now=now).rule_for(Category.CLOSE_CONTACT)
    if rule is None or rule.phases[0].kind is not PhaseKind.CENTRALISED:
        return 0
    return rule.phases[0].duration.days


def capacity_and_forecast(
    *, session: Session, actor: Actor, pending_contacts: int = 0, path: str | None = None
) -> tuple[list[FacilityBeds], BedForecast, ReserveWarning]:
    """Beds per facility, the forecast of beds needed, and the reserve warning.

    ``pending_contacts`` adds contacts tracing has found but not yet ordered. ``path`` narrows
    everything to one area inside the jurisdiction: its facilities, and the orders of people
    living there (the command dashboard filtered to a district)."""
    now = clock.now()
    settings = get_settings()
    today = local_day(now)
    beds = facility_beds(session=session, actor=actor, path=path)
    in_area = within_path(IsolationOrder.area_path, path) if path else true()
    in_rooms = scope_to_jurisdiction(
        select(IsolationOrder.planned_end_at).where(
            IsolationOrder.status == str(OrderStatus.ACTIVE),
            IsolationOrder.room_id.is_not(None),
            in_area,
        ),
        actor=actor,
        path_column=IsolationOrder.area_path,
    )
    occupied_until = [local_day(end) for end in session.scalars(in_rooms)]
    waiting = scope_to_jurisdiction(
        select(func.count())
        .select_from(IsolationOrder)
        .where(
            IsolationOrder.status == str(OrderStatus.ACTIVE),
            IsolationOrder.kind == str(PhaseKind.CENTRALISED),
            IsolationOrder.room_id.is_(None),
            in_area,
        ),
        actor=actor,
        path_column=IsolationOrder.area_path,
    )
    pending = int(session.scalar(waiting) or 0) + pending_contacts
    window_start, _ = local_day_bounds(today - timedelta(days=TREND_DAYS))
    today_start, _ = local_day_bounds(today)
    assigned = scope_to_jurisdiction(
        select(audit.AuditEvent.occurred_at)
        .join(
            IsolationOrder,
            audit.AuditEvent.subject_id == cast(IsolationOrder.id, String),
        )
        .where(
            audit.AuditEvent.subject_type == "isolation_order",
            audit.AuditEvent.action == "isolation.order.assigned",
            audit.AuditEvent.occurred_at >= window_start,
            audit.AuditEvent.occurred_at < today_start,
            in_area,
        ),
        actor=actor,
        path_column=IsolationOrder.area_path,
    )
    per_day = {today - timedelta(days=n): 0 for n in range(1, TREND_DAYS + 1)}
    for moment in session.scalars(assigned):
        day = local_day(moment)
        if day in per_day:
            per_day[day] += 1
    forecast = forecast_beds(
        occupied_until=occupied_until,
        pending=pending,
        recent_arrivals=[per_day[day] for day in sorted(per_day)],
        stay_days=_stay_days(now),
        today=today,
        days=settings.isolation_forecast_days,
    )
    warning = reserve_warning(
        facilities=beds, forecast=forecast, share=settings.isolation_reserve_share
    )
    return beds, forecast, warning


def schedule_of(*, session: Session, order: IsolationOrder) -> list[ScheduledTest]:
    """The order's required tests so far (every phase up to the current one) with results."""
    section = section_for(pack_id=order.pack_id, version=order.pack_version, now=clock.now())
    rule = section.rule_for(Category(order.category))
    if rule is None:
        return []
    starts = []
    start = order.anchor_at
    for index in range(order.phase_index):
        starts.append(start)
        start += rule.phases[index].duration
    starts.append(order.phase_started_at)
    tests = session.execute(
        select(IsolationTest.phase_index, IsolationTest.day, IsolationTest.result).where(
            IsolationTest.order_id == order.id
        )
    ).all()
    return required_tests(
        rule=rule,
        phase_starts=starts,
        tests=[(index, day, SampleResult(result)) for index, day, result in tests],
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


def room_labels(*, session: Session, room_ids: Sequence[int]) -> dict[int, str]:
    """``facility name · room label`` for each room id."""
    if not room_ids:
        return {}
    rows = session.execute(
        select(Room.id, Facility.name, Room.label)
        .join(Facility, Facility.id == Room.facility_id)
        .where(Room.id.in_(set(room_ids)))
    ).all()
    return {room_id: f"{name} · {label}" for room_id, name, label in rows}


def area_names(*, session: Session, paths: Sequence[str]) -> dict[str, str]:
    names = {}
    for path in paths:
        area = registry_service.get_by_path(session=session, path=path)
        names[path] = area.name if area else path
    return names
