"""Transfer tasks (转运): pick-up lists, destinations, deadlines and the overdue list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.config import get_settings
from fangkong.core import clock
from fangkong.core.errors import CoreErrorCode, FangkongError, NotFound, PermissionDenied
from fangkong.core.scope import Actor, scope_to_jurisdiction
from fangkong.isolation import events
from fangkong.isolation.enums import DestinationKind, TransferKind, TransferStatus
from fangkong.isolation.errors import IsolationErrorCode
from fangkong.isolation.models import Facility, TransferStop, TransferTask
from fangkong.isolation.orders import get_order_or_raise
from fangkong.isolation.rules import (
    common_area_path,
    destination_fits,
    is_transfer_overdue,
    transfer_deadline,
)
from fangkong.isolation.schemas import StopIn
from fangkong.registry import places as registry_places
from fangkong.registry import service as registry_service
from fangkong.registry.models import Person


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
