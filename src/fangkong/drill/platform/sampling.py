"""Test rounds, lab results and place-code scans as the drill's platform side stores them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from fangkong.core import audit, clock
from fangkong.core.scope import Actor
from fangkong.drill import speed
from fangkong.registry import bulk as registry_bulk
from fangkong.testing import actions as testing_actions
from fangkong.testing import service as testing_service
from fangkong.testing import summary as testing_summary
from fangkong.testing.enums import LabResult, ResultFormat, TubeStatus
from fangkong.testing.models import Tube, TubeMember, TubeResult
from fangkong.tracing import service as tracing_service
from fangkong.tracing.enums import ScanSource

SCAN_BATCH = 5000
# SQLite page cache of the drill's connection when it stores scans (KiB; the default is 2 MiB).
SQLITE_CACHE_KIB = 512 * 1024
# Rounds of up to this many tubes go through the testing service tube by tube (as samplers'
# phones do); larger ones are written in bulk (``_sample_in_bulk``).
SERVICE_TUBES_MAX = 50
BULK_CHUNK = 5000


@dataclass(frozen=True)
class Sampled:
    """A round's tubes: ``tubes`` maps each barcode to its members (person ids)."""

    campaign_id: int
    tubes: dict[str, list[int]] = field(default_factory=dict)


def record_scans(*, session: Session, scans: Sequence[tuple[int, int, datetime]]) -> int:
    """Store a day's place-code scans ``(person, venue, scanned_at)`` as the venues' gateway
    sends them.

    On PostgreSQL they go through ``tracing.service.record_scans`` (which checks each record and
    writes with COPY). On SQLite, where that path costs about 0.1 ms a scan and a 100,000-person
    drill sends some 40,000 scans a day, they are written in one multi-row insert in the form
    the ``place_scan`` table stores: the twin's scans name only registered people and venues and
    aware times, which is what the per-record checks would establish.

    A 1,000,000-resident city sends some 425,000 scans a day into a table that grows by that
    much every day, and the insert's cost is its three indexes: rows in random order make every
    one of them a random B-tree descent. They are therefore inserted in the order of the
    largest index (person, time), and the connection gets a page cache large enough to keep
    the indexes' hot pages (``SQLITE_CACHE_KIB``)."""
    now = clock.now()
    if registry_bulk.dialect(session) == "postgresql" or not speed.fast():
        stored = 0
        rows = [
            {"person_id": p, "venue_id": v, "scanned_at": at, "source": ScanSource.APP.value}
            for p, v, at in scans
        ]
        for start in range(0, len(rows), SCAN_BATCH):
            stored += tracing_service.record_scans(
                session=session, scans=rows[start : start + SCAN_BATCH], max_batch=None
            ).stored
        return stored
    received = registry_bulk.timestamp(session=session, moment=now)
    moments = {at for _, _, at in scans}
    stamp = {at: registry_bulk.timestamp(session=session, moment=at) for at in moments}
    values = sorted((p, v, stamp[at], ScanSource.APP.value, received, None) for p, v, at in scans)
    raw: Any = session.connection().connection.dbapi_connection
    cursor = raw.cursor()
    try:
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cursor.executemany(
            "INSERT INTO place_scan (person_id, venue_id, scanned_at, source, received_at, "
            "recorded_by_user_id) VALUES (?, ?, ?, ?, ?, ?)",
            values,
        )
    finally:
        cursor.close()
    return len(values)


def sample_round(
    *,
    session: Session,
    actor: Actor,
    name: str,
    area_code: str,
    groups: Sequence[Sequence[int]],
    paths: Mapping[int, str],
    pool_size: int,
    rule_ref: str,
    duration: timedelta,
) -> Sampled:
    """Open a round over ``area_code`` and sample ``groups`` of people (e.g. one per risk area,
    in household order) into tubes of at most ``pool_size``, sealing each tube; ``paths`` gives
    each person's area path (the sampling site's area). Barcodes are ``R<round>-<n>``."""
    now = clock.now()
    campaign = testing_service.create_campaign(
        session=session,
        actor=actor,
        name=name,
        area_code=area_code,
        starts_at=now,
        ends_at=now + duration,
        max_pool_size=pool_size,
        rule_ref=rule_ref,
    )
    pools = [
        list(group[start : start + pool_size])
        for group in groups
        for start in range(0, len(group), pool_size)
    ]
    sampled = Sampled(campaign.id)
    if len(pools) <= SERVICE_TUBES_MAX or not speed.fast():
        for members in pools:
            barcode = f"R{campaign.id}-{len(sampled.tubes) + 1}"
            testing_service.open_tube(
                session=session,
                actor=actor,
                barcode=barcode,
                area_path=paths[members[0]],
                pool_size=pool_size,
                campaign_id=campaign.id,
            )
            testing_service.add_members(
                session=session, actor=actor, barcode=barcode, person_ids=members
            )
            testing_service.seal_tube(session=session, actor=actor, barcode=barcode)
            sampled.tubes[barcode] = members
    else:
        _sample_in_bulk(session, actor, campaign.id, pools, paths, pool_size, sampled)
    testing_service.close_campaign(session=session, actor=actor, campaign_id=campaign.id)
    return sampled


def _sample_in_bulk(
    session: Session,
    actor: Actor,
    campaign_id: int,
    pools: Sequence[Sequence[int]],
    paths: Mapping[int, str],
    pool_size: int,
    sampled: Sampled,
) -> None:
    """A mass round's tubes in a few multi-row INSERTs, with one audit event for the round.

    The testing domain has no bulk sampling action yet; this writes the same rows its
    ``open_tube``/``add_members``/``seal_tube`` would (tubes sealed, members bound at the same
    moment), and is the place to call that action when it exists."""
    now = clock.now()
    for members in pools:
        sampled.tubes[f"R{campaign_id}-{len(sampled.tubes) + 1}"] = list(members)
    tube_rows = [
        {
            "barcode": barcode,
            "campaign_id": campaign_id,
            "area_path": paths[members[0]],
            "pool_size": pool_size,
            "member_count": len(members),
            "status": TubeStatus.SEALED.value,
            "opened_by_user_id": actor.user_id,
            "opened_at": now,
            "sealed_at": now,
        }
        for barcode, members in sampled.tubes.items()
    ]
    for start in range(0, len(tube_rows), BULK_CHUNK):
        session.execute(insert(Tube), tube_rows[start : start + BULK_CHUNK])
    tube_ids: dict[str, int] = {
        barcode: tube_id
        for barcode, tube_id in session.execute(
            select(Tube.barcode, Tube.id).where(Tube.campaign_id == campaign_id)
        )
    }
    member_rows = [
        {"tube_id": tube_ids[barcode], "person_id": person, "sampled_at": now}
        for barcode, members in sampled.tubes.items()
        for person in members
    ]
    for start in range(0, len(member_rows), BULK_CHUNK):
        session.execute(insert(TubeMember), member_rows[start : start + BULK_CHUNK])
    # The nightly recompute reads attendance from the kept summaries: without this, everyone
    # sampled today would count as absent until their results arrive.
    testing_summary.refresh(
        session=session,
        people=select(TubeMember.person_id)
        .join(Tube, Tube.id == TubeMember.tube_id)
        .where(Tube.campaign_id == campaign_id),
    )
    audit.record(
        session=session,
        actor=actor,
        action="testing.round_sampled",
        subject_type="test_campaign",
        subject_id=campaign_id,
        after={"tubes": len(tube_rows), "samples": len(member_rows), "pool_size": pool_size},
        occurred_at=now,
    )


def ingest_results(*, session: Session, filename: str, content: bytes) -> str:
    """Upload a lab's result file through the lab interface; returns the upload's summary."""
    upload, _ = testing_actions.ingest_result_file(
        session=session,
        actor=None,
        result_format=ResultFormat.CSV,
        filename=filename,
        content=content,
    )
    return upload.summary or ""


def _detected_since(session: Session, since: datetime, single: bool) -> list[tuple[int, datetime]]:
    stmt = (
        select(TubeMember.person_id, TubeResult.collected_at)
        .join(Tube, Tube.id == TubeResult.tube_id)
        .join(TubeMember, TubeMember.tube_id == Tube.id)
        .where(TubeResult.result == LabResult.DETECTED.value, TubeResult.stored_at > since)
        .where((Tube.pool_size == 1) if single else (Tube.pool_size > 1))
        .order_by(TubeMember.person_id, TubeResult.collected_at)
    )
    return [(person, at) for person, at in session.execute(stmt)]


def positive_pool_members(*, session: Session, since: datetime) -> list[int]:
    """Members of pooled tubes found positive after ``since``: to be re-sampled one by one."""
    return sorted({person for person, _ in _detected_since(session, since, single=False)})
