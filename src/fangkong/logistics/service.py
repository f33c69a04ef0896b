"""Supply requests, delivery tasks grouped by building, volunteers and the task board.

A household asks (the resident for their own household, or a grid worker for any household of
the grid); the request is ranked from the registry tags of its members; the grid worker turns
open requests into one delivery task per building; volunteers claim tasks (抢单) and complete
them. Claiming is one conditional UPDATE, so exactly one of any number of simultaneous
claimers gets a task.
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.areas import service as areas_service
from fangkong.core import audit, clock
from fangkong.core.errors import (
    Conflict,
    CoreErrorCode,
    FangkongError,
    NotFound,
    PermissionDenied,
)
from fangkong.core.scope import Actor, scope_to_jurisdiction, within_path
from fangkong.healthcode import service as healthcode_service
from fangkong.logistics import events, rules
from fangkong.logistics.enums import (
    RequestStatus,
    SupplyKind,
    TaskStatus,
    VolunteerStatus,
)
from fangkong.logistics.errors import LogisticsErrorCode as E
from fangkong.logistics.models import DeliveryTask, SupplyRequest, Volunteer
from fangkong.logistics.schemas import SupplyRequestCreate, VolunteerCreate
from fangkong.registry import service as registry_service
from fangkong.registry.models import Building, Compound, Household, Person

MAX_MINUTES_PER_TASK = 24 * 60


def request_supplies(
    *, session: Session, actor: Actor, request_in: SupplyRequestCreate
) -> SupplyRequest:
    """Record a household's request, ranked by what the registry knows about its members."""
    household = session.get(Household, request_in.household_id)
    if household is None:
        raise NotFound(E.HOUSEHOLD_NOT_FOUND, "no such household", field="household_id")
    if actor.jurisdiction_path is None:
        if actor.household_id != household.id:
            raise PermissionDenied(
                CoreErrorCode.OUTSIDE_JURISDICTION, "you may ask only for your own household"
            )
    else:
        actor.require(Permission.LOGISTICS_MANAGE)
        actor.require_path(household.area_path)
    building = session.get(Building, household.building_id)
    assert building is not None  # the household's foreign key guarantees it
    status = areas_service.risk_status(
        session=session,
        area_path=household.area_path,
        compound_id=building.compound_id,
        building_id=building.id,
        unit=household.unit,
    )
    if not rules.is_controlled(status.level):
        raise FangkongError(
            E.HOUSEHOLD_NOT_CONTROLLED,
            f"the household is not in a controlled area (risk level {status.level})",
            field="household_id",
        )
    if request_in.kind is SupplyKind.MEDICAL_CARE and request_in.medical_need is None:
        raise FangkongError(
            E.MEDICAL_NEED_REQUIRED, "say which care is needed", field="medical_need"
        )
    if rules.needs_medical_detail(request_in.kind) and not request_in.detail.strip():
        raise FangkongError(E.DETAIL_REQUIRED, "say what is needed", field="detail")
    tags = session.scalars(select(Person.tags).where(Person.household_id == household.id))
    priority = rules.priority_for(
        household_tags=reduce(or_, tags, 0),
        kind=request_in.kind,
        medical_need=request_in.medical_need,
    )
    request = SupplyRequest(
        household_id=household.id,
        building_id=household.building_id,
        area_path=household.area_path,
        kind=request_in.kind,
        medical_need=request_in.medical_need,
        detail=request_in.detail.strip(),
        priority=priority.points,
        priority_reasons=list(priority.reasons),
        status=RequestStatus.OPEN,
        requested_by_user_id=actor.user_id,
        created_at=clock.now(),
    )
    session.add(request)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action=events.REQUEST_MADE,
        subject_type=events.SUBJECT_REQUEST,
        subject_id=request.id,
        after={
            "kind": request.kind,
            "priority": request.priority,
            "risk_designation_id": status.designation_id,
        },
    )
    return request


def list_requests(*, session: Session, actor: Actor) -> list[SupplyRequest]:
    """Requests the caller may see, most urgent first."""
    stmt = select(SupplyRequest).order_by(
        SupplyRequest.priority.desc(), SupplyRequest.created_at, SupplyRequest.id
    )
    stmt = scope_to_jurisdiction(
        stmt,
        actor=actor,
        path_column=SupplyRequest.area_path,
        household_column=SupplyRequest.household_id,
    )
    return list(session.scalars(stmt))


def create_tasks(*, session: Session, actor: Actor, area_code: str) -> list[DeliveryTask]:
    """Group the open requests under an area into one delivery task per building."""
    actor.require(Permission.LOGISTICS_MANAGE)
    area = registry_service.get_by_code_or_raise(session=session, code=area_code)
    actor.require_path(area.path)
    open_requests = list(
        session.execute(
            select(
                SupplyRequest.id,
                SupplyRequest.building_id,
                SupplyRequest.area_path,
                SupplyRequest.priority,
            )
            .where(
                SupplyRequest.status == RequestStatus.OPEN,
                within_path(SupplyRequest.area_path, area.path),
            )
            .order_by(SupplyRequest.building_id, SupplyRequest.id)
        ).tuples()
    )
    if not open_requests:
        raise Conflict(E.NOTHING_TO_TASK, "no open requests in this area")
    by_building: dict[int, list[tuple[int, str, int]]] = {}
    for request_id, building_id, path, priority in open_requests:
        by_building.setdefault(building_id, []).append((request_id, path, priority))
    now = clock.now()
    tasks = []
    for building_id, items in by_building.items():
        task = DeliveryTask(
            building_id=building_id,
            area_path=items[0][1],
            status=TaskStatus.OPEN,
            priority=max(priority for _, _, priority in items),
            created_at=now,
        )
        session.add(task)
        session.flush()
        # Conditional on OPEN: a request tasked by a concurrent call is not taken twice.
        session.execute(
            update(SupplyRequest)
            .where(
                SupplyRequest.id.in_([request_id for request_id, _, _ in items]),
                SupplyRequest.status == RequestStatus.OPEN,
            )
            .values(status=RequestStatus.TASKED, task_id=task.id)
            .execution_options(synchronize_session=False)
        )
        tasks.append(task)
    audit.record(
        session=session,
        actor=actor,
        action=events.TASKS_CREATED,
        subject_type=events.SUBJECT_TASK,
        subject_id=tasks[0].id,
        after={"task_ids": [t.id for t in tasks], "requests": len(open_requests)},
    )
    return tasks


def register_volunteer(
    *, session: Session, actor: Actor, volunteer_in: VolunteerCreate
) -> Volunteer:
    """Register the calling user as a volunteer. Only with a green health code, read from the
    health-code domain for the resident the account belongs to."""
    actor.require(Permission.LOGISTICS_CLAIM)
    code = (
        None
        if actor.person_id is None
        else healthcode_service.get(session=session, person_id=actor.person_id)
    )
    if code is None:
        raise FangkongError(
            E.VOLUNTEER_NO_HEALTH_CODE,
            "your account is not linked to a resident with a health code",
            field="health_code",
        )
    if code.colour != rules.GREEN:
        raise FangkongError(
            E.VOLUNTEER_NOT_GREEN,
            f"volunteers need a green health code; yours is {code.colour} "
            f"(rule {code.rule_id}, pack {code.pack_id} v{code.pack_version})",
            field="health_code",
        )
    area = registry_service.get_by_code_or_raise(session=session, code=volunteer_in.area_code)
    actor.require_path(area.path)
    if session.scalar(select(Volunteer.id).where(Volunteer.user_id == actor.user_id)):
        raise Conflict(E.VOLUNTEER_ALREADY_REGISTERED, "you are already registered")
    volunteer = Volunteer(
        user_id=actor.user_id,
        name=volunteer_in.name,
        skills=volunteer_in.skills,
        area_path=area.path,
        availability=volunteer_in.availability,
        status=VolunteerStatus.ACTIVE,
        minutes_worked=0,
        registered_at=clock.now(),
    )
    session.add(volunteer)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action=events.VOLUNTEER_REGISTERED,
        subject_type=events.SUBJECT_VOLUNTEER,
        subject_id=volunteer.id,
        after={
            "area_path": area.path,
            "availability": volunteer.availability,
            "health_code": code.colour,
        },
        rule_ref=f"{code.pack_id}@{code.pack_version}#{code.rule_id}",
    )
    return volunteer


def volunteer_for(*, session: Session, actor: Actor) -> Volunteer:
    volunteer = session.scalars(
        select(Volunteer).where(
            Volunteer.user_id == actor.user_id, Volunteer.status == VolunteerStatus.ACTIVE
        )
    ).one_or_none()
    if volunteer is None:
        raise PermissionDenied(E.VOLUNTEER_NOT_REGISTERED, "register as a volunteer first")
    return volunteer


def task_board(*, session: Session, actor: Actor) -> list[DeliveryTask]:
    """Open tasks in the volunteer's area, most urgent first."""
    volunteer = volunteer_for(session=session, actor=actor)
    return list(
        session.scalars(
            select(DeliveryTask)
            .where(
                DeliveryTask.status == TaskStatus.OPEN,
                within_path(DeliveryTask.area_path, volunteer.area_path),
            )
            .order_by(DeliveryTask.priority.desc(), DeliveryTask.id)
        )
    )


def _task_in_area(session: Session, volunteer: Volunteer, task_id: int) -> DeliveryTask:
    task = session.get(DeliveryTask, task_id)
    if task is None or not task.area_path.startswith(volunteer.area_path):
        raise NotFound(E.TASK_NOT_FOUND, "no such task in your area", field="task_id")
    return task


def claim_task(*, session: Session, actor: Actor, task_id: int) -> DeliveryTask:
    """Claim an open task (抢单). Exactly one claimer wins; the others get TASK_ALREADY_CLAIMED."""
    volunteer = volunteer_for(session=session, actor=actor)
    task = _task_in_area(session, volunteer, task_id)
    result = session.execute(
        update(DeliveryTask)
        .where(DeliveryTask.id == task_id, DeliveryTask.status == TaskStatus.OPEN)
        .values(status=TaskStatus.CLAIMED, volunteer_id=volunteer.id, claimed_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(E.TASK_ALREADY_CLAIMED, "someone else took this task")
    audit.record(
        session=session,
        actor=actor,
        action=events.TASK_CLAIMED,
        subject_type=events.SUBJECT_TASK,
        subject_id=task_id,
        before={"status": TaskStatus.OPEN},
        after={"status": TaskStatus.CLAIMED, "volunteer_id": volunteer.id},
    )
    session.refresh(task)
    return task


def complete_task(
    *, session: Session, actor: Actor, task_id: int, note: str, minutes_worked: int
) -> DeliveryTask:
    """Complete a task the caller claimed, with a note and the time it took (minutes)."""
    volunteer = volunteer_for(session=session, actor=actor)
    task = _task_in_area(session, volunteer, task_id)
    if not 0 < minutes_worked <= MAX_MINUTES_PER_TASK:
        raise FangkongError(
            E.MINUTES_INVALID, "minutes must be between 1 and 1440", field="minutes_worked"
        )
    result = session.execute(
        update(DeliveryTask)
        .where(
            DeliveryTask.id == task_id,
            DeliveryTask.status == TaskStatus.CLAIMED,
            DeliveryTask.volunteer_id == volunteer.id,
        )
        .values(
            status=TaskStatus.COMPLETED,
            completed_at=clock.now(),
            completion_note=note.strip(),
            minutes_worked=minutes_worked,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(E.TASK_NOT_YOURS, "this task is not claimed by you, or already done")
    session.execute(
        update(Volunteer)
        .where(Volunteer.id == volunteer.id)
        .values(minutes_worked=Volunteer.minutes_worked + minutes_worked)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(SupplyRequest)
        .where(SupplyRequest.task_id == task_id)
        .values(status=RequestStatus.DELIVERED)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        session=session,
        actor=actor,
        action=events.TASK_COMPLETED,
        subject_type=events.SUBJECT_TASK,
        subject_id=task_id,
        before={"status": TaskStatus.CLAIMED},
        after={"status": TaskStatus.COMPLETED, "minutes_worked": minutes_worked},
        reason=note.strip(),
    )
    session.refresh(task)
    session.refresh(volunteer)
    return task


def counts(*, session: Session) -> dict[tuple[str, str, str], int]:
    """``("request", kind, status)`` and ``("task", "-", status)`` → how many (operators' view
    from the command line; no jurisdiction)."""
    answer = {
        ("request", kind, status): number
        for kind, status, number in session.execute(
            select(SupplyRequest.kind, SupplyRequest.status, func.count()).group_by(
                SupplyRequest.kind, SupplyRequest.status
            )
        ).tuples()
    }
    answer.update(
        {
            ("task", "-", status): number
            for status, number in session.execute(
                select(DeliveryTask.status, func.count()).group_by(DeliveryTask.status)
            ).tuples()
        }
    )
    return answer


def my_tasks(*, session: Session, actor: Actor) -> list[DeliveryTask]:
    """The tasks the calling volunteer has claimed and not completed yet."""
    volunteer = volunteer_for(session=session, actor=actor)
    return list(
        session.scalars(
            select(DeliveryTask)
            .where(
                DeliveryTask.volunteer_id == volunteer.id,
                DeliveryTask.status == TaskStatus.CLAIMED,
            )
            .order_by(DeliveryTask.claimed_at, DeliveryTask.id)
        )
    )


def is_volunteer(*, session: Session, actor: Actor) -> bool:
    return (
        session.scalar(
            select(Volunteer.id).where(
                Volunteer.user_id == actor.user_id, Volunteer.status == VolunteerStatus.ACTIVE
            )
        )
        is not None
    )


def building_names(*, session: Session, building_ids: set[int]) -> dict[int, str]:
    """``"compound building"`` of each building, for lists grouped by building."""
    if not building_ids:
        return {}
    rows = session.execute(
        select(Building.id, Compound.name, Building.label)
        .join(Compound, Compound.id == Building.compound_id)
        .where(Building.id.in_(building_ids))
    ).tuples()
    return {building_id: f"{compound} {label}" for building_id, compound, label in rows}


def task_contents(
    *, session: Session, task_ids: list[int]
) -> dict[int, list[tuple[SupplyRequest, str]]]:
    """The requests each task carries with the door they go to (``"unit-room"``), most urgent
    first: what the volunteer delivers, and where."""
    contents: dict[int, list[tuple[SupplyRequest, str]]] = {task_id: [] for task_id in task_ids}
    if not task_ids:
        return contents
    rows = session.execute(
        select(SupplyRequest, Household.unit, Household.room)
        .join(Household, Household.id == SupplyRequest.household_id)
        .where(SupplyRequest.task_id.in_(task_ids))
        .order_by(SupplyRequest.priority.desc(), SupplyRequest.id)
    ).tuples()
    for request, unit, room in rows:
        assert request.task_id is not None  # selected by task
        contents[request.task_id].append((request, f"{unit}-{room}"))
    return contents
