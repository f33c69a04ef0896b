"""Command-centre pages: the dashboard (``/command``), the bulletin archive with text and PDF
downloads, the 四应四尽 lists with ranking, drill-down and .xlsx/CSV exports, and the daily work
ledger (``/command/ledger``) with its exports."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.areas import certification
from fangkong.command import documents, ledgers, panels, rules, service
from fangkong.command.enums import ListKind
from fangkong.config import Settings, get_settings
from fangkong.core import clock
from fangkong.core.errors import CoreErrorCode, PermissionDenied
from fangkong.core.scope import Actor
from fangkong.web.deps import ActorDep, SessionDep
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)
SettingsDep = Annotated[Settings, Depends(get_settings)]

LIST_TITLES_ZH = {
    ListKind.TEST: "应检尽检",
    ListKind.ISOLATE: "应隔尽隔",
    ListKind.ADMIT: "应收尽收",
    ListKind.TREAT: "应治尽治",
}
EXPORT_HEADERS = (
    "序号 no",
    "姓名 name",
    "证件号 id_number",
    "区域 area",
    "情况 detail",
    "时间 since",
)


def local_today(settings: Settings) -> date:
    return clock.now().astimezone(ZoneInfo(settings.timezone)).date()


def area_path_for(actor: Actor, path: str | None) -> str:
    root = actor.jurisdiction_path
    if root is None:
        raise PermissionDenied(CoreErrorCode.OUTSIDE_JURISDICTION, "you have no area jurisdiction")
    if path:
        actor.require_path(path)
        return path
    return root


@router.get("/command", response_class=HTMLResponse)
def dashboard(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
    path: str | None = None,
    until: date | None = None,
    days: Annotated[int, Query(ge=1, le=120)] = 14,
) -> Response:
    actor.require(Permission.REPORTS_VIEW)
    area_path = area_path_for(actor, path)
    last = until or local_today(settings)
    first = last - timedelta(days=days - 1)
    series = service.stored_figures(
        session=session, actor=actor, path=area_path, first=first, last=last
    )
    latest = series[-1] if series else None
    districts = (
        service.district_figures(
            session=session, actor=actor, parent_path=area_path, day=latest.day
        )
        if latest
        else []
    )
    areas = service.reporting_areas(session=session, under_path=actor.jurisdiction_path or "/")
    curve = documents.curve_svg([(r.day, r.new_confirmed, r.new_asymptomatic) for r in series])
    onset = panels.onset_curve(session=session, actor=actor, path=area_path, first=first, last=last)
    context = {
        "series": series,
        "latest": latest,
        "districts": districts,
        "areas": areas,
        "area_path": area_path,
        "first": first,
        "last": last,
        "days": days,
        "curve": Markup(curve),  # noqa: S704 (drawn from numbers and dates, labels escaped)
        "onset_curve": Markup(documents.curve_svg(onset)),  # noqa: S704 (numbers and dates)
        "panels": panels.panels(session=session, actor=actor, path=area_path, now=clock.now()),
    }
    return render(request, "command/dashboard.html", context)


@router.get("/command/panels", response_class=HTMLResponse)
def panels_fragment(
    request: Request, session: SessionDep, actor: ActorDep, path: str | None = None
) -> Response:
    """The live panels alone: the dashboard polls this fragment every minute."""
    area_path = area_path_for(actor, path)
    context = {
        "panels": panels.panels(session=session, actor=actor, path=area_path, now=clock.now()),
        "area_path": area_path,
    }
    return render(request, "command/_panels.html", context)


@router.get("/command/map", response_class=HTMLResponse)
def map_page(
    request: Request, session: SessionDep, actor: ActorDep, path: str | None = None
) -> Response:
    """The schematic map of the areas under ``path`` (the jurisdiction by default)."""
    actor.require(Permission.REPORTS_VIEW)
    area_path = area_path_for(actor, path)
    areas = panels.map_areas(session=session, actor=actor, parent_path=area_path)
    layout = rules.treemap([(a.area.path, a.population) for a in areas])
    by_path = {a.area.path: a for a in areas}
    tiles = [
        (
            tile,
            by_path[tile.key].area.name,
            rules.rate_colour(by_path[tile.key].rate),
            by_path[tile.key].risk_areas > 0,
            f"/command/map?path={quote(tile.key)}",
        )
        for tile in layout
    ]
    certified = _certified_layer(session, actor, area_path, [a.area.path for a in areas])
    context = {
        "areas": areas,
        "area_path": area_path,
        "certified": certified,
        "map": Markup(documents.map_svg(tiles, badges=certified)),  # noqa: S704 (names escaped)
        "steps": rules.RATE_STEPS,
        "parent": _parent_path(actor, area_path),
    }
    return render(request, "command/map.html", context)


def _certified_layer(
    session: Session, actor: Actor, path: str, children: list[str]
) -> dict[str, int] | None:
    """Certified epidemic-free compounds per area, under the first pack that has a standard
    (None, no layer, when no pack has one or the actor may not see risk areas)."""
    packs = certification.packs_with_certification()
    section = certification.section_for(packs[0]) if packs else None
    if section is None or not actor.can(Permission.AREAS_VIEW):
        return None
    statuses = certification.compound_statuses(
        session=session,
        actor=actor,
        path=path,
        today=clock.now().astimezone(ZoneInfo(get_settings().timezone)).date(),
        section=section,
    )
    return certification.certified_under(statuses=statuses, paths=children)


def _parent_path(actor: Actor, path: str) -> str | None:
    """The path one level up, while it stays inside the jurisdiction."""
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) <= 1:
        return None
    up = "/" + "/".join(parts[:-1]) + "/"
    root = actor.jurisdiction_path or "/"
    return up if up.startswith(root) else None


@router.post("/command/bulletins")
def generate(
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
    day: Annotated[date, Form()],
) -> Response:
    """Compute the day's figures and (re)write its bulletin for the cities in the jurisdiction."""
    bulletins = service.generate_bulletins(
        session=session,
        actor=actor,
        day=day,
        now=clock.now(),
        cutoff_hour=settings.bulletin_cutoff_hour,
        timezone=settings.timezone,
    )
    session.commit()
    target = f"/command/bulletins/{bulletins[0].id}" if bulletins else "/command"
    return RedirectResponse(target, status_code=303)


@router.get("/command/bulletins", response_class=HTMLResponse)
def archive(
    request: Request, session: SessionDep, actor: ActorDep, settings: SettingsDep
) -> Response:
    bulletins = service.list_bulletins(session=session, actor=actor)
    context = {"bulletins": bulletins, "yesterday": local_today(settings) - timedelta(days=1)}
    return render(request, "command/bulletins.html", context)


@router.get("/command/bulletins/{bulletin_id}", response_class=HTMLResponse)
def bulletin_page(
    request: Request, session: SessionDep, actor: ActorDep, bulletin_id: int
) -> Response:
    bulletin = service.get_bulletin(session=session, actor=actor, bulletin_id=bulletin_id)
    return render(request, "command/bulletin.html", {"bulletin": bulletin})


@router.get("/command/bulletins/{bulletin_id}/text")
def bulletin_text(session: SessionDep, actor: ActorDep, bulletin_id: int) -> Response:
    bulletin = service.get_bulletin(session=session, actor=actor, bulletin_id=bulletin_id)
    return Response(
        bulletin.text_zh + "\n" + bulletin.text_en,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="bulletin-{bulletin.day}.txt"'},
    )


@router.get("/command/bulletins/{bulletin_id}/pdf")
def bulletin_pdf(session: SessionDep, actor: ActorDep, bulletin_id: int) -> Response:
    bulletin = service.get_bulletin(session=session, actor=actor, bulletin_id=bulletin_id)
    pdf = documents.bulletin_pdf(
        title=f"bulletin {bulletin.day}", texts=[bulletin.text_zh, bulletin.text_en]
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="bulletin-{bulletin.day}.pdf"'},
    )


@router.get("/command/lists", response_class=HTMLResponse)
def lists_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    now = clock.now()
    boards = [
        (
            kind,
            LIST_TITLES_ZH[kind],
            service.list_counts(session=session, actor=actor, kind=kind, now=now),
        )
        for kind in ListKind
    ]
    return render(request, "command/lists.html", {"boards": boards})


@router.get("/command/lists/{kind}", response_class=HTMLResponse)
def list_page(
    request: Request, session: SessionDep, actor: ActorDep, kind: ListKind, path: str | None = None
) -> Response:
    if path:
        actor.require_path(path)
    rows = service.list_people(session=session, actor=actor, kind=kind, now=clock.now(), path=path)
    context = {
        "kind": kind,
        "title": LIST_TITLES_ZH[kind],
        "rows": rows,
        "can_open_person": actor.can(Permission.REGISTRY_VIEW),
        "path": path or "",
        "can_export": actor.can(Permission.REPORTS_EXPORT),
    }
    return render(request, "command/list.html", context)


@router.get("/command/lists/{kind}/export")
def list_export(
    session: SessionDep,
    actor: ActorDep,
    kind: ListKind,
    path: str | None = None,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "xlsx",
) -> Response:
    actor.require(Permission.REPORTS_EXPORT)
    if path:
        actor.require_path(path)
    rows = service.list_people(
        session=session, actor=actor, kind=kind, now=clock.now(), path=path, limit=100_000
    )
    table = [
        (n, r.name, r.id_number, r.area_path, r.detail, r.since.isoformat() if r.since else "")
        for n, r in enumerate(rows, start=1)
    ]
    name = f"{kind.value}-list"
    if format == "csv":
        body = documents.table_csv(EXPORT_HEADERS, table)
        media = "text/csv; charset=utf-8"
    else:
        body = documents.table_xlsx(LIST_TITLES_ZH[kind], EXPORT_HEADERS, table)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _ledger(
    session: SessionDep, actor: Actor, settings: Settings, path: str | None, day: date | None
) -> ledgers.Ledger:
    return ledgers.work_ledger(
        session=session,
        actor=actor,
        path=area_path_for(actor, path),
        day=day or local_today(settings),
        cutoff_hour=settings.bulletin_cutoff_hour,
        timezone=settings.timezone,
    )


@router.get("/command/ledger", response_class=HTMLResponse)
def ledger_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
    path: str | None = None,
    day: date | None = None,
) -> Response:
    """The day's work ledger of the areas under ``path`` (the jurisdiction by default)."""
    ledger = _ledger(session, actor, settings, path, day)
    context = {
        "ledger": ledger,
        "columns": ledgers.COLUMNS,
        "areas": service.reporting_areas(
            session=session, under_path=actor.jurisdiction_path or "/"
        ),
        "can_export": actor.can(Permission.REPORTS_EXPORT),
    }
    return render(request, "command/ledger.html", context)


@router.get("/command/ledger/export")
def ledger_export(
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
    path: str | None = None,
    day: date | None = None,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "xlsx",
) -> Response:
    actor.require(Permission.REPORTS_EXPORT)
    ledger = _ledger(session, actor, settings, path, day)
    headers, body = ledgers.table(ledger)
    name = f"ledger-{ledger.parent.code}-{ledger.day}"
    if format == "csv":
        content, media = documents.table_csv(headers, body), "text/csv; charset=utf-8"
    else:
        content, media = documents.table_xlsx(f"工作台账 {ledger.day}", headers, body), XLSX
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )
