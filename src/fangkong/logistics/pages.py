"""Logistics pages: the supply request form (a resident on a 360-pixel phone, or the grid
worker), requests grouped by building, volunteer registration and the task board where
volunteers claim (抢单) and complete deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fangkong.accounts.enums import Permission
from fangkong.core.errors import CoreErrorCode, FangkongError, PermissionDenied
from fangkong.core.scope import Actor
from fangkong.logistics import service
from fangkong.logistics.enums import Availability, MedicalNeed, SupplyKind
from fangkong.logistics.models import SupplyRequest
from fangkong.logistics.schemas import SupplyRequestCreate, VolunteerCreate
from fangkong.web.deps import ActorDep, SessionDep
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _requester(actor: Actor) -> None:
    if not (actor.can(Permission.SELF_SERVICE) or actor.can(Permission.LOGISTICS_MANAGE)):
        raise PermissionDenied(
            CoreErrorCode.PERMISSION_DENIED, f"your role ({actor.role}) cannot request supplies"
        )


def _area_code(actor: Actor) -> str:
    """The code of the actor's own area: the last segment of its jurisdiction path."""
    return (actor.jurisdiction_path or "").strip("/").rsplit("/", 1)[-1]


@router.get("/logistics/requests", response_class=HTMLResponse)
def requests_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    _requester(actor)
    found = service.list_requests(session=session, actor=actor)
    by_building: dict[int, list[SupplyRequest]] = {}
    for item in found:
        by_building.setdefault(item.building_id, []).append(item)
    names = service.building_names(session=session, building_ids=set(by_building))
    groups = sorted(
        by_building.items(),
        key=lambda pair: (-max(r.priority for r in pair[1]), names.get(pair[0], "")),
    )
    context = {
        "groups": [(names.get(b, str(b)), b, items) for b, items in groups],
        "kinds": list(SupplyKind),
        "needs": list(MedicalNeed),
        "is_manager": actor.can(Permission.LOGISTICS_MANAGE),
        "own_household": actor.household_id,
        "area_code": _area_code(actor),
        "made": request.query_params.get("made"),
        "tasked": request.query_params.get("tasked"),
    }
    return render(request, "logistics/requests.html", context)


@router.post("/logistics/requests")
def make_request(
    session: SessionDep,
    actor: ActorDep,
    household_id: Annotated[int, Form()],
    kind: Annotated[SupplyKind, Form()],
    medical_need: Annotated[str, Form()] = "",
    detail: Annotated[str, Form()] = "",
) -> Response:
    _requester(actor)
    need = MedicalNeed(medical_need) if medical_need in set(MedicalNeed) else None
    made = service.request_supplies(
        session=session,
        actor=actor,
        request_in=SupplyRequestCreate(
            household_id=household_id, kind=kind, medical_need=need, detail=detail
        ),
    )
    session.commit()
    return _see_other(f"/logistics/requests?made={made.id}")


@router.post("/logistics/tasks")
def create_tasks(
    session: SessionDep, actor: ActorDep, area_code: Annotated[str, Form()]
) -> Response:
    tasks = service.create_tasks(session=session, actor=actor, area_code=area_code.strip())
    session.commit()
    return _see_other(f"/logistics/requests?tasked={len(tasks)}")


def _board_context(session: SessionDep, actor: Actor, message: str | None) -> dict[str, object]:
    volunteer = service.volunteer_for(session=session, actor=actor)
    board = service.task_board(session=session, actor=actor)
    mine = service.my_tasks(session=session, actor=actor)
    tasks = [*mine, *board]
    return {
        "volunteer": volunteer,
        "board": board,
        "mine": mine,
        "names": service.building_names(
            session=session, building_ids={t.building_id for t in tasks}
        ),
        "contents": service.task_contents(session=session, task_ids=[t.id for t in tasks]),
        "message": message,
    }


@router.get("/logistics/board", response_class=HTMLResponse)
def board_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    actor.require(Permission.LOGISTICS_CLAIM)
    if not service.is_volunteer(session=session, actor=actor):
        context = {"availabilities": list(Availability), "area_code": _area_code(actor)}
        return render(request, "logistics/register.html", context)
    return render(request, "logistics/board.html", _board_context(session, actor, None))


@router.post("/logistics/volunteers")
def register(
    session: SessionDep,
    actor: ActorDep,
    name: Annotated[str, Form()],
    availability: Annotated[Availability, Form()],
    area_code: Annotated[str, Form()],
    skills: Annotated[str, Form()] = "",
) -> Response:
    service.register_volunteer(
        session=session,
        actor=actor,
        volunteer_in=VolunteerCreate(
            name=name.strip(),
            skills=[s.strip() for s in skills.replace("，", ",").split(",") if s.strip()],
            availability=availability,
            area_code=area_code.strip(),
        ),
    )
    session.commit()
    return _see_other("/logistics/board")


def _board_answer(
    request: Request, session: SessionDep, actor: Actor, message: str | None
) -> Response:
    """After a claim or completion: the board panel for HTMX, the whole page otherwise."""
    if request.headers.get("hx-request"):
        return render(request, "logistics/_board.html", _board_context(session, actor, message))
    return render(request, "logistics/board.html", _board_context(session, actor, message))


@router.post("/logistics/tasks/{task_id:int}/claim", response_class=HTMLResponse)
def claim(request: Request, session: SessionDep, actor: ActorDep, task_id: int) -> Response:
    actor.require(Permission.LOGISTICS_CLAIM)
    try:
        service.claim_task(session=session, actor=actor, task_id=task_id)
        session.commit()
        message = None
    except FangkongError as refusal:
        if refusal.status >= 500 or isinstance(refusal, PermissionDenied):
            raise
        session.rollback()
        message = str(refusal.code)
    return _board_answer(request, session, actor, message)


@router.post("/logistics/tasks/{task_id:int}/complete", response_class=HTMLResponse)
def complete(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    task_id: int,
    note: Annotated[str, Form()],
    minutes_worked: Annotated[int, Form()],
) -> Response:
    actor.require(Permission.LOGISTICS_CLAIM)
    try:
        service.complete_task(
            session=session,
            actor=actor,
            task_id=task_id,
            note=note,
            minutes_worked=minutes_worked,
        )
        session.commit()
        message = None
    except FangkongError as refusal:
        if refusal.status >= 500 or isinstance(refusal, PermissionDenied):
            raise
        session.rollback()
        message = str(refusal.code)
    return _board_answer(request, session, actor, message)
