"""The sampling scan intake on the fast lane: ``POST /api/v1/sampling/intake``.

The handler checks everything that needs no database (the body's shape, the sampler's
permission from the cached actor, the registration code's Ed25519 signature and dates, an ID
number's blind index keys), appends the scan to ``sampling_intake`` through the group-commit
writer, and answers 202 once the row is committed: the scan is then durably stored and will be
applied (or rejected, with a reason the sampler can read back) by the applier. A forged or
expired code is refused here, before anything is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from fangkong.accounts.enums import Permission
from fangkong.accounts.token_cache import ActorCache
from fangkong.config import Settings
from fangkong.core import clock
from fangkong.db.session import create_db_engine
from fangkong.testing import applier, sampling
from fangkong.testing.intake import IntakeRow, IntakeWriter
from fangkong.web.fastlane import (
    FastLane,
    FastRequest,
    FastResponse,
    fast_actor,
    json_response,
    request_invalid,
)

INTAKE_PATH = "/api/v1/sampling/intake"
log = logging.getLogger(__name__)

RECENT_TUBES = 10_000
_TEXT_FIELDS = {"tube_barcode": 40, "code": 400, "id_number": 40, "client_scan_id": 64}


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > _TEXT_FIELDS[name]:
        raise request_invalid(
            name, f"{name} must be text of at most {_TEXT_FIELDS[name]} characters"
        )
    return value


def _members(body: dict[str, Any]) -> list[int] | None:
    value = body.get("member_ids")
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) > 16
        or not all(isinstance(item, int) and not isinstance(item, bool) for item in value)
    ):
        raise request_invalid("member_ids", "member_ids must be a list of at most 16 person ids")
    return value


def _moment(body: dict[str, Any]) -> datetime | None:
    value = body.get("scanned_at")
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise request_invalid("scanned_at", "scanned_at must be an ISO 8601 time with a zone")
    return moment


class ScanIntake:
    """The intake's handler, its writer and (optionally) the server's background applier."""

    def __init__(self, settings: Settings, actors: ActorCache) -> None:
        self.settings = settings
        self.actors = actors
        self.writer = IntakeWriter(
            settings.database_url, group_commit=settings.sampling_group_commit
        )
        self.keys = sampling.registration_keys(settings.code_signing_key)
        # Provisional, this process only: how many people it took in for each recent tube (the
        # oldest tubes are forgotten, so a server running for weeks does not grow without end).
        self.received: OrderedDict[str, int] = OrderedDict()
        self._applier_task: asyncio.Task[None] | None = None

    async def receive(self, request: FastRequest) -> FastResponse:
        actor = await fast_actor(request, self.actors)
        actor.require(Permission.TESTING_SAMPLE)
        body = request.json()
        if not isinstance(body, dict):
            raise request_invalid("", "the body must be a JSON object")
        barcode = _text(body, "tube_barcode")
        if barcode is None or not barcode.strip():
            raise request_invalid("tube_barcode", "tube_barcode is required")
        client_scan_id = _text(body, "client_scan_id")
        now = clock.now()
        scan = sampling.prepare_scan(
            actor=actor,
            tube_barcode=barcode,
            code=_text(body, "code"),
            id_number=_text(body, "id_number"),
            member_ids=_members(body),
            public_keys=self.keys.public_keys,
            now=now,
            scanned_at=_moment(body),
        )
        if not client_scan_id:
            # Rows are matched to their answers by (sampler, client id): one is always needed.
            client_scan_id = f"srv-{time.time_ns():x}-{id(request):x}"
        row = IntakeRow(
            user_id=actor.user_id,
            client_scan_id=client_scan_id,
            tube_barcode=scan.tube_barcode,
            method=scan.method.value,
            person_ids=scan.person_ids,
            id_lookup_keys=scan.id_lookup_keys,
            scanned_at=scan.scanned_at,
            received_at=now,
        )
        self._start_applier()
        stored = await self.writer.append(row)
        received = self.received.pop(scan.tube_barcode, 0)
        if not stored.replayed:
            received += max(len(scan.person_ids), 1)
        self.received[scan.tube_barcode] = received
        if len(self.received) > RECENT_TUBES:
            self.received.popitem(last=False)
        return json_response(
            {
                "intake_id": stored.intake_id,
                "status": "stored",
                "replayed": stored.replayed,
                "client_scan_id": client_scan_id,
                "tube_barcode": scan.tube_barcode,
                "people": len(scan.person_ids) or 1,
                "provisional": {
                    "received_for_tube": received,
                    "note": "counted by this server since it started, before the checks",
                },
            },
            status=202,
        )

    async def close(self) -> None:
        """Stop the background applier (a pass in progress finishes or rolls back) and the
        writer (the scans it holds are committed and answered first)."""
        task, self._applier_task = self._applier_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.writer.drain()
        await asyncio.to_thread(self.writer.close)

    def _start_applier(self) -> None:
        if not self.settings.sampling_applier_in_server or self._applier_task is not None:
            return
        engine = create_db_engine(self.settings.database_url, pool_size=1, max_overflow=1)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        self._applier_task = asyncio.get_running_loop().create_task(
            run_applier(factory, self.writer), name="fangkong-scan-applier"
        )


BUSY_BATCH = 100  # rows a pass while scans are arriving …
BUSY_PAUSE = 0.25  # … with this pause after it: the ingest keeps the CPU
IDLE_BATCH = 1000
IDLE_PAUSE = 0.5


async def run_applier(factory: sessionmaker[Session], writer: IntakeWriter) -> None:
    """The server's background applier: small passes with pauses while the intake is busy, so
    it never starves the ingest; whole batches back to back once it is quiet."""
    seen = writer.rows
    while True:
        busy = writer.pending > 0 or writer.rows - seen > 0
        seen = writer.rows
        try:
            report = await asyncio.to_thread(
                applier.apply_pending,
                session_factory=factory,
                limit=BUSY_BATCH if busy else IDLE_BATCH,
            )
        except Exception:  # the task must outlive a failing database; rows wait meanwhile
            log.exception("applying sampling intake failed; retrying")
            await asyncio.sleep(1.0)
            continue
        if report.rows == 0:
            await asyncio.sleep(IDLE_PAUSE)
        elif busy:
            await asyncio.sleep(BUSY_PAUSE)


def install(lane: FastLane, *, settings: Settings, actors: ActorCache) -> ScanIntake:
    intake = ScanIntake(settings, actors)
    lane.route("POST", INTAKE_PATH, intake.receive)
    lane.on_shutdown.append(intake.close)
    return intake
