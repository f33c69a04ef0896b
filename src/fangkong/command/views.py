"""Command-centre API: the dashboard's data as JSON (the page's figures, curves and panels)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from fangkong.accounts.enums import Permission
from fangkong.command import panels, service
from fangkong.command.pages import SettingsDep, area_path_for, local_today
from fangkong.command.schemas import (
    DashboardRead,
    DayFigures,
    DistrictFigures,
    OnsetDay,
    PanelsRead,
    RoundRead,
)
from fangkong.core import clock
from fangkong.core.scope import Actor
from fangkong.web.deps import SessionDep, requires

router = APIRouter(prefix="/api/v1/command", tags=["command"])

Viewer = Annotated[Actor, Depends(requires(Permission.REPORTS_VIEW))]


@router.get("/dashboard")
def dashboard(
    session: SessionDep,
    actor: Viewer,
    settings: SettingsDep,
    path: str | None = None,
    until: date | None = None,
    days: Annotated[int, Query(ge=1, le=120)] = 14,
) -> DashboardRead:
    """The stored figures of the last ``days`` days of ``path`` (the jurisdiction by default),
    its districts on the last stored day, the curve by onset date and the live panels."""
    area_path = area_path_for(actor, path)
    last = until or local_today(settings)
    first = last - timedelta(days=days - 1)
    series = service.stored_figures(
        session=session, actor=actor, path=area_path, first=first, last=last
    )
    districts = (
        service.district_figures(
            session=session, actor=actor, parent_path=area_path, day=series[-1].day
        )
        if series
        else []
    )
    onset = panels.onset_curve(session=session, actor=actor, path=area_path, first=first, last=last)
    live = panels.panels(session=session, actor=actor, path=area_path, now=clock.now())
    return DashboardRead(
        area_path=area_path,
        series=[
            DayFigures(day=row.day, figures=service.figures_of(row).as_dict()) for row in series
        ],
        districts=[
            DistrictFigures(
                area_path=area.path, name=area.name, figures=service.figures_of(row).as_dict()
            )
            for area, row in districts
        ],
        onset=[OnsetDay(day=d, confirmed=c, asymptomatic=a) for d, c, a in onset],
        panels=PanelsRead(
            open_positive_pools=live.open_positive_pools,
            results_last_day=live.turnaround.count,
            turnaround_p50_seconds=live.turnaround.p50,
            turnaround_p90_seconds=live.turnaround.p90,
            rounds=[
                RoundRead(
                    campaign_id=r.campaign_id, name=r.name, required=r.required, sampled=r.sampled
                )
                for r in live.rounds
            ],
            beds_total=live.beds.total if live.beds else None,
            beds_free=live.beds.free if live.beds else None,
            overdue_transfers=live.overdue_transfers,
            codes=live.codes,
            residents=live.residents,
            vaccinated=live.vaccinated,
            as_of=live.as_of,
        ),
    )
