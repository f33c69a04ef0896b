"""Isolation pages: facilities with capacity and the bed forecast, a facility's rooms, orders
(filters) and an order's test schedule with release, extension and early end, bulk
confirmation of placement proposals, the transfer board, and the home check-in form (360 px,
for the resident and the grid worker) with the missed check-ins list."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fangkong.accounts.enums import Permission
from fangkong.config import get_settings
from fangkong.core import clock
from fangkong.core.errors import CoreErrorCode, FangkongError
from fangkong.isolation import actions, service
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
from fangkong.isolation.rules import TRANSFER_NEXT, overdue_by
from fangkong.isolation.schemas import StopIn
from fangkong.web.deps import ActorDep, SessionDep
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _local_moment(value: str, field: str) -> datetime:
    """A ``datetime-local`` form value, read in the platform's time zone."""
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise FangkongError(
            CoreErrorCode.REQUEST_INVALID, f"{value!r} is not a date and time", field=field
        ) from exc
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=ZoneInfo(get_settings().timezone))


def _enum_or_none(kind: type, value: str | None):  # type: ignore[no-untyped-def]
    try:
        return kind(value) if value else None
    except ValueError:
        return None


# --- Facilities and capacity -------------------------------------------------------------------


@router.get("/isolation", response_class=HTMLResponse)
def facilities_page(
    request: Request, session: SessionDep, actor: ActorDep, pending_contacts: int = 0
) -> Response:
    """Facilities with beds by state, the forecast of beds needed and the reserve warning."""
    actor.require(Permission.ISOLATION_VIEW)
    beds, forecast, warning = service.capacity_and_forecast(
        session=session, actor=actor, pending_contacts=max(0, pending_contacts)
    )
    context = {
        "beds": beds,
        "forecast": forecast,
        "warning": warning,
        "pending_contacts": pending_contacts,
        "overdue_transfers": len(service.list_overdue(session=session, actor=actor)),
        "statuses": [str(s) for s in FacilityStatus],
        "can_manage": actor.can(Permission.ISOLATION_MANAGE),
    }
    return render(request, "isolation/facilities.html", context)


@router.post("/isolation/facilities")
def create_facility(
    session: SessionDep,
    actor: ActorDep,
    name: Annotated[str, Form()],
    area_code: Annotated[str, Form()],
    status: Annotated[FacilityStatus, Form()] = FacilityStatus.RESERVE,
) -> Response:
    actor.require(Permission.ISOLATION_MANAGE)
    facility = service.create_facility(
        session=session, actor=actor, name=name.strip(), area_code=area_code.strip(), status=status
    )
    session.commit()
    return _see_other(f"/isolation/facilities/{facility.id}")


@router.get("/isolation/facilities/{facility_id}", response_class=HTMLResponse)
def facility_page(
    request: Request, session: SessionDep, actor: ActorDep, facility_id: int
) -> Response:
    actor.require(Permission.ISOLATION_VIEW)
    facility = service.get_facility_or_raise(session=session, actor=actor, facility_id=facility_id)
    rooms = service.list_rooms(session=session, actor=actor, facility_id=facility.id)
    occupants = service.list_orders_in_facility(session=session, facility_id=facility.id)
    context = {
        "facility": facility,
        "rooms": rooms,
        "occupants": occupants,
        "names": service.person_names(session=session, person_ids=[o.person_id for o in occupants]),
        "statuses": [str(s) for s in FacilityStatus],
        "can_manage": actor.can(Permission.ISOLATION_MANAGE),
    }
    return render(request, "isolation/facility.html", context)


@router.post("/isolation/facilities/{facility_id}/rooms")
def add_room(
    session: SessionDep,
    actor: ActorDep,
    facility_id: int,
    label: Annotated[str, Form()],
    capacity: Annotated[int, Form(ge=1, le=20)],
) -> Response:
    actor.require(Permission.ISOLATION_MANAGE)
    service.add_room(
        session=session,
        actor=actor,
        facility_id=facility_id,
        label=label.strip(),
        capacity=capacity,
    )
    session.commit()
    return _see_other(f"/isolation/facilities/{facility_id}")


@router.post("/isolation/facilities/{facility_id}/status")
def set_facility_status(
    session: SessionDep,
    actor: ActorDep,
    facility_id: int,
    status: Annotated[FacilityStatus, Form()],
) -> Response:
    actor.require(Permission.ISOLATION_MANAGE)
    actions.set_facility_status(
        session=session, actor=actor, facility_id=facility_id, status=status
    )
    session.commit()
    return _see_other(f"/isolation/facilities/{facility_id}")


# --- Orders ------------------------------------------------------------------------------------


@router.get("/isolation/orders", response_class=HTMLResponse)
def orders_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    status: str | None = "active",
    kind: str | None = None,
    category: str | None = None,
    unassigned: bool = False,
) -> Response:
    """Orders with filters; unassigned centralised ones can be proposed for placement."""
    actor.require(Permission.ISOLATION_VIEW)
    orders = service.list_orders_filtered(
        session=session,
        actor=actor,
        status=_enum_or_none(OrderStatus, status),
        kind=_enum_or_none(PhaseKind, kind),
        category=_enum_or_none(Category, category),
        unassigned=unassigned,
    )
    context = {
        "orders": orders,
        "names": service.person_names(session=session, person_ids=[o.person_id for o in orders]),
        "filters": {
            "status": status or "",
            "kind": kind or "",
            "category": category or "",
            "unassigned": unassigned,
        },
        "statuses": [str(s) for s in OrderStatus],
        "kinds": [str(k) for k in PhaseKind],
        "categories": [str(c) for c in Category],
        "can_manage": actor.can(Permission.ISOLATION_MANAGE),
    }
    return render(request, "isolation/orders.html", context)


@router.get("/isolation/orders/{order_id}", response_class=HTMLResponse)
def order_page(request: Request, session: SessionDep, actor: ActorDep, order_id: int) -> Response:
    """An order: where and until when, its test schedule (due and done), what the release
    check says now, its check-ins, and the officer's actions."""
    actor.require(Permission.ISOLATION_VIEW)
    order = service.get_order_or_raise(session=session, actor=actor, order_id=order_id)
    decision = (
        service.check_release(session=session, order=order)
        if order.status == OrderStatus.ACTIVE
        else None
    )
    context = {
        "order": order,
        "name": service.person_names(session=session, person_ids=[order.person_id])[
            order.person_id
        ],
        "schedule": service.schedule_of(session=session, order=order),
        "decision": decision,
        "checkins": service.checkins_of_order(session=session, order_id=order.id),
        "now": clock.now(),
        "results": [str(r) for r in SampleResult],
        "can_manage": actor.can(Permission.ISOLATION_MANAGE),
    }
    return render(request, "isolation/order.html", context)


@router.post("/isolation/orders/{order_id}/tests")
def record_test(
    session: SessionDep,
    actor: ActorDep,
    order_id: int,
    sampled_at: Annotated[str, Form()],
    result: Annotated[SampleResult, Form()],
) -> Response:
    actor.require(Permission.ISOLATION_MANAGE)
    service.record_test(
        session=session,
        actor=actor,
        order_id=order_id,
        sampled_at=_local_moment(sampled_at, "sampled_at"),
        result=result,
        ct=None,
    )
    session.commit()
    return _see_other(f"/isolation/orders/{order_id}")


@router.post("/isolation/orders/{order_id}/release")
def release(session: SessionDep, actor: ActorDep, order_id: int) -> Response:
    actor.require(Permission.ISOLATION_MANAGE)
    actions.release(session=session, actor=actor, order_id=order_id)
    session.commit()
    return _see_other(f"/isolation/orders/{order_id}")


@router.post("/isolation/orders/{order_id}/extend")
def extend(
    session: SessionDep,
    actor: ActorDep,
    order_id: int,
    new_end_at: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    actor.require(Permission.ISOLATION_MANAGE)
    actions.extend(
        session=session,
        actor=actor,
        order_id=order_id,
        new_end_at=_local_moment(new_end_at, "new_end_at"),
        reason=reason,
    )
    session.commit()
    return _see_other(f"/isolation/orders/{order_id}")


@router.post("/isolation/orders/{order_id}/end")
def end_early(
    session: SessionDep, actor: ActorDep, order_id: int, reason: Annotated[str, Form()] = ""
) -> Response:
    actor.require(Permission.ISOLATION_MANAGE)
    actions.end_early(session=session, actor=actor, order_id=order_id, reason=reason)
    session.commit()
    return _see_other(f"/isolation/orders/{order_id}")


# --- Placement proposals, confirmed in bulk ---------------------------------------------------


@router.post("/isolation/placements", response_class=HTMLResponse)
def propose_placements(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    order_ids: Annotated[list[int], Form()],
) -> Response:
    """Where the selected orders' people would go; nothing changes until confirmed."""
    actor.require(Permission.ISOLATION_MANAGE)
    placements = service.propose_placements_for(session=session, actor=actor, order_ids=order_ids)
    orders = [
        service.get_order_or_raise(session=session, actor=actor, order_id=i) for i in order_ids
    ]
    context = {
        "placements": placements,
        "order_of": {o.person_id: o.id for o in orders},
        "names": service.person_names(session=session, person_ids=[o.person_id for o in orders]),
        "room_labels": service.room_labels(
            session=session, room_ids=[p.room_id for p in placements if p.room_id is not None]
        ),
    }
    return render(request, "isolation/placements.html", context)


@router.post("/isolation/placements/confirm", response_class=HTMLResponse)
def confirm_placements(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    assignments: Annotated[list[str], Form()],
) -> Response:
    """Assign every checked ``order_id:room_id`` pair; a refused one (room full meanwhile,
    order changed) is reported while the others are kept."""
    actor.require(Permission.ISOLATION_MANAGE)
    done, refused = [], []
    for pair in assignments:
        order_text, _, room_text = pair.partition(":")
        if not (order_text.isdigit() and room_text.isdigit()):
            continue
        savepoint = session.begin_nested()
        try:
            actions.assign_room(
                session=session, actor=actor, order_id=int(order_text), room_id=int(room_text)
            )
        except FangkongError as error:
            savepoint.rollback()
            refused.append((int(order_text), str(error.code), error.message))
            continue
        savepoint.commit()
        done.append(int(order_text))
    session.commit()
    return render(request, "isolation/placements_done.html", {"done": done, "refused": refused})


# --- Transfers ---------------------------------------------------------------------------------


@router.get("/isolation/transfers", response_class=HTMLResponse)
def transfer_board(
    request: Request, session: SessionDep, actor: ActorDep, closed: bool = False
) -> Response:
    """Open transfers, overdue first; each with its next step."""
    actor.require(Permission.ISOLATION_VIEW)
    now = clock.now()
    tasks = service.list_transfers(session=session, actor=actor, include_closed=closed)
    stops = {t.id: service.list_stops(session=session, task_id=t.id) for t in tasks}
    names = service.person_names(
        session=session, person_ids=[s.person_id for rows in stops.values() for s in rows]
    )
    context = {
        "tasks": tasks,
        "stops": stops,
        "names": names,
        "overdue": {
            t.id: overdue_by(deadline_at=t.deadline_at, now=now)
            for t in tasks
            if service.is_overdue(t, now)
        },
        "next_step": {t.id: TRANSFER_NEXT.get(TransferStatus(t.status)) for t in tasks},
        "facilities": service.list_facilities(session=session, actor=actor),
        "kinds": [str(k) for k in TransferKind],
        "destinations": [str(d) for d in DestinationKind],
        "closed": closed,
        "can_manage": actor.can(Permission.ISOLATION_MANAGE),
        "can_run": actor.can(Permission.TRANSFER_EXECUTE) or actor.can(Permission.ISOLATION_MANAGE),
    }
    return render(request, "isolation/transfers.html", context)


@router.post("/isolation/transfers")
def create_transfer(
    session: SessionDep,
    actor: ActorDep,
    kind: Annotated[TransferKind, Form()],
    destination_kind: Annotated[DestinationKind, Form()],
    vehicle: Annotated[str, Form()],
    team: Annotated[str, Form()],
    person_ids: Annotated[str, Form()],
    facility_id: Annotated[str, Form()] = "",
    destination_name: Annotated[str, Form()] = "",
) -> Response:
    """``person_ids``: the pick-up list as ids separated by spaces or commas."""
    actor.require(Permission.ISOLATION_MANAGE)
    ids = [part for part in person_ids.replace(",", " ").split() if part]
    if not all(part.isdigit() for part in ids):
        raise FangkongError(
            IsolationErrorCode.PERSON_NOT_FOUND, "person ids are numbers", field="person_ids"
        )
    service.create_transfer(
        session=session,
        actor=actor,
        kind=kind,
        destination_kind=destination_kind,
        facility_id=int(facility_id) if facility_id.strip().isdigit() else None,
        destination_name=destination_name or None,
        vehicle=vehicle,
        team=team,
        stops=[StopIn(person_id=int(part)) for part in ids],
    )
    session.commit()
    return _see_other("/isolation/transfers")


@router.post("/isolation/transfers/{transfer_id}/{step}")
def advance_transfer(
    session: SessionDep, actor: ActorDep, transfer_id: int, step: TransferStatus
) -> Response:
    actions.advance_transfer(session=session, actor=actor, transfer_id=transfer_id, to=step)
    session.commit()
    return _see_other("/isolation/transfers")


# --- Home check-ins ----------------------------------------------------------------------------


@router.get("/isolation/checkin", response_class=HTMLResponse)
def checkin_form(
    request: Request, session: SessionDep, actor: ActorDep, order_id: int | None = None
) -> Response:
    """The daily check-in: a resident sees their (household's) home orders; a grid worker
    opens it for one order from the missed list."""
    if order_id is not None:
        orders = [service.get_order_for_checkin(session=session, actor=actor, order_id=order_id)]
    else:
        orders = service.list_home_orders_of(session=session, actor=actor)
    today = service.local_day(clock.now())
    done = {
        o.id: any(c.day == today for c in service.checkins_of_order(session=session, order_id=o.id))
        for o in orders
    }
    context = {
        "orders": orders,
        "names": service.person_names(session=session, person_ids=[o.person_id for o in orders]),
        "done": done,
        "today": today,
        "symptoms": [str(s) for s in Symptom],
        "saved": request.query_params.get("saved"),
    }
    return render(request, "isolation/checkin.html", context)


@router.post("/isolation/checkin")
def checkin_submit(
    session: SessionDep,
    actor: ActorDep,
    order_id: Annotated[int, Form()],
    temperature: Annotated[float, Form(ge=34, le=43)],
    symptoms: Annotated[list[Symptom] | None, Form()] = None,
) -> Response:
    checkin = service.record_checkin(
        session=session,
        actor=actor,
        order_id=order_id,
        temperature=temperature,
        symptoms=symptoms or [],
    )
    session.commit()
    target = "/isolation/checkin" if actor.can(Permission.SELF_SERVICE) else "/isolation/checkins"
    return _see_other(f"{target}?saved={checkin.order_id}")


@router.get("/isolation/checkins", response_class=HTMLResponse)
def missed_checkins(
    request: Request, session: SessionDep, actor: ActorDep, day: date | None = None
) -> Response:
    """Missed check-ins per grid and the check-ins flagged for follow-up, for one day."""
    actor.require(Permission.ISOLATION_VIEW)
    day = day or service.local_day(clock.now())
    missed = service.list_missed_checkins(session=session, actor=actor, day=day)
    by_area: dict[str, list[service.MissedCheckIn]] = {}
    for item in missed:
        by_area.setdefault(item.order.area_path, []).append(item)
    flagged = service.list_checkins(session=session, actor=actor, day=day, flagged_only=True)
    context = {
        "day": day,
        "by_area": by_area,
        "area_names": service.area_names(session=session, paths=list(by_area)),
        "flagged": flagged,
        "flagged_names": service.person_names(
            session=session, person_ids=[c.person_id for c in flagged]
        ),
        "missed_count": len(missed),
        "can_check_in": actor.can(Permission.REGISTRY_EDIT)
        or actor.can(Permission.ISOLATION_MANAGE),
    }
    return render(request, "isolation/checkins.html", context)
