"""Place scans: recording batches, bulk import of scan logs, retention, and the per-case
contact query on the ``(venue_id, scanned_at)`` index."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from fangkong.core import audit, clock
from fangkong.core.errors import FangkongError
from fangkong.core.scope import Actor
from fangkong.registry import service as registry_service
from fangkong.tracing.enums import (
    ScanSource,
)
from fangkong.tracing.errors import TracingErrorCode
from fangkong.tracing.models import (
    PlaceScan,
)
from fangkong.tracing.rules import (
    DEFAULT_DWELL,
    Exposure,
    ScanProblem,
    ScanRecord,
    check_scan,
    epoch_seconds,
    retention_cutoff,
    summarise_matches,
)
from fangkong.tracing.rules import Contact as CoPresence

# The most scans one API call may carry: large enough for a venue gateway's micro-batch, small
# enough that one request holds its transaction for milliseconds.
MAX_SCANS_PER_BATCH = 1000
IMPORT_CHUNK = 5000
IMPORT_COLUMNS = ("person_id", "venue_id", "scanned_at")
_COPY_COLUMNS = (
    "person_id",
    "venue_id",
    "scanned_at",
    "source",
    "received_at",
    "recorded_by_user_id",
)


@dataclass
class ScansRecorded:
    """What a batch did: how many records were stored, and every refused record with its code."""

    stored: int = 0
    rejected: list[ScanProblem] = field(default_factory=list)


def _unknown_references(
    session: Session, records: Sequence[tuple[int, ScanRecord]], actor: Actor | None
) -> list[ScanProblem]:
    persons = registry_service.existing_person_ids(
        session=session, ids={record.person_id for _, record in records}
    )
    venues = registry_service.venue_paths(
        session=session, ids={record.venue_id for _, record in records}
    )
    problems = []
    for index, record in records:
        if record.person_id not in persons:
            problems.append(
                ScanProblem(
                    index, TracingErrorCode.SCAN_UNKNOWN_PERSON, "person_id", "no such person"
                )
            )
        elif record.venue_id not in venues:
            problems.append(
                ScanProblem(index, TracingErrorCode.SCAN_UNKNOWN_VENUE, "venue_id", "no such venue")
            )
        elif actor is not None and not actor.covers_path(venues[record.venue_id]):
            # A checkpoint or a venue gateway reports the places of its own area only.
            problems.append(
                ScanProblem(
                    index,
                    TracingErrorCode.SCAN_VENUE_OUTSIDE_JURISDICTION,
                    "venue_id",
                    "this venue is outside your jurisdiction",
                )
            )
    return problems


def _write(session: Session, rows: list[dict[str, Any]]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # COPY is the fastest way into PostgreSQL; it runs on the session's own connection, so
        # it commits or rolls back with the rest of the transaction.
        raw = session.connection().connection.driver_connection
        columns = ", ".join(_COPY_COLUMNS)
        with (
            raw.cursor() as cursor,  # type: ignore[union-attr]
            cursor.copy(f"COPY place_scan ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row([row[name] for name in _COPY_COLUMNS])
        return
    session.execute(insert(PlaceScan), rows)


def record_scans(
    *,
    session: Session,
    scans: Sequence[Mapping[str, Any]],
    actor: Actor | None = None,
    default_source: ScanSource = ScanSource.APP,
    max_batch: int | None = MAX_SCANS_PER_BATCH,
) -> ScansRecorded:
    """Check and store a batch of scans; the caller commits.

    Good records are stored and bad ones reported, each with its position and code: malformed,
    a naive time, a time in the future beyond the clock-skew allowance, an unknown person or
    venue, a venue outside ``actor``'s jurisdiction (when an actor is given; imports from the
    console pass none). An empty batch, or one larger than ``max_batch``, is refused whole.
    """
    if not scans:
        raise FangkongError(TracingErrorCode.SCANS_BATCH_EMPTY, "no scans sent", field="scans")
    if max_batch is not None and len(scans) > max_batch:
        raise FangkongError(
            TracingErrorCode.SCANS_BATCH_TOO_LARGE,
            f"at most {max_batch} scans per batch",
            field="scans",
            status=413,
        )
    now = clock.now()
    result = ScansRecorded()
    checked: list[tuple[int, ScanRecord]] = []
    for index, raw in enumerate(scans):
        outcome = (
            check_scan(raw, index=index, now=now, default_source=default_source)
            if isinstance(raw, Mapping)
            else ScanProblem(index, TracingErrorCode.SCAN_MALFORMED, None, "a scan is an object")
        )
        if isinstance(outcome, ScanProblem):
            result.rejected.append(outcome)
        else:
            checked.append((index, outcome))
    unknown = _unknown_references(session, checked, actor)
    refused = {problem.index for problem in unknown}
    result.rejected = sorted(result.rejected + unknown, key=lambda problem: problem.index)
    rows = [
        {
            "person_id": record.person_id,
            "venue_id": record.venue_id,
            "scanned_at": record.scanned_at,
            "source": str(record.source),
            "received_at": now,
            "recorded_by_user_id": actor.user_id if actor else None,
        }
        for index, record in checked
        if index not in refused
    ]
    if rows:
        _write(session, rows)
    result.stored = len(rows)
    return result


def _csv_rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in IMPORT_COLUMNS if name not in (reader.fieldnames or [])]
        if missing:
            raise FangkongError(
                TracingErrorCode.IMPORT_COLUMNS_MISSING,
                f"the file lacks the columns {', '.join(missing)}",
                field="file",
            )
        yield from reader


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    missing = [name for name in IMPORT_COLUMNS if name not in parquet.schema_arrow.names]
    if missing:
        raise FangkongError(
            TracingErrorCode.IMPORT_COLUMNS_MISSING,
            f"the file lacks the columns {', '.join(missing)}",
            field="file",
        )
    for batch in parquet.iter_batches(batch_size=IMPORT_CHUNK):
        yield from batch.to_pylist()


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def import_scans(*, session: Session, path: Path, actor: Actor | None) -> ScansRecorded:
    """Load a venue's or partner's scan log (``.csv`` or ``.parquet``; columns ``person_id``,
    ``venue_id``, ``scanned_at`` and optionally ``source``, default ``import``).

    Every good record is stored, every bad one reported with its row number (0-based, header
    excluded). The caller commits; one audit event records the import.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(path)
    elif suffix == ".parquet":
        rows = _parquet_rows(path)
    else:
        raise FangkongError(
            TracingErrorCode.IMPORT_FORMAT_UNKNOWN,
            "scan logs are imported from .csv or .parquet files",
            field="file",
        )
    total = ScansRecorded()
    offset = 0
    for chunk in _chunks(rows, IMPORT_CHUNK):
        part = record_scans(
            session=session,
            scans=chunk,
            actor=actor,
            default_source=ScanSource.IMPORT,
            max_batch=None,
        )
        total.stored += part.stored
        total.rejected.extend(
            ScanProblem(p.index + offset, p.code, p.field, p.message) for p in part.rejected
        )
        offset += len(chunk)
    audit.record(
        session=session,
        actor=actor,
        action="tracing.scans_imported",
        subject_type="scan_log",
        subject_id=path.name,
        after={"stored": total.stored, "rejected": len(total.rejected)},
        rule_ref=None if actor else "tracing.import",
    )
    return total


def purge_expired_scans(
    *, session: Session, retention_days: int, batch_size: int = 10_000, actor: Actor | None = None
) -> int:
    """Delete scans older than ``retention_days`` (the rule pack's retention), ``batch_size``
    rows per transaction so a large purge never holds a long lock. Commits after each batch
    and returns how many rows went."""
    if retention_days < 1 or batch_size < 1:
        raise FangkongError(
            TracingErrorCode.RETENTION_INVALID,
            "retention and batch size must be at least 1",
            field="retention_days",
        )
    cutoff = retention_cutoff(now=clock.now(), days=retention_days)
    deleted = 0
    while True:
        ids = list(
            session.scalars(
                select(PlaceScan.id).where(PlaceScan.scanned_at < cutoff).limit(batch_size)
            )
        )
        if not ids:
            break
        session.execute(delete(PlaceScan).where(PlaceScan.id.in_(ids)))
        deleted += len(ids)
        session.commit()
    audit.record(
        session=session,
        actor=actor,
        action="tracing.scans_purged",
        subject_type="place_scan",
        subject_id="retention",
        after={"deleted": deleted, "before": cutoff.isoformat(), "days": retention_days},
        rule_ref=f"retention:{retention_days}d",
    )
    session.commit()
    return deleted


def contacts_for_exposures(
    *,
    session: Session,
    exposures: Sequence[Exposure],
    dwell_seconds: int = int(DEFAULT_DWELL.total_seconds()),
) -> list[CoPresence]:
    """The contacts of one case (or a few) straight from the ``(venue_id, scanned_at)`` index:
    one index range per exposure window, so the cost follows the number of windows, not the
    size of the table. For recent data in the operational database; the same answer as
    :func:`fangkong.tracing.copresence.contacts_expr` on the same scans."""
    matches: list[tuple[int, int, int, int, int, int]] = []
    for exposure in exposures:
        if exposure.end < exposure.start:
            raise FangkongError(
                TracingErrorCode.EXPOSURE_INVALID,
                "an exposure window cannot end before it starts",
                field="end",
            )
        start, end = epoch_seconds(exposure.start), epoch_seconds(exposure.end)
        low = datetime.fromtimestamp(start - dwell_seconds, exposure.start.tzinfo)
        high = datetime.fromtimestamp(end + dwell_seconds, exposure.start.tzinfo)
        stmt = select(PlaceScan.person_id, PlaceScan.scanned_at).where(
            PlaceScan.venue_id == exposure.venue_id,
            PlaceScan.scanned_at >= low,
            PlaceScan.scanned_at <= high,
            PlaceScan.person_id != exposure.case_person_id,
        )
        for person_id, scanned_at in session.execute(stmt):
            matches.append(
                (
                    person_id,
                    exposure.case_person_id,
                    exposure.venue_id,
                    epoch_seconds(scanned_at),
                    start,
                    end,
                )
            )
    return summarise_matches(matches, dwell_seconds=dwell_seconds)
