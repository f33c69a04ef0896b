"""Isolation facilities (集中隔离点) and their rooms."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.core.errors import NotFound
from fangkong.core.scope import Actor, scope_to_jurisdiction
from fangkong.isolation import events
from fangkong.isolation.enums import FacilityStatus
from fangkong.isolation.errors import IsolationErrorCode
from fangkong.isolation.models import Facility, Room
from fangkong.registry import service as registry_service


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
