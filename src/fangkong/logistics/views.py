"""Logistics API: supply requests, delivery tasks, volunteers and the task board."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from fangkong.accounts.enums import Permission
from fangkong.core.errors import CoreErrorCode, PermissionDenied
from fangkong.core.scope import Actor
from fangkong.logistics import service
from fangkong.logistics.schemas import (
    SupplyRequestCreate,
    SupplyRequestRead,
    TaskCompletion,
    TaskGrouping,
    TaskRead,
    VolunteerCreate,
    VolunteerRead,
)
from fangkong.web.deps import ActorDep, SessionDep, requires

router = APIRouter(prefix="/api/v1/logistics", tags=["logistics"])


def _requester(actor: ActorDep) -> Actor:
    """A resident (for their household) or a grid worker managing supplies."""
    if not (actor.can(Permission.SELF_SERVICE) or actor.can(Permission.LOGISTICS_MANAGE)):
        raise PermissionDenied(
            CoreErrorCode.PERMISSION_DENIED, f"your role ({actor.role}) cannot request supplies"
        )
    return actor


Requester = Annotated[Actor, Depends(_requester)]
Manager = Annotated[Actor, Depends(requires(Permission.LOGISTICS_MANAGE))]
Claimer = Annotated[Actor, Depends(requires(Permission.LOGISTICS_CLAIM))]


@router.post("/requests", status_code=201)
def request_supplies(
    session: SessionDep, actor: Requester, request_in: SupplyRequestCreate
) -> SupplyRequestRead:
    request = service.request_supplies(session=session, actor=actor, request_in=request_in)
    session.commit()
    return SupplyRequestRead.model_validate(request)


@router.get("/requests")
def list_requests(session: SessionDep, actor: Requester) -> list[SupplyRequestRead]:
    found = service.list_requests(session=session, actor=actor)
    return [SupplyRequestRead.model_validate(r) for r in found]


@router.post("/tasks", status_code=201)
def create_tasks(session: SessionDep, actor: Manager, body: TaskGrouping) -> list[TaskRead]:
    tasks = service.create_tasks(session=session, actor=actor, area_code=body.area_code)
    session.commit()
    return [TaskRead.model_validate(t) for t in tasks]


@router.post("/volunteers", status_code=201)
def register_volunteer(
    session: SessionDep, actor: Claimer, volunteer_in: VolunteerCreate
) -> VolunteerRead:
    volunteer = service.register_volunteer(session=session, actor=actor, volunteer_in=volunteer_in)
    session.commit()
    return VolunteerRead.model_validate(volunteer)


@router.get("/board")
def task_board(session: SessionDep, actor: Claimer) -> list[TaskRead]:
    return [TaskRead.model_validate(t) for t in service.task_board(session=session, actor=actor)]


@router.post("/tasks/{task_id}/claim")
def claim_task(session: SessionDep, actor: Claimer, task_id: int) -> TaskRead:
    task = service.claim_task(session=session, actor=actor, task_id=task_id)
    session.commit()
    return TaskRead.model_validate(task)


@router.post("/tasks/{task_id}/complete")
def complete_task(
    session: SessionDep, actor: Claimer, task_id: int, body: TaskCompletion
) -> TaskRead:
    task = service.complete_task(
        session=session,
        actor=actor,
        task_id=task_id,
        note=body.note,
        minutes_worked=body.minutes_worked,
    )
    session.commit()
    return TaskRead.model_validate(task)
