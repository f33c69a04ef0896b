"""Isolation API: facilities and rooms, orders, in-isolation tests, release."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from fangkong.accounts.enums import Permission
from fangkong.core import clock
from fangkong.core.scope import Actor
from fangkong.isolation import actions, service
from fangkong.isolation.enums import OrderStatus
from fangkong.isolation.schemas import (
    AssignIn,
    ExtendIn,
    FacilityCreate,
    FacilityRead,
    FacilityStatusIn,
    OrderCreate,
    OrderRead,
    PlacementRead,
    PlacementsIn,
    ReasonIn,
    ReleaseRead,
    RoomCreate,
    RoomRead,
    TestIn,
)
from fangkong.web.deps import SessionDep, requires

router = APIRouter(prefix="/api/v1/isolation", tags=["isolation"])

Viewer = Annotated[Actor, Depends(requires(Permission.ISOLATION_VIEW))]
Manager = Annotated[Actor, Depends(requires(Permission.ISOLATION_MANAGE))]


@router.get("/facilities")
def list_facilities(session: SessionDep, actor: Viewer) -> list[FacilityRead]:
    return [
        FacilityRead.model_validate(f)
        for f in service.list_facilities(session=session, actor=actor)
    ]


@router.post("/facilities", status_code=status.HTTP_201_CREATED)
def create_facility(body: FacilityCreate, session: SessionDep, actor: Manager) -> FacilityRead:
    facility = service.create_facility(
        session=session,
        actor=actor,
        name=body.name,
        area_code=body.area_code,
        status=body.status,
    )
    session.commit()
    return FacilityRead.model_validate(facility)


@router.put("/facilities/{facility_id}/status")
def set_facility_status(
    facility_id: int, body: FacilityStatusIn, session: SessionDep, actor: Manager
) -> FacilityRead:
    facility = actions.set_facility_status(
        session=session, actor=actor, facility_id=facility_id, status=body.status
    )
    session.commit()
    return FacilityRead.model_validate(facility)


@router.get("/facilities/{facility_id}/rooms")
def list_rooms(facility_id: int, session: SessionDep, actor: Viewer) -> list[RoomRead]:
    rooms = service.list_rooms(session=session, actor=actor, facility_id=facility_id)
    return [RoomRead.model_validate(room) for room in rooms]


@router.post("/facilities/{facility_id}/rooms", status_code=status.HTTP_201_CREATED)
def add_room(facility_id: int, body: RoomCreate, session: SessionDep, actor: Manager) -> RoomRead:
    room = service.add_room(
        session=session,
        actor=actor,
        facility_id=facility_id,
        label=body.label,
        capacity=body.capacity,
    )
    session.commit()
    return RoomRead.model_validate(room)


@router.get("/orders")
def list_orders(
    session: SessionDep, actor: Viewer, status: OrderStatus | None = None
) -> list[OrderRead]:
    orders = service.list_orders(session=session, actor=actor, status=status)
    return [OrderRead.model_validate(order) for order in orders]


@router.post("/orders", status_code=status.HTTP_201_CREATED)
def create_order(
    body: OrderCreate, session: SessionDep, actor: Manager, pack_id: str | None = None
) -> OrderRead:
    """Order a person into isolation under ``pack_id`` or the national pack in force."""
    order = service.create_order(
        session=session,
        actor=actor,
        person_id=body.person_id,
        category=body.category,
        last_exposure_at=body.last_exposure_at,
        section=service.section_for(pack_id=pack_id, version=None, now=clock.now()),
    )
    session.commit()
    return OrderRead.model_validate(order)


@router.post("/orders/{order_id}/assign")
def assign(order_id: int, body: AssignIn, session: SessionDep, actor: Manager) -> OrderRead:
    order = actions.assign_room(
        session=session, actor=actor, order_id=order_id, room_id=body.room_id
    )
    session.commit()
    return OrderRead.model_validate(order)


@router.post("/orders/{order_id}/tests", status_code=status.HTTP_204_NO_CONTENT)
def record_test(order_id: int, body: TestIn, session: SessionDep, actor: Manager) -> None:
    service.record_test(
        session=session,
        actor=actor,
        order_id=order_id,
        sampled_at=body.sampled_at,
        result=body.result,
        ct=body.ct,
    )
    session.commit()


@router.post("/orders/{order_id}/release")
def release(order_id: int, session: SessionDep, actor: Manager) -> ReleaseRead:
    order, decision = actions.release(session=session, actor=actor, order_id=order_id)
    session.commit()
    return ReleaseRead(
        order=OrderRead.model_validate(order),
        outcome=decision.outcome,
        explanation=decision.explanation,
    )


@router.post("/orders/{order_id}/extend")
def extend(order_id: int, body: ExtendIn, session: SessionDep, actor: Manager) -> OrderRead:
    order = actions.extend(
        session=session,
        actor=actor,
        order_id=order_id,
        new_end_at=body.new_end_at,
        reason=body.reason,
    )
    session.commit()
    return OrderRead.model_validate(order)


@router.post("/orders/{order_id}/end")
def end_early(order_id: int, body: ReasonIn, session: SessionDep, actor: Manager) -> OrderRead:
    order = actions.end_early(session=session, actor=actor, order_id=order_id, reason=body.reason)
    session.commit()
    return OrderRead.model_validate(order)


@router.post("/placements")
def propose_placements(
    body: PlacementsIn, session: SessionDep, actor: Manager
) -> list[PlacementRead]:
    """Where the people of these orders would go (households together, capacity respected,
    people who cannot be moved at home with the reason). Changes nothing."""
    placements = service.propose_placements_for(
        session=session, actor=actor, order_ids=body.order_ids
    )
    return [
        PlacementRead(
            person_id=p.person_id,
            household_id=p.household_id,
            facility_id=p.facility_id,
            room_id=p.room_id,
            reason=p.reason,
        )
        for p in placements
    ]
