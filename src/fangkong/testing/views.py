"""Testing API: labs upload result files; positive-tube alerts, re-sample orders, coverage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Response, UploadFile, status

from fangkong.accounts.enums import Permission
from fangkong.core.scope import Actor
from fangkong.testing import actions, monitoring, service
from fangkong.testing.enums import ResultFormat
from fangkong.testing.schemas import (
    AlertRead,
    CoverageRead,
    CoverageRowRead,
    ResampleOrderRead,
    ResultUploadRead,
)
from fangkong.web.deps import SessionDep, requires

router = APIRouter(prefix="/api/v1/testing", tags=["testing"])

LabUploader = Annotated[Actor, Depends(requires(Permission.TESTING_RESULTS))]


@router.post("/result-files", status_code=status.HTTP_201_CREATED)
def upload_result_file(
    session: SessionDep,
    actor: LabUploader,
    response: Response,
    file: UploadFile,
    result_format: Annotated[ResultFormat, Form(alias="format")],
) -> ResultUploadRead:
    """Store a lab's result file (HL7 v2, FHIR JSON or CSV) and return its outcome report.

    201 with a new report; 200 with the first report when the same file was uploaded before.
    """
    upload, is_new = actions.ingest_result_file(
        session=session,
        actor=actor,
        result_format=result_format,
        filename=file.filename or "upload",
        content=file.file.read(),
    )
    session.commit()
    if not is_new:
        response.status_code = status.HTTP_200_OK
    return ResultUploadRead.model_validate(upload)


Watcher = Annotated[Actor, Depends(requires(Permission.TESTING_VIEW))]


@router.get("/alerts")
def list_alerts(session: SessionDep, actor: Watcher, open_only: bool = False) -> list[AlertRead]:
    """Positive-tube alerts inside the jurisdiction, newest first."""
    alerts = monitoring.list_alerts(session=session, actor=actor, open_only=open_only)
    return [AlertRead.model_validate(alert) for alert in alerts]


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge_alert(session: SessionDep, actor: Watcher, alert_id: int) -> AlertRead:
    alert = service.acknowledge_alert(session=session, actor=actor, alert_id=alert_id)
    session.commit()
    return AlertRead.model_validate(alert)


@router.get("/resample-orders")
def list_resample_orders(
    session: SessionDep, actor: Watcher, open_only: bool = True
) -> list[ResampleOrderRead]:
    orders = monitoring.list_orders(session=session, actor=actor, open_only=open_only)
    return [ResampleOrderRead.model_validate(order) for order, _ in orders]


@router.get("/campaigns/{campaign_id}/coverage")
def campaign_coverage(
    session: SessionDep, actor: Watcher, campaign_id: int, area: str | None = None
) -> CoverageRead:
    """Sampled / required in the round, by child area or (below the last level) by building."""
    view = monitoring.coverage(
        session=session, actor=actor, campaign_id=campaign_id, area_code=area
    )

    def row(item: monitoring.CoverageRow) -> CoverageRowRead:
        return CoverageRowRead(
            label=item.label,
            area_code=item.area_code,
            building_id=item.building_id,
            required=item.required,
            sampled=item.sampled,
            sample_first=item.sample_first,
        )

    return CoverageRead(
        campaign_id=campaign_id,
        path=view.path,
        total=row(view.total),
        rows=[row(item) for item in view.rows],
    )
