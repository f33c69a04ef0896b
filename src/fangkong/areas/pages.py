"""Risk-area pages (under ``/risk-areas``; ``/areas`` is the registry's area browser): the
designations list, a designation with its history and the explanation of today's decision,
propose / confirm / record a day / lift / confirm a proposed change, and the public list of
current risk areas (no login)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fangkong.accounts.enums import Permission
from fangkong.areas import actions, certification, service
from fangkong.areas.certification_rules import CertStatus
from fangkong.areas.enums import RiskLevel, TargetKind
from fangkong.areas.schemas import DayFactsIn
from fangkong.config import get_settings
from fangkong.core import clock
from fangkong.healthcode import jobs as healthcode_jobs
from fangkong.web.deps import ActorDep, SessionDep
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/risk-areas/public", response_class=HTMLResponse)
def public_list(request: Request, session: SessionDep) -> Response:
    """Current risk areas for anyone, no login: names and levels only."""
    return render(request, "areas/public.html", {"areas": service.list_public(session=session)})


@router.get("/risk-areas", response_class=HTMLResponse)
def designations_page(
    request: Request, session: SessionDep, actor: ActorDep, lifted: bool = False
) -> Response:
    actor.require(Permission.AREAS_VIEW)
    rows = service.list_designations(session=session, actor=actor, include_lifted=lifted)
    context = {
        "designations": rows,
        "lifted": lifted,
        "kinds": [str(k) for k in TargetKind],
        "levels": [str(level) for level in RiskLevel if level is not RiskLevel.NORMAL],
        "packs": sorted({pack_id for pack_id, _ in service.catalog().packs}),
        "can_designate": actor.can(Permission.AREAS_DESIGNATE),
    }
    return render(request, "areas/designations.html", context)


@router.post("/risk-areas")
def propose(
    session: SessionDep,
    actor: ActorDep,
    target_kind: Annotated[TargetKind, Form()],
    target_id: Annotated[int, Form()],
    level: Annotated[RiskLevel, Form()],
    reason: Annotated[str, Form()],
    unit: Annotated[str, Form()] = "",
    controls: Annotated[str, Form()] = "",
    pack_id: Annotated[str, Form()] = "",
) -> Response:
    """Propose a risk area under the chosen pack, or the national pack in force (an officer
    confirms it)."""
    actor.require(Permission.AREAS_DESIGNATE)
    designation = service.designate(
        session=session,
        actor=actor,
        target_kind=target_kind,
        target_id=target_id,
        unit=int(unit) if unit.strip().isdigit() else None,
        level=level,
        controls=[c.strip() for c in controls.split(",") if c.strip()],
        reason=reason,
        section=service.section_for(pack_id=pack_id or None, version=None, now=clock.now()),
    )
    session.commit()
    return _see_other(f"/risk-areas/{designation.id}")


@router.get("/risk-areas/certification", response_class=HTMLResponse)
def certification_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    pack: str | None = None,
    path: str | None = None,
    day: date | None = None,
) -> Response:
    """Epidemic-free compounds (无疫小区) under a pack's standard: the status of every compound
    of the area today (or ``day``), with what each still needs."""
    actor.require(Permission.AREAS_VIEW)
    packs = certification.packs_with_certification()
    pack_id = pack if pack in packs else (packs[0] if packs else None)
    section = certification.section_for(pack_id) if pack_id else None
    area_path = path or actor.jurisdiction_path or ""
    today = day or clock.now().astimezone(ZoneInfo(get_settings().timezone)).date()
    statuses = (
        certification.compound_statuses(
            session=session, actor=actor, path=area_path, today=today, section=section
        )
        if section is not None
        else []
    )
    counts = {str(s): 0 for s in CertStatus}
    for status in statuses:
        counts[str(status.decision.status)] += 1
    order = {CertStatus.CERTIFIED: 0, CertStatus.REVOKED: 1, CertStatus.NOT_YET: 2}
    shown = sorted(statuses, key=lambda s: (order[s.decision.status], s.area_path, s.name))
    context = {
        "packs": packs,
        "pack_id": pack_id,
        "rules": section.rules if section else (),
        "day": today,
        "area_path": area_path,
        "counts": counts,
        "statuses": shown[:CERTIFICATION_ROWS],
        "more": max(len(shown) - CERTIFICATION_ROWS, 0),
    }
    return render(request, "areas/certification.html", context)


CERTIFICATION_ROWS = 500


@router.get("/risk-areas/{designation_id}", response_class=HTMLResponse)
def designation_page(
    request: Request, session: SessionDep, actor: ActorDep, designation_id: int
) -> Response:
    """A designation, its recorded days and history, and today's decision explained."""
    actor.require(Permission.AREAS_VIEW)
    designation = service.get_or_raise(session=session, actor=actor, designation_id=designation_id)
    context = {
        "d": designation,
        "view": service.view_of(session=session, designation=designation),
        "today": clock.now().date(),
        "can_designate": actor.can(Permission.AREAS_DESIGNATE),
    }
    return render(request, "areas/designation.html", context)


@router.post("/risk-areas/{designation_id}/confirm")
def confirm(session: SessionDep, actor: ActorDep, designation_id: int) -> Response:
    actor.require(Permission.AREAS_DESIGNATE)
    started = clock.now()
    actions.confirm(session=session, actor=actor, designation_id=designation_id)
    session.commit()
    # The residents' codes follow at once (up to the inline limit; the change feed takes more).
    healthcode_jobs.recompute_inline(session=session, since=started)
    return _see_other(f"/risk-areas/{designation_id}")


@router.post("/risk-areas/{designation_id}/days")
def record_day(
    session: SessionDep,
    actor: ActorDep,
    designation_id: int,
    day: Annotated[date, Form()],
    new_infections: Annotated[int, Form(ge=0)] = 0,
    new_infections_isolated: Annotated[int, Form(ge=0)] = 0,
    rounds: Annotated[int, Form(ge=0)] = 0,
    negative_rounds: Annotated[int, Form(ge=0)] = 0,
    open_cases: Annotated[int, Form(ge=0)] = 0,
) -> Response:
    actor.require(Permission.AREAS_DESIGNATE)
    actions.record_day(
        session=session,
        actor=actor,
        designation_id=designation_id,
        facts=DayFactsIn(
            day=day,
            new_infections=new_infections,
            new_infections_isolated=new_infections_isolated,
            rounds=rounds,
            negative_rounds=negative_rounds,
            open_cases=open_cases,
        ),
    )
    session.commit()
    return _see_other(f"/risk-areas/{designation_id}")


@router.post("/risk-areas/{designation_id}/lift")
def lift(
    session: SessionDep, actor: ActorDep, designation_id: int, reason: Annotated[str, Form()] = ""
) -> Response:
    actor.require(Permission.AREAS_DESIGNATE)
    started = clock.now()
    actions.lift(session=session, actor=actor, designation_id=designation_id, reason=reason)
    session.commit()
    # The residents' codes follow at once (up to the inline limit; the change feed takes more).
    healthcode_jobs.recompute_inline(session=session, since=started)
    return _see_other(f"/risk-areas/{designation_id}")


@router.post("/risk-areas/{designation_id}/confirm-change")
def confirm_change(session: SessionDep, actor: ActorDep, designation_id: int) -> Response:
    actor.require(Permission.AREAS_DESIGNATE)
    started = clock.now()
    actions.confirm_pending(session=session, actor=actor, designation_id=designation_id)
    session.commit()
    # The residents' codes follow at once (up to the inline limit; the change feed takes more).
    healthcode_jobs.recompute_inline(session=session, since=started)
    return _see_other(f"/risk-areas/{designation_id}")
