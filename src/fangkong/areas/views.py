"""Risk-areas API. The public list needs no login; everything else needs ``areas.view`` or
``areas.designate`` and stays inside the caller's jurisdiction."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from fangkong.accounts.enums import Permission
from fangkong.areas import actions, service
from fangkong.areas.schemas import (
    DayFactsIn,
    DesignationCreate,
    DesignationRead,
    PublicRiskArea,
    ReasonIn,
)
from fangkong.core import clock
from fangkong.core.scope import Actor
from fangkong.healthcode import jobs as healthcode_jobs
from fangkong.web.deps import SessionDep, requires

router = APIRouter(prefix="/api/v1/risk-areas", tags=["areas"])

AreasViewer = Annotated[Actor, Depends(requires(Permission.AREAS_VIEW))]
Designator = Annotated[Actor, Depends(requires(Permission.AREAS_DESIGNATE))]


@router.get("/public")
def list_public(session: SessionDep) -> list[PublicRiskArea]:
    """Current risk areas, for anyone: names and levels only."""
    return service.list_public(session=session)


@router.get("")
def list_designations(
    session: SessionDep, actor: AreasViewer, include_lifted: bool = False
) -> list[DesignationRead]:
    rows = service.list_designations(session=session, actor=actor, include_lifted=include_lifted)
    return [DesignationRead.model_validate(row) for row in rows]


@router.post("", status_code=status.HTTP_201_CREATED)
def designate(
    body: DesignationCreate, session: SessionDep, actor: Designator, pack_id: str | None = None
) -> DesignationRead:
    """Draw a risk area (proposed until confirmed) under ``pack_id`` or the pack in force."""
    designation = service.designate(
        session=session,
        actor=actor,
        target_kind=body.target_kind,
        target_id=body.target_id,
        unit=body.unit,
        level=body.level,
        controls=body.controls,
        reason=body.reason,
        section=service.section_for(pack_id=pack_id, version=None, now=clock.now()),
    )
    session.commit()
    return DesignationRead.model_validate(designation)


@router.post("/{designation_id}/confirm")
def confirm(designation_id: int, session: SessionDep, actor: Designator) -> DesignationRead:
    """Confirm a proposed risk area; its residents' health codes are recomputed at once."""
    started = clock.now()
    designation = actions.confirm(session=session, actor=actor, designation_id=designation_id)
    session.commit()
    healthcode_jobs.recompute_inline(session=session, since=started)
    return DesignationRead.model_validate(designation)


@router.put("/{designation_id}/days", status_code=status.HTTP_204_NO_CONTENT)
def record_day(
    designation_id: int, body: DayFactsIn, session: SessionDep, actor: Designator
) -> None:
    actions.record_day(session=session, actor=actor, designation_id=designation_id, facts=body)
    session.commit()


@router.post("/{designation_id}/lift")
def lift(
    designation_id: int, body: ReasonIn, session: SessionDep, actor: Designator
) -> DesignationRead:
    started = clock.now()
    designation = actions.lift(
        session=session, actor=actor, designation_id=designation_id, reason=body.reason
    )
    session.commit()
    healthcode_jobs.recompute_inline(session=session, since=started)
    return DesignationRead.model_validate(designation)


@router.post("/{designation_id}/confirm-change")
def confirm_change(designation_id: int, session: SessionDep, actor: Designator) -> DesignationRead:
    """Confirm the change the rules proposed after a risk assessment."""
    started = clock.now()
    designation = actions.confirm_pending(
        session=session, actor=actor, designation_id=designation_id
    )
    session.commit()
    healthcode_jobs.recompute_inline(session=session, since=started)
    return DesignationRead.model_validate(designation)
