"""Isolation API: facilities and rooms, orders, in-isolation tests, release."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, status

from fangkong.accounts.enums import Permission
from fangkong.core import clock
from fangkong.core.scope import Actor
from fangkong.healthcode import jobs as healthcode_jobs
from fangkong.isolation import actions, service
from fangkong.isolation.enums import OrderStatus, TransferStatus
from fangkong.isolation.models import TransferTask
from fangkong.isolation.schemas import (
    AssignIn,
    BedDayRead,
    CapacityRead,
    CheckInIn,
    CheckInRead,
    ContactForIsolation,
    ContactsIn,
    ContactsResultRead,
    ExtendIn,
    FacilityBedsRead,
    FacilityCreate,
    FacilityRead,
    FacilityStatusIn,
    MissedCheckInRead,
    OrderCreate,
    OrderRead,
    OrdersFromContacts,
    PlacementRead,
    PlacementsIn,
    ReasonIn,
    RefusedRead,
    ReleaseRead,
    RoomCreate,
    RoomRead,
    StopRead,
    TestIn,
    TransferCreate,
    TransferRead,
)
from fangkong.web.deps import ActorDep, SessionDep, requires

router = APIRouter(prefix="/api/v1/isolation", tags=["isolation"])

Viewer = Annotated[Actor, Depends(requires(Permission.ISOLATION_VIEW))]
Manager = Annotated[Actor, Depends(requires(Permission.ISOLATION_MANAGE))]
TransferViewer = Annotated[Actor, Depends(requires(Permission.ISOLATION_VIEW))]


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


@router.post("/orders/from-contacts")
def orders_from_contacts(
    body: ContactsIn, session: SessionDep, actor: Manager, pack_id: str | None = None
) -> ContactsResultRead:
    """Contacts tracing hands over become orders; bad ones are reported, good ones ordered."""
    started = clock.now()
    result = actions.create_orders_from_contacts(
        session=session,
        actor=actor,
        contacts=[
            ContactForIsolation(
                person_id=c.person_id,
                kind=c.kind,
                last_exposure=c.last_exposure,
                due_at=c.due_at,
                source_ref=c.source_ref,
            )
            for c in body.contacts
        ],
        section=service.section_for(pack_id=pack_id, version=None, now=clock.now()),
    )
    session.commit()
    healthcode_jobs.recompute_inline(session=session, since=started)
    return _contacts_result(result)


@router.post("/orders/from-due-contacts")
def orders_from_due_contacts(
    session: SessionDep, actor: Manager, pack_id: str | None = None
) -> ContactsResultRead:
    """Every contact tracing has identified in the jurisdiction becomes an order and is marked
    handed over; refused ones stay with tracing and are reported."""
    started = clock.now()
    result = actions.isolate_due_contacts(
        session=session,
        actor=actor,
        section=service.section_for(pack_id=pack_id, version=None, now=clock.now()),
    )
    session.commit()
    healthcode_jobs.recompute_inline(session=session, since=started)
    return _contacts_result(result)


def _contacts_result(result: OrdersFromContacts) -> ContactsResultRead:
    return ContactsResultRead(
        created=result.created,
        already_ordered=result.already_ordered,
        moved_to_later_exposure=result.moved_to_later_exposure,
        refused=[
            RefusedRead(person_id=r.person_id, code=r.code, message=r.message)
            for r in result.refused
        ],
    )


@router.get("/capacity")
def capacity(session: SessionDep, actor: Viewer, pending_contacts: int = 0) -> CapacityRead:
    """Beds per facility, the forecast of beds needed and the reserve warning."""
    beds, forecast, warning = service.capacity_and_forecast(
        session=session, actor=actor, pending_contacts=max(0, pending_contacts)
    )
    return CapacityRead(
        facilities=[
            FacilityBedsRead(
                facility_id=f.facility_id,
                name=f.name,
                status=f.status,
                beds=f.beds,
                occupied=f.occupied,
                free=f.free,
                cleaning=f.cleaning,
                reserve=f.reserve,
            )
            for f in beds
        ],
        forecast=[
            BedDayRead(day=d.day, staying=d.staying, arriving=d.arriving, needed=d.needed)
            for d in forecast.days
        ],
        forecast_explanation=forecast.explanation,
        reserve_short=warning.is_short,
        reserve_explanation=warning.explanation,
    )


def transfer_read(session: SessionDep, task: TransferTask) -> TransferRead:
    return TransferRead(
        id=task.id,
        kind=task.kind,
        destination_kind=task.destination_kind,
        facility_id=task.facility_id,
        destination_name=task.destination_name,
        area_path=task.area_path,
        vehicle=task.vehicle,
        team=task.team,
        status=task.status,
        deadline_at=task.deadline_at,
        deadline_rule=task.deadline_rule,
        dispatched_at=task.dispatched_at,
        picked_up_at=task.picked_up_at,
        checked_in_at=task.checked_in_at,
        is_overdue=service.is_overdue(task, clock.now()),
        stops=[
            StopRead.model_validate(stop)
            for stop in service.list_stops(session=session, task_id=task.id)
        ],
    )


@router.get("/transfers")
def list_transfers(
    session: SessionDep, actor: TransferViewer, include_closed: bool = False
) -> list[TransferRead]:
    """Transfers of the jurisdiction, overdue first."""
    tasks = service.list_transfers(session=session, actor=actor, include_closed=include_closed)
    return [transfer_read(session, task) for task in tasks]


@router.get("/transfers/overdue")
def list_overdue(session: SessionDep, actor: TransferViewer) -> list[TransferRead]:
    """Open transfers past their deadline, most overdue first (the command dashboard)."""
    return [
        transfer_read(session, task) for task in service.list_overdue(session=session, actor=actor)
    ]


@router.post("/transfers", status_code=status.HTTP_201_CREATED)
def create_transfer(body: TransferCreate, session: SessionDep, actor: Manager) -> TransferRead:
    task = service.create_transfer(
        session=session,
        actor=actor,
        kind=body.kind,
        destination_kind=body.destination_kind,
        facility_id=body.facility_id,
        destination_name=body.destination_name,
        vehicle=body.vehicle,
        team=body.team,
        stops=body.stops,
        note=body.note,
    )
    session.commit()
    return transfer_read(session, task)


@router.post("/transfers/{transfer_id}/{step}")
def advance_transfer(
    transfer_id: int, step: TransferStatus, session: SessionDep, actor: TransferViewer
) -> TransferRead:
    """``dispatched``, ``picked_up`` or ``checked_in`` (closes the task)."""
    task = actions.advance_transfer(session=session, actor=actor, transfer_id=transfer_id, to=step)
    session.commit()
    return transfer_read(session, task)


@router.post("/orders/{order_id}/checkins", status_code=status.HTTP_201_CREATED)
def record_checkin(
    order_id: int, body: CheckInIn, session: SessionDep, actor: ActorDep
) -> CheckInRead:
    """Today's home check-in, by the person (resident) or their grid worker."""
    checkin = service.record_checkin(
        session=session,
        actor=actor,
        order_id=order_id,
        temperature=body.temperature,
        symptoms=body.symptoms,
    )
    session.commit()
    return CheckInRead.model_validate(checkin)


@router.get("/checkins/missed")
def missed_checkins(
    session: SessionDep, actor: Viewer, day: date | None = None
) -> list[MissedCheckInRead]:
    """People under a home phase without a check-in on ``day`` (default today), by grid."""
    missed = service.list_missed_checkins(
        session=session, actor=actor, day=day or service.local_day(clock.now())
    )
    return [
        MissedCheckInRead(
            order_id=m.order.id,
            person_id=m.order.person_id,
            name=m.name,
            area_path=m.order.area_path,
            kind=m.order.kind,
        )
        for m in missed
    ]


@router.get("/checkins/flagged")
def flagged_checkins(
    session: SessionDep, actor: Viewer, day: date | None = None
) -> list[CheckInRead]:
    """Check-ins with fever or symptoms on ``day`` (default today), for follow-up."""
    rows = service.list_checkins(
        session=session,
        actor=actor,
        day=day or service.local_day(clock.now()),
        flagged_only=True,
    )
    return [CheckInRead.model_validate(row) for row in rows]
