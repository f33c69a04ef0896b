"""Mass-testing pages: rounds (open, watch, close), the 应检未检 list of a building for grid
workers (phone-sized), result upload for labs, re-sample orders and positive-tube alerts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from fangkong.accounts.enums import Permission
from fangkong.core import clock
from fangkong.core.errors import FangkongError
from fangkong.core.scope import Actor
from fangkong.healthcode import jobs as healthcode_jobs
from fangkong.registry import service as registry_service
from fangkong.registry.enums import AreaLevel
from fangkong.testing import actions, monitoring, pool_map, rules, service
from fangkong.testing.enums import ResultFormat
from fangkong.testing.errors import TestingErrorCode
from fangkong.testing.formats.records import DEFAULT_LAB_TIMEZONE
from fangkong.web.deps import ActorDep, SessionDep
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)

ROUND_LEVELS = (AreaLevel.COUNTY, AreaLevel.TOWNSHIP, AreaLevel.COMMUNITY)
FORMATS = [(ResultFormat.HL7.value, "HL7 v2.5.1"), (ResultFormat.FHIR.value, "FHIR R4 JSON"),
           (ResultFormat.CSV.value, "CSV")]  # fmt: skip


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _round_areas(session: SessionDep, actor: Actor) -> list[object]:
    path = actor.jurisdiction_path or "/nowhere/"
    areas: list[object] = []
    here = registry_service.get_by_path(session=session, path=path)
    if here is not None and here.level in ROUND_LEVELS:
        areas.append(here)
    for level in ROUND_LEVELS:
        areas.extend(registry_service.list_under_level(session=session, path=path, level=level))
    return list(dict.fromkeys(areas))


@router.get("/testing", response_class=HTMLResponse)
def campaigns_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """The rounds over the jurisdiction, and (for organisers) the form to open one."""
    actor.require(Permission.TESTING_VIEW)
    can_organise = actor.can(Permission.TESTING_ORGANISE)
    start = clock.now().astimezone(DEFAULT_LAB_TIMEZONE).replace(second=0, microsecond=0)
    context = {
        "campaigns": monitoring.list_campaigns(session=session, actor=actor),
        "can_organise": can_organise,
        "areas": _round_areas(session, actor) if can_organise else [],
        "default_start": start.strftime("%Y-%m-%dT%H:%M"),
    }
    return render(request, "testing/campaigns.html", context)


@router.post("/testing/campaigns")
def open_round(
    session: SessionDep,
    actor: ActorDep,
    name: Annotated[str, Form()],
    area_code: Annotated[str, Form()],
    starts_at: Annotated[str, Form()],
    hours: Annotated[int, Form()] = 24,
    max_pool_size: Annotated[int, Form()] = 10,
) -> Response:
    actor.require(Permission.TESTING_ORGANISE)
    try:
        start = datetime.fromisoformat(starts_at).replace(tzinfo=DEFAULT_LAB_TIMEZONE)
    except ValueError as exc:
        raise FangkongError(
            TestingErrorCode.CAMPAIGN_WINDOW_INVALID, "the start is not a date and time",
            field="starts_at",
        ) from exc  # fmt: skip
    campaign = service.create_campaign(
        session=session,
        actor=actor,
        name=name.strip() or area_code,
        area_code=area_code,
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        max_pool_size=max_pool_size,
        rule_ref=None,
    )
    session.commit()
    return _see_other(f"/testing/campaigns/{campaign.id}")


@router.get("/testing/campaigns/{campaign_id}", response_class=HTMLResponse)
def round_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    campaign_id: int,
    area: str | None = None,
) -> Response:
    """Coverage with drill-down to buildings, progress and estimate, turnaround, positive
    pools; organisers close the round here."""
    actor.require(Permission.TESTING_VIEW)
    view = monitoring.coverage(
        session=session, actor=actor, campaign_id=campaign_id, area_code=area
    )
    buildings = pool_map.pool_buildings(session=session, actor=actor, campaign_id=campaign_id)
    context = {
        "campaign": view.campaign,
        "coverage": view,
        "progress": monitoring.completion(
            session=session, actor=actor, campaign_id=campaign_id, now=clock.now()
        ),
        "turnaround": monitoring.turnaround(session=session, actor=actor, campaign_id=campaign_id),
        "pools": monitoring.positive_pools(session=session, actor=actor, campaign_id=campaign_id),
        "pool_buildings": buildings,
        "chase_colours": rules.CHASE_COLOURS,
        "pool_map": Markup(pool_map.pool_map_svg(buildings, campaign_id=campaign_id)),  # noqa: S704 (names escaped)
        "statuses": monitoring.status_counts(session=session, actor=actor, campaign_id=campaign_id),
        "can_organise": actor.can(Permission.TESTING_ORGANISE)
        and actor.covers_path(view.campaign.area_path),
        "zone": DEFAULT_LAB_TIMEZONE,
    }
    return render(request, "testing/round.html", context)


@router.post("/testing/campaigns/{campaign_id}/close")
def close_round(session: SessionDep, actor: ActorDep, campaign_id: int) -> Response:
    actor.require(Permission.TESTING_ORGANISE)
    service.close_campaign(session=session, actor=actor, campaign_id=campaign_id)
    session.commit()
    return _see_other(f"/testing/campaigns/{campaign_id}")


@router.get("/testing/campaigns/{campaign_id}/buildings/{building_id}", response_class=HTMLResponse)
def not_tested_page(
    request: Request, session: SessionDep, actor: ActorDep, campaign_id: int, building_id: int
) -> Response:
    """应检未检: who in this building has not been sampled in the round (phone-sized)."""
    actor.require(Permission.TESTING_VIEW)
    listed = monitoring.not_tested(
        session=session, actor=actor, campaign_id=campaign_id, building_id=building_id
    )
    session.commit()  # the audit event of a listing with full numbers
    return render(request, "testing/not_tested.html", {"listed": listed})


@router.get("/testing/results", response_class=HTMLResponse)
def results_page(request: Request, actor: ActorDep) -> Response:
    actor.require(Permission.TESTING_RESULTS)
    return render(request, "testing/results.html", {"formats": FORMATS, "upload": None})


@router.post("/testing/results", response_class=HTMLResponse)
async def results_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    result_format: Annotated[ResultFormat, Form(alias="format")],
    file: Annotated[UploadFile, File()],
) -> Response:
    actor.require(Permission.TESTING_RESULTS)
    started = clock.now()
    upload, is_new = actions.ingest_result_file(
        session=session,
        actor=actor,
        result_format=result_format,
        filename=file.filename or "upload",
        content=await file.read(),
    )
    session.commit()
    if is_new:
        healthcode_jobs.recompute_changed(
            session=session, since=started, now=clock.now(), limit=healthcode_jobs.INLINE_LIMIT
        )
    effects = monitoring.upload_effects(session=session, upload_id=upload.id)
    context = {"formats": FORMATS, "upload": upload, "is_new": is_new, "effects": effects}
    return render(request, "testing/results.html", context)


@router.get("/testing/resample-orders", response_class=HTMLResponse)
def orders_page(
    request: Request, session: SessionDep, actor: ActorDep, all: bool = False
) -> Response:
    actor.require(Permission.TESTING_VIEW)
    orders = monitoring.list_orders(session=session, actor=actor, open_only=not all)
    return render(request, "testing/orders.html", {"orders": orders, "all": all})


@router.get("/testing/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    actor.require(Permission.TESTING_VIEW)
    alerts = monitoring.list_alerts(session=session, actor=actor)
    return render(request, "testing/alerts.html", {"alerts": alerts})


@router.post("/testing/alerts/{alert_id}/acknowledge")
def acknowledge(session: SessionDep, actor: ActorDep, alert_id: int) -> Response:
    actor.require(Permission.TESTING_VIEW)
    service.acknowledge_alert(session=session, actor=actor, alert_id=alert_id)
    session.commit()
    return _see_other("/testing/alerts")


@router.get("/testing/campaigns/{campaign_id}/schedule", response_class=HTMLResponse)
def schedule_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    campaign_id: int,
    area: str,
    day: str | None = None,
    opens: str = "08:00",
    closes: str = "12:00",
    slot: int = 30,
) -> Response:
    """分楼栋分楼层错峰: time slots by building and floor over the site's opening hours, for
    printing and sending to grid workers."""
    actor.require(Permission.TESTING_VIEW)
    campaign = monitoring.get_campaign(session=session, actor=actor, campaign_id=campaign_id)
    chosen_day = day or campaign.starts_at.astimezone(DEFAULT_LAB_TIMEZONE).date().isoformat()
    try:
        start = datetime.fromisoformat(f"{chosen_day}T{opens}").replace(tzinfo=DEFAULT_LAB_TIMEZONE)
        end = datetime.fromisoformat(f"{chosen_day}T{closes}").replace(tzinfo=DEFAULT_LAB_TIMEZONE)
        place, groups = monitoring.floor_groups(
            session=session, actor=actor, campaign_id=campaign_id, area_code=area
        )
        slots = rules.stagger(groups, opens=start, closes=end, slot_minutes=slot)
    except ValueError as exc:
        raise FangkongError(
            TestingErrorCode.SCHEDULE_INVALID, "the opening hours or the slot are not valid"
        ) from exc
    context = {
        "campaign": campaign,
        "place": place,
        "slots": slots,
        "day": chosen_day,
        "opens": opens,
        "closes": closes,
        "slot": slot,
        "zone": DEFAULT_LAB_TIMEZONE,
    }
    return render(request, "testing/schedule.html", context)
