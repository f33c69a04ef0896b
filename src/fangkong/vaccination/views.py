"""Vaccination API: dose imports (CSV, FHIR), status, coverage, unvaccinated elderly."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from fangkong.accounts.enums import Permission
from fangkong.core.crypto import get_cipher
from fangkong.core.errors import FangkongError, NotFound
from fangkong.core.scope import Actor
from fangkong.registry.enums import AreaLevel
from fangkong.vaccination import formats, service
from fangkong.vaccination.enums import DoseSource
from fangkong.vaccination.errors import VaccinationErrorCode
from fangkong.vaccination.schemas import (
    CoverageRow,
    ImportReport,
    UnvaccinatedGrid,
    VaccinationStatus,
)
from fangkong.web.deps import SessionDep, requires

router = APIRouter(prefix="/api/v1/vaccination", tags=["vaccination"])

Recorder = Annotated[Actor, Depends(requires(Permission.VACCINATION_RECORD))]
Viewer = Annotated[Actor, Depends(requires(Permission.VACCINATION_VIEW))]
PARSERS = {DoseSource.CSV: formats.parse_csv, DoseSource.FHIR: formats.parse_fhir}


@router.post("/imports/{source}")
async def import_doses(
    session: SessionDep, actor: Recorder, source: DoseSource, request: Request
) -> ImportReport:
    """Load a CSV file or a FHIR Immunization/Bundle (request body); returns what was loaded
    and every refused record."""
    parser = PARSERS.get(source)
    if parser is None:
        raise NotFound(VaccinationErrorCode.FILE_UNREADABLE, "import csv or fhir", field="source")
    try:
        doses, problems = parser(await request.body())
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
    return report


@router.get("/persons/{person_id}/status")
def status(session: SessionDep, actor: Viewer, person_id: int) -> VaccinationStatus:
    return service.status_in_jurisdiction(session=session, actor=actor, person_id=person_id)


@router.get("/coverage")
def coverage(
    session: SessionDep, actor: Viewer, on: date, by: AreaLevel = AreaLevel.COUNTY
) -> list[CoverageRow]:
    return service.coverage_table(session=session, actor=actor, on=on, by=by)


@router.get("/unvaccinated-elderly")
def unvaccinated_elderly(session: SessionDep, actor: Viewer, on: date) -> list[UnvaccinatedGrid]:
    return service.unvaccinated_elderly(session=session, actor=actor, on=on)
