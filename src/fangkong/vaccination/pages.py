"""Vaccination pages: coverage tables with bar charts (SVG drawn on the server, no script),
the unvaccinated elderly of each grid for door-to-door follow-up, and the dose import."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from fangkong.accounts.enums import Permission
from fangkong.core import clock
from fangkong.core.crypto import get_cipher
from fangkong.core.errors import FangkongError
from fangkong.registry.enums import AreaLevel
from fangkong.vaccination import formats, service
from fangkong.vaccination.enums import DoseSource
from fangkong.vaccination.errors import VaccinationErrorCode as E
from fangkong.vaccination.schemas import CoverageRow
from fangkong.web.deps import ActorDep, SessionDep
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)

PARSERS = {DoseSource.CSV: formats.parse_csv, DoseSource.FHIR: formats.parse_fhir}
AREA_LEVELS = (AreaLevel.COUNTY, AreaLevel.TOWNSHIP, AreaLevel.COMMUNITY, AreaLevel.GRID)
IMPORT_LIMIT = 50_000_000  # bytes


@router.get("/vaccination/coverage", response_class=HTMLResponse)
def coverage_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    on: date | None = None,
    by: AreaLevel = AreaLevel.COUNTY,
) -> Response:
    actor.require(Permission.VACCINATION_VIEW)
    day = on or clock.now().date()
    rows = service.coverage_table(session=session, actor=actor, on=day, by=by)
    by_area: dict[str, list[CoverageRow]] = {}
    for row in rows:
        by_area.setdefault(row.area_path, []).append(row)
    names = service.area_names(session=session, paths=set(by_area))
    context = {
        "on": day,
        "by": by,
        "levels": AREA_LEVELS,
        "totals": service.totals_by_age_group(rows),
        "areas": [(names.get(path, path), path, items) for path, items in by_area.items()],
    }
    return render(request, "vaccination/coverage.html", context)


@router.get("/vaccination/unvaccinated", response_class=HTMLResponse)
def unvaccinated_page(
    request: Request, session: SessionDep, actor: ActorDep, on: date | None = None
) -> Response:
    actor.require(Permission.VACCINATION_VIEW)
    day = on or clock.now().date()
    grids = service.unvaccinated_elderly(session=session, actor=actor, on=day)
    names = service.area_names(session=session, paths={g.area_path for g in grids})
    context = {"on": day, "grids": [(names.get(g.area_path, g.area_path), g) for g in grids]}
    return render(request, "vaccination/unvaccinated.html", context)


@router.get("/vaccination/import", response_class=HTMLResponse)
def import_page(request: Request, actor: ActorDep) -> Response:
    actor.require(Permission.VACCINATION_RECORD)
    return render(request, "vaccination/import.html", {"report": None, "sources": list(PARSERS)})


@router.post("/vaccination/import", response_class=HTMLResponse)
async def import_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    source: Annotated[DoseSource, Form()],
    file: Annotated[UploadFile, File()],
) -> Response:
    """Load a CSV file or a FHIR Immunization / Bundle and show the per-record report."""
    actor.require(Permission.VACCINATION_RECORD)
    parser = PARSERS.get(source)
    if parser is None:
        raise FangkongError(E.FILE_UNREADABLE, "import csv or fhir", field="source")
    raw = await file.read(IMPORT_LIMIT + 1)
    if len(raw) > IMPORT_LIMIT:
        raise FangkongError(E.FILE_UNREADABLE, "the file is too large", field="file")
    try:
        doses, problems = parser(raw)
    except formats.FileRefused as refusal:
        raise FangkongError(refusal.code, refusal.message, field="file") from None
    report = service.import_doses(
        session=session,
        actor=actor,
        cipher=get_cipher(),
        doses=doses,
        problems=problems,
        source=source,
    )
    session.commit()
    context = {"report": report, "sources": list(PARSERS)}
    return render(request, "vaccination/import.html", context)
