"""Testing API: labs upload result files; samplers open tubes and send scans; positive-tube
alerts, re-sample orders and coverage."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, Response, UploadFile, status
from sqlalchemy.orm import sessionmaker

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Permission
from fangkong.config import Settings
from fangkong.core import clock
from fangkong.core.errors import AuthenticationFailed, CoreErrorCode, PermissionDenied
from fangkong.core.scope import Actor
from fangkong.db.session import create_db_engine
from fangkong.healthcode import jobs as healthcode_jobs
from fangkong.testing import actions, applier, monitoring, sampling, scan_writer, service
from fangkong.testing.enums import ResultFormat
from fangkong.testing.schemas import (
    AlertRead,
    CoverageRead,
    CoverageRowRead,
    IntakeOutcomeRead,
    ResampleOrderRead,
    ResultUploadRead,
    ScanCreate,
    ScanRead,
    TubeOpen,
    TubeRead,
)
from fangkong.web.deps import (
    CSRF_HEADER,
    SESSION_COOKIE,
    SessionDep,
    SettingsDep,
    requires,
)

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
    started = clock.now()
    upload, is_new = actions.ingest_result_file(
        session=session,
        actor=actor,
        result_format=result_format,
        filename=file.filename or "upload",
        content=file.file.read(),
    )
    session.commit()
    if is_new:
        healthcode_jobs.recompute_changed(
            session=session, since=started, now=clock.now(), limit=healthcode_jobs.INLINE_LIMIT
        )
    if not is_new:
        response.status_code = status.HTTP_200_OK
    return ResultUploadRead.model_validate(upload)


# --- Sampling: tubes and scans ----------------------------------------------------------------

sampling_router = APIRouter(prefix="/api/v1/sampling", tags=["sampling"])

Sampler = Annotated[Actor, Depends(requires(Permission.TESTING_SAMPLE))]


def scanning_sampler(request: Request, session: SessionDep) -> Actor:
    """The caller of the scan endpoint, authenticated like ``current_actor`` (bearer token, or
    session cookie plus the CSRF header) but in a worker thread, and with the request's
    database connection given back at once: a scan then holds no connection while it waits
    for the writer, and a busy pool never stalls the event loop."""
    try:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            user = accounts_service.resolve_api_token(session=session, token=token.strip())
        else:
            cookie = request.cookies.get(SESSION_COOKIE)
            if not cookie:
                raise AuthenticationFailed(CoreErrorCode.AUTH_REQUIRED, "please log in")
            user, login = accounts_service.resolve_session(session=session, token=cookie)
            if request.headers.get(CSRF_HEADER) != login.csrf_token:
                raise PermissionDenied(
                    CoreErrorCode.AUTH_CSRF_FAILED,
                    "the page's security token is missing or wrong; reload the page",
                )
        actor = accounts_service.actor_for(user)
    finally:
        session.close()
    actor.require(Permission.TESTING_SAMPLE)
    request.state.actor = actor
    return actor


ScanningSampler = Annotated[Actor, Depends(scanning_sampler)]
_WRITER_LOCK = threading.Lock()


def get_scan_writer(request: Request) -> scan_writer.ScanWriter:
    """The application's scan writer (one per process, created on first use), writing to the
    database the application was created for."""
    writer: scan_writer.ScanWriter | None = getattr(request.app.state, "scan_writer", None)
    if writer is None:
        with _WRITER_LOCK:
            writer = getattr(request.app.state, "scan_writer", None)
            if writer is None:
                settings: Settings = request.app.state.settings
                # Its own engine: request sessions must never hold the connections the writer
                # needs to store what they are waiting for.
                engine = create_db_engine(
                    settings.database_url,
                    pool_size=2 if settings.sampling_group_commit else 20,
                    max_overflow=0,
                )
                writer = scan_writer.ScanWriter(
                    sessionmaker(bind=engine, expire_on_commit=False),
                    group_commit=settings.sampling_group_commit,
                    window=settings.sampling_batch_window_ms / 1000,
                )
                request.app.state.scan_writer = writer
    return writer


ScanWriterDep = Annotated[scan_writer.ScanWriter, Depends(get_scan_writer)]


@sampling_router.post("/tubes", status_code=status.HTTP_201_CREATED)
def open_sampling_tube(session: SessionDep, actor: Sampler, body: TubeOpen) -> TubeRead:
    """Open a tube at a sampling site for a round; the pool size defaults to the pack's size for
    the site's risk class, within the round's cap."""
    tube = sampling.open_round_tube(
        session=session,
        actor=actor,
        barcode=body.barcode,
        campaign_id=body.campaign_id,
        site_code=body.site,
        pool_size=body.pool_size,
        isolation_site=body.isolation_site,
    )
    session.commit()
    return TubeRead.model_validate(tube)


@sampling_router.post("/tubes/{barcode}/close")
def close_sampling_tube(session: SessionDep, actor: Sampler, barcode: str) -> TubeRead:
    """Seal a tube before it is full (the last people of a queue, the end of a shift)."""
    tube = service.seal_tube(session=session, actor=actor, barcode=barcode)
    session.commit()
    return TubeRead.model_validate(tube)


@sampling_router.post("/scans")
async def record_scan(
    actor: ScanningSampler,
    body: ScanCreate,
    settings: SettingsDep,
    writer: ScanWriterDep,
) -> ScanRead:
    """Bind the person behind a code (or a typed ID number) to a tube.

    Answered only after the scan is committed. Refusals: ``code_forged`` and the other code
    checks, ``tube_not_found``, ``tube_not_open``, ``tube_full``, ``person_not_found``,
    ``person_already_in_tube``, ``scan_input_invalid``; ``scan_not_stored`` (503) when the
    database could not be written (send the same ``client_scan_id`` again). Accepted scans may
    carry flags: ``repeat_in_round``, ``outside_round_scope``.
    """
    keys = sampling.registration_keys(settings.code_signing_key)
    scan = sampling.prepare_scan(
        actor=actor,
        tube_barcode=body.tube_barcode,
        code=body.code,
        id_number=body.id_number,
        member_ids=body.member_ids,
        public_keys=keys.public_keys,
        now=clock.now(),
        client_scan_id=body.client_scan_id,
        scanned_at=body.scanned_at,
    )
    outcome = await writer.store(scan)
    return ScanRead.model_validate(outcome, from_attributes=True)


@sampling_router.get("/intake")
def intake_outcomes(
    session: SessionDep,
    actor: Sampler,
    after_id: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[IntakeOutcomeRead]:
    """The caller's scans sent to ``POST /api/v1/sampling/intake``, newest first, with what the
    applier made of each (``pending``, ``applied`` with flags, ``rejected`` with the reason)."""
    rows = applier.sampler_outcomes(session=session, actor=actor, after_id=after_id, limit=limit)
    return [
        IntakeOutcomeRead(
            id=row.id,
            client_scan_id=row.client_scan_id,
            tube_barcode=row.tube_barcode,
            method=row.method,
            people=len(row.person_ids) or 1,
            received_at=row.received_at,
            outcome=row.outcome or "pending",
            scan_id=row.scan_id,
            flags=list(row.flags or []),
            error_code=row.error_code,
            error_message=row.error_message,
            applied_at=row.applied_at,
            people_masked=names,
        )
        for row, names in rows
    ]


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
