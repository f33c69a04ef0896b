"""Sampling pages: the phone page a sampler scans with, and the label printing page.

Thin: the scanning itself goes to the JSON API (``/api/v1/sampling``) from the page's script,
so a keyboard-wedge scanner, the camera and the API behave the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import or_, select

from fangkong.accounts.enums import Permission
from fangkong.core import clock
from fangkong.core.scope import Actor, within_path
from fangkong.registry.enums import AreaLevel
from fangkong.registry.models import Area, Building, Compound
from fangkong.testing import labels
from fangkong.testing.enums import CampaignStatus
from fangkong.testing.models import TestCampaign
from fangkong.testing.sampling import registration_keys
from fangkong.web.deps import ActorDep, SessionDep, SettingsDep
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)
SITE_LIMIT = 300
BUILDING_LIMIT = 500


def _ancestors(path: str) -> list[str]:
    """``/43/4302/430203/`` → the paths of the area and of every area above it."""
    parts = [part for part in path.split("/") if part]
    return ["/" + "/".join(parts[: n + 1]) + "/" for n in range(len(parts))]


def _open_rounds(session: SessionDep, actor: Actor) -> list[TestCampaign]:
    """Open rounds that overlap the actor's jurisdiction (inside it, or covering it)."""
    home = actor.jurisdiction_path or ""
    if not home:
        return []
    stmt = (
        select(TestCampaign)
        .where(
            TestCampaign.status == CampaignStatus.OPEN.value,
            or_(
                within_path(TestCampaign.area_path, home),
                TestCampaign.area_path.in_(_ancestors(home)),
            ),
        )
        .order_by(TestCampaign.starts_at.desc(), TestCampaign.id.desc())
    )
    return list(session.scalars(stmt))


def _sites(session: SessionDep, actor: Actor, campaign: TestCampaign) -> list[Area]:
    """Communities and grids where this sampler may set up for the round."""
    home = actor.jurisdiction_path or ""
    deeper = campaign.area_path if campaign.area_path.startswith(home) else home
    stmt = (
        select(Area)
        .where(
            within_path(Area.path, deeper),
            Area.level.in_([AreaLevel.COMMUNITY.value, AreaLevel.GRID.value]),
        )
        .order_by(Area.path)
        .limit(SITE_LIMIT)
    )
    return list(session.scalars(stmt))


@router.get("/sampling", response_class=HTMLResponse)
def sampling_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    round_id: Annotated[int | None, Query(alias="round")] = None,
    site: str | None = None,
) -> Response:
    """Pick the round and site, then scan tubes and people."""
    actor.require(Permission.TESTING_SAMPLE)
    rounds = _open_rounds(session, actor)
    chosen = next((r for r in rounds if r.id == round_id), None)
    if chosen is None and len(rounds) == 1:
        chosen = rounds[0]
    sites = _sites(session, actor, chosen) if chosen else []
    chosen_site = next((s for s in sites if s.code == site), None)
    if chosen_site is None and len(sites) == 1:
        chosen_site = sites[0]
    context = {
        "rounds": rounds,
        "chosen": chosen,
        "sites": sites,
        "site": chosen_site,
    }
    return render(request, "testing/sampling.html", context)


@router.get("/sampling/labels", response_class=HTMLResponse)
def labels_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """Registration-code sheets per building, and tube label batches."""
    actor.require(Permission.TESTING_VIEW)
    rows = session.execute(
        select(Building.id, Building.label, Compound.name)
        .join(Compound, Compound.id == Building.compound_id)
        .where(within_path(Building.area_path, actor.jurisdiction_path or "/nowhere/"))
        .order_by(Compound.name, Building.label)
        .limit(BUILDING_LIMIT)
    ).all()
    return render(
        request,
        "testing/sampling_labels.html",
        {"buildings": rows, "limit": BUILDING_LIMIT, "max_tubes": labels.MAX_TUBE_LABELS},
    )


def _pdf(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get("/sampling/labels/buildings/{building_id}.pdf")
def registration_sheet(
    session: SessionDep, actor: ActorDep, settings: SettingsDep, building_id: int
) -> Response:
    """The building's registration codes door by door: a household code, then one label per
    resident (QR + masked name + room)."""
    actor.require(Permission.TESTING_VIEW)
    now = clock.now()
    title, printed = labels.building_labels(
        session=session,
        actor=actor,
        building_id=building_id,
        keys=registration_keys(settings.code_signing_key),
        now=now,
    )
    pdf = labels.registration_sheet(
        title=title, households=printed, printed_at=_local(now, settings)
    )
    session.commit()  # the audit event of the printing
    return _pdf(pdf, f"registration-codes-{building_id}.pdf")


@router.get("/sampling/labels/tubes.pdf")
def tube_labels(
    actor: ActorDep,
    settings: SettingsDep,
    prefix: str = "ZZ",
    start: int = 1,
    count: int = 48,
) -> Response:
    """Sequential Code 128 tube labels ``<prefix><8-digit number>``."""
    actor.require(Permission.TESTING_VIEW)
    barcodes = labels.tube_barcodes(prefix=prefix.strip(), start=start, count=count)
    pdf = labels.tube_label_sheet(barcodes=barcodes, printed_at=_local(clock.now(), settings))
    return _pdf(pdf, f"tube-labels-{barcodes[0]}.pdf")


def _local(moment: datetime, settings: SettingsDep) -> datetime:
    return moment.astimezone(ZoneInfo(settings.timezone))
