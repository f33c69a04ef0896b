"""Place scans (recording batches, bulk import, retention, the per-case query on the index),
and cases, investigations with their trajectories, and contacts."""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fangkong.core import audit, clock
from fangkong.core.errors import Conflict, FangkongError, NotFound, PermissionDenied
from fangkong.core.scope import Actor, scope_to_jurisdiction, within_path
from fangkong.db.transitions import transition
from fangkong.registry import service as registry_service
from fangkong.registry.models import Person
from fangkong.rulepacks.catalog import Catalog, load_catalog
from fangkong.testing.enums import LabResult
from fangkong.testing.models import TubeMember, TubeResult
from fangkong.tracing import events, linelist
from fangkong.tracing.enums import (
    CaseKind,
    CaseStatus,
    ContactBasis,
    ContactCategory,
    ContactStatus,
    DetectionRoute,
    EntrySource,
    InvestigationStatus,
    ScanSource,
    Severity,
    TrajectoryKind,
)
from fangkong.tracing.errors import TracingErrorCode
from fangkong.tracing.models import (
    Case,
    Contact,
    ContactEvidence,
    Investigation,
    PlaceScan,
    TrajectoryEntry,
    TransmissionLink,
)
from fangkong.tracing.rules import (
    BASIS_STRENGTH,
    CLOCK_SKEW_ALLOWANCE,
    DEFAULT_DWELL,
    Exposure,
    ScanProblem,
    ScanRecord,
    can_move,
    can_reclassify,
    check_scan,
    epoch_seconds,
    link_confidence,
    lookback_window,
    retention_cutoff,
    summarise_matches,
)
from fangkong.tracing.rules import Contact as CoPresence
from fangkong.tracing.section import TRACING_SECTION, TracingSection

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


# --------------------------------------------------------------------------------------------
# Cases, investigations and contacts


DEFAULT_SERIES = "cn"


@lru_cache(maxsize=1)
def tracing_catalog() -> Catalog:
    return load_catalog(schemas=[TRACING_SECTION])


def section_for(*, pack_id: str | None, version: int | None, now: datetime) -> TracingSection:
    """The tracing section of a pack, or of the national pack in force at ``now``."""
    packs = tracing_catalog()
    pack = (
        packs.in_force(series=DEFAULT_SERIES, at=now)
        if pack_id is None
        else packs.get(pack_id, version)
    )
    return pack.section(TRACING_SECTION)


def _aware(value: datetime | None, field_name: str) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise FangkongError(
            TracingErrorCode.CASE_TIME_NAIVE, f"{field_name} needs a time zone", field=field_name
        )
    return value


def active_case_of(*, session: Session, person_id: int) -> Case | None:
    return session.scalars(select(Case).where(Case.active_person_id == person_id)).one_or_none()


def create_case(
    *,
    session: Session,
    actor: Actor | None,
    person_id: int,
    kind: CaseKind,
    detection_route: DetectionRoute,
    reported_at: datetime | None = None,
    onset_date: date | None = None,
    sampled_at: datetime | None = None,
    severity: Severity | None = None,
    source_ref: str | None = None,
    lab_result_id: int | None = None,
    note: str | None = None,
    pack_id: str | None = None,
    rule_ref: str | None = None,
) -> Case:
    """Open a case and its investigation; the caller commits.

    Refused: an unknown person (or one outside ``actor``'s jurisdiction), a naive time, a date
    in the future, a severity on an asymptomatic infection, and a person who already has a live
    case (``case.person_already_case``). ``actor`` is None when the platform opens the case
    from a positive result; ``rule_ref`` then names why.
    """
    now = clock.now()
    person = registry_service.get_person(session=session, person_id=person_id)
    if person is None or (actor is not None and not _covers(actor, person.area_path)):
        raise NotFound(
            TracingErrorCode.CASE_UNKNOWN_PERSON, "no such person in your area", field="person_id"
        )
    reported = _aware(reported_at, "reported_at") or now
    sampled = _aware(sampled_at, "sampled_at")
    for field_name, moment in (("reported_at", reported), ("sampled_at", sampled)):
        if moment is not None and moment > now + CLOCK_SKEW_ALLOWANCE:
            raise FangkongError(
                TracingErrorCode.CASE_DATE_IN_FUTURE,
                f"{field_name} is in the future",
                field=field_name,
            )
    if onset_date is not None and onset_date > now.date():
        raise FangkongError(
            TracingErrorCode.CASE_DATE_IN_FUTURE, "onset_date is in the future", field="onset_date"
        )
    if severity is not None and kind is CaseKind.ASYMPTOMATIC:
        raise FangkongError(
            TracingErrorCode.CASE_SEVERITY_INVALID,
            "an asymptomatic infection has no clinical severity",
            field="severity",
        )
    existing = active_case_of(session=session, person_id=person_id)
    if existing is not None:
        raise Conflict(
            TracingErrorCode.CASE_PERSON_ALREADY_CASE,
            f"this person is already case {existing.id}",
            field="person_id",
        )
    case = Case(
        person_id=person_id,
        active_person_id=person_id,
        area_path=person.area_path,
        kind=str(kind),
        status=str(CaseStatus.REPORTED),
        severity=str(severity) if severity else None,
        detection_route=str(detection_route),
        onset_date=onset_date,
        sampled_at=sampled.astimezone(UTC) if sampled else None,
        reported_at=reported.astimezone(UTC),
        source_ref=source_ref,
        lab_result_id=lab_result_id,
        note=note,
        created_by_user_id=actor.user_id if actor else None,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(case)
            session.flush()
    except IntegrityError:
        # Another request opened a case for the same person between our check and our insert.
        raise Conflict(
            TracingErrorCode.CASE_PERSON_ALREADY_CASE,
            "this person is already a case",
            field="person_id",
        ) from None
    events.recorded(
        session=session,
        actor=actor,
        action="tracing.case.created",
        subject_type="tracing_case",
        subject_id=case.id,
        after=events.case_snapshot(case),
        rule_ref=rule_ref,
    )
    section = section_for(pack_id=pack_id, version=None, now=now)
    open_investigation(session=session, actor=actor, case=case, section=section, person=person)
    link_to_infectors(session=session, actor=actor, case=case)
    return case


def link_to_infectors(
    *, session: Session, actor: Actor | None, case: Case
) -> list[TransmissionLink]:
    """When a contact of earlier cases becomes a case, link each of those cases to it, with the
    strongest evidence of the contact as the link's basis."""
    contacts = list(
        session.scalars(
            select(Contact).where(
                Contact.person_id == case.person_id,
                Contact.case_id != case.id,
                Contact.already_case_id.is_(None),
                # a contact withdrawn after the trajectory was corrected is no evidence
                or_(Contact.closed_reason.is_(None), Contact.closed_reason != "withdrawn"),
            )
        )
    )
    if not contacts:
        return []
    evidence = evidence_of(session=session, contact_ids=[contact.id for contact in contacts])
    links = []
    seen: set[int] = set()
    for contact in contacts:
        if contact.case_id in seen:
            continue
        seen.add(contact.case_id)
        rows = evidence[contact.id]
        best = max(
            rows,
            key=lambda row: (BASIS_STRENGTH[ContactBasis(row.basis)], row.minutes or 0),
            default=None,
        )
        basis = ContactBasis(best.basis) if best else ContactBasis.VENUE
        link = TransmissionLink(
            infector_case_id=contact.case_id,
            infectee_case_id=case.id,
            contact_id=contact.id,
            area_path=case.area_path,
            basis=str(basis),
            confidence=link_confidence(basis, best.minutes if best else None),
            exposure_at=contact.last_exposure_at,
            created_at=clock.now(),
        )
        session.add(link)
        session.flush()
        events.recorded(
            session=session,
            actor=actor,
            action="tracing.link.created",
            subject_type="tracing_case",
            subject_id=case.id,
            after={
                "infector_case_id": link.infector_case_id,
                "basis": link.basis,
                "confidence": link.confidence,
            },
            rule_ref=contact.rule_ref,
        )
        links.append(link)
    return links


def _covers(actor: Actor, path: str) -> bool:
    return actor.covers_path(path)


def get_case_or_raise(*, session: Session, actor: Actor, case_id: int) -> Case:
    """A case inside ``actor``'s jurisdiction; outside it, the case does not exist for them."""
    stmt = scope_to_jurisdiction(
        select(Case).where(Case.id == case_id), actor=actor, path_column=Case.area_path
    )
    case = session.scalars(stmt).one_or_none()
    if case is None:
        raise NotFound(TracingErrorCode.CASE_NOT_FOUND, "no such case", field="case_id")
    return case


def list_cases(
    *,
    session: Session,
    actor: Actor,
    status: CaseStatus | None = None,
    kind: CaseKind | None = None,
    area_path: str | None = None,
    limit: int = 500,
) -> list[Case]:
    """Cases in ``actor``'s jurisdiction, newest first; ``area_path`` narrows to a district."""
    stmt = scope_to_jurisdiction(select(Case), actor=actor, path_column=Case.area_path)
    if status is not None:
        stmt = stmt.where(Case.status == str(status))
    if kind is not None:
        stmt = stmt.where(Case.kind == str(kind))
    if area_path is not None:
        stmt = stmt.where(within_path(Case.area_path, area_path))
    return list(
        session.scalars(stmt.order_by(Case.reported_at.desc(), Case.id.desc()).limit(limit))
    )


def advance_status(
    *,
    session: Session,
    actor: Actor,
    case_id: int,
    to: CaseStatus,
    reason: str | None = None,
) -> Case:
    """Move a case along its course (reported → transferred → hospital or shelter hospital →
    discharged; died; void). An impossible move is refused with ``case.status_transition``; a
    move raced by someone else with ``case.conflict``."""
    case = get_case_or_raise(session=session, actor=actor, case_id=case_id)
    current = CaseStatus(case.status)
    if not can_move(current, to):
        raise Conflict(
            TracingErrorCode.CASE_STATUS_TRANSITION,
            f"a case cannot go from {current} to {to}",
            field="status",
        )
    before = events.case_snapshot(case)
    values: dict[str, Any] = {"status": str(to)}
    if to is CaseStatus.VOID:
        values["active_person_id"] = None
    if to in (CaseStatus.DISCHARGED, CaseStatus.DIED):
        values["outcome_at"] = clock.now()
    transition(
        session,
        case,
        expect={"status": str(current)},
        conflict=Conflict(TracingErrorCode.CASE_CONFLICT, "the case changed meanwhile"),
        **values,
    )
    events.recorded(
        session=session,
        actor=actor,
        action="tracing.case.status_changed",
        subject_type="tracing_case",
        subject_id=case.id,
        before=before,
        after=events.case_snapshot(case),
        reason=reason,
    )
    return case


def reclassify(
    *,
    session: Session,
    actor: Actor,
    case_id: int,
    severity: Severity | None = None,
    reason: str | None = None,
) -> Case:
    """An asymptomatic infection becomes a confirmed case (订正); the moment is kept in
    ``reclassified_at`` because bulletins count these separately."""
    case = get_case_or_raise(session=session, actor=actor, case_id=case_id)
    if not can_reclassify(CaseKind(case.kind), CaseStatus(case.status)):
        raise Conflict(
            TracingErrorCode.CASE_RECLASSIFY_INVALID,
            "only a live asymptomatic infection can be reclassified as confirmed",
            field="kind",
        )
    before = events.case_snapshot(case)
    transition(
        session,
        case,
        expect={"kind": str(CaseKind.ASYMPTOMATIC), "status": case.status},
        conflict=Conflict(TracingErrorCode.CASE_CONFLICT, "the case changed meanwhile"),
        kind=str(CaseKind.CONFIRMED),
        severity=str(severity) if severity else None,
        reclassified_at=clock.now(),
    )
    events.recorded(
        session=session,
        actor=actor,
        action="tracing.case.reclassified",
        subject_type="tracing_case",
        subject_id=case.id,
        before=before,
        after=events.case_snapshot(case),
        reason=reason,
    )
    return case


def open_investigation(
    *,
    session: Session,
    actor: Actor | None,
    case: Case,
    section: TracingSection,
    person: Person,
) -> Investigation:
    """The investigation every new case gets: its window and deadline from the pack, and the
    trajectory pulled from scans, home and workplace."""
    now = clock.now()
    serial = section.serial_from_last_negative and case.detection_route in SERIAL_ROUTES
    start, end = lookback_window(
        onset_date=case.onset_date,
        sampled_at=case.sampled_at,
        reported_at=case.reported_at,
        lookback=section.lookback,
        last_negative_at=last_negative_sample(
            session=session,
            person_id=case.person_id,
            before=case.sampled_at or case.reported_at,
        )
        if serial
        else None,
    )
    investigation = Investigation(
        case_id=case.id,
        area_path=case.area_path,
        status=str(InvestigationStatus.DRAFT),
        window_start=start,
        window_end=end,
        due_at=now + section.investigation_due_within,
        pack_id=section.pack_id,
        pack_version=section.pack_version,
        opened_at=now,
        updated_at=now,
    )
    session.add(investigation)
    session.flush()
    events.recorded(
        session=session,
        actor=actor,
        action="tracing.investigation.opened",
        subject_type="tracing_investigation",
        subject_id=investigation.id,
        after=events.investigation_snapshot(investigation),
        rule_ref=f"{section.rule_ref(section.investigation_rule_id)}; "
        f"{section.rule_ref(section.lookback_rule_id)}",
    )
    pull_trajectory(session=session, investigation=investigation, person=person)
    return investigation


# Routes of people under serial screening (rounds, routine testing of key posts).
SERIAL_ROUTES = frozenset({str(DetectionRoute.MASS_ROUND), str(DetectionRoute.KEY_WORKER_ROUTINE)})


def last_negative_sample(*, session: Session, person_id: int, before: datetime) -> datetime | None:
    """When the person last gave a sample that tested negative (alone or in a pool), before
    ``before``; None if never."""
    moment: datetime | None = session.scalar(
        select(func.max(TubeMember.sampled_at))
        .join(TubeResult, TubeResult.tube_id == TubeMember.tube_id)
        .where(
            TubeMember.person_id == person_id,
            TubeResult.result == str(LabResult.NOT_DETECTED),
            TubeMember.sampled_at < before,
        )
    )
    return moment


def pull_trajectory(*, session: Session, investigation: Investigation, person: Person) -> int:
    """Add the automatic entries not present yet: the case's scans inside the window, home and
    workplace. Entries the epidemiologist removed stay removed. Returns how many were added."""
    now = clock.now()
    entries = list(
        session.scalars(
            select(TrajectoryEntry).where(TrajectoryEntry.investigation_id == investigation.id)
        )
    )
    have_scans = {entry.scan_id for entry in entries if entry.scan_id is not None}
    kinds = {entry.kind for entry in entries if entry.source == str(EntrySource.AUTO)}
    added = []
    scans = session.execute(
        select(PlaceScan.id, PlaceScan.venue_id, PlaceScan.scanned_at)
        .where(
            PlaceScan.person_id == person.id,
            PlaceScan.scanned_at >= investigation.window_start,
            PlaceScan.scanned_at <= investigation.window_end,
        )
        .order_by(PlaceScan.scanned_at)
    ).tuples()
    for scan_id, venue_id, scanned_at in scans:
        if scan_id in have_scans:
            continue
        added.append(
            TrajectoryEntry(
                investigation_id=investigation.id,
                kind=str(TrajectoryKind.SCAN),
                source=str(EntrySource.AUTO),
                venue_id=venue_id,
                scan_id=scan_id,
                started_at=scanned_at,
                created_at=now,
            )
        )
    if person.household_id is not None and str(TrajectoryKind.HOUSEHOLD) not in kinds:
        added.append(
            TrajectoryEntry(
                investigation_id=investigation.id,
                kind=str(TrajectoryKind.HOUSEHOLD),
                source=str(EntrySource.AUTO),
                household_id=person.household_id,
                started_at=investigation.window_start,
                ended_at=investigation.window_end,
                created_at=now,
            )
        )
    if person.workplace_id is not None and str(TrajectoryKind.WORKPLACE) not in kinds:
        added.append(
            TrajectoryEntry(
                investigation_id=investigation.id,
                kind=str(TrajectoryKind.WORKPLACE),
                source=str(EntrySource.AUTO),
                workplace_id=person.workplace_id,
                started_at=investigation.window_start,
                ended_at=investigation.window_end,
                created_at=now,
            )
        )
    session.add_all(added)
    session.flush()
    return len(added)


def get_investigation_or_raise(
    *, session: Session, actor: Actor, investigation_id: int
) -> Investigation:
    """An investigation the actor may read (scoped like its case)."""
    stmt = scope_to_jurisdiction(
        select(Investigation).where(Investigation.id == investigation_id),
        actor=actor,
        path_column=Investigation.area_path,
    )
    investigation = session.scalars(stmt).one_or_none()
    if investigation is None:
        raise NotFound(
            TracingErrorCode.INVESTIGATION_NOT_FOUND,
            "no such investigation",
            field="investigation_id",
        )
    return investigation


def investigation_of_case(*, session: Session, case_id: int) -> Investigation | None:
    return session.scalars(
        select(Investigation).where(Investigation.case_id == case_id)
    ).one_or_none()


def investigation_for_edit(
    *, session: Session, actor: Actor, investigation_id: int, draft_only: bool = True
) -> Investigation:
    """An investigation the actor may change: it must exist, lie in their jurisdiction
    (``investigation.outside_jurisdiction`` otherwise) and, for trajectory edits, still be a
    draft (``investigation.already_confirmed``)."""
    investigation = session.get(Investigation, investigation_id)
    if investigation is None:
        raise NotFound(
            TracingErrorCode.INVESTIGATION_NOT_FOUND,
            "no such investigation",
            field="investigation_id",
        )
    if not actor.covers_path(investigation.area_path):
        raise PermissionDenied(
            TracingErrorCode.INVESTIGATION_OUTSIDE_JURISDICTION,
            "this investigation is outside your jurisdiction",
            field="investigation_id",
        )
    if draft_only and investigation.status != str(InvestigationStatus.DRAFT):
        raise Conflict(
            TracingErrorCode.INVESTIGATION_CONFIRMED,
            "the trajectory is confirmed; it can no longer be edited",
            field="investigation_id",
        )
    return investigation


def trajectory(
    *, session: Session, investigation_id: int, include_removed: bool = True
) -> list[TrajectoryEntry]:
    stmt = select(TrajectoryEntry).where(TrajectoryEntry.investigation_id == investigation_id)
    if not include_removed:
        stmt = stmt.where(TrajectoryEntry.removed.is_(False))
    return list(session.scalars(stmt.order_by(TrajectoryEntry.started_at, TrajectoryEntry.id)))


def _entry_snapshot(entry: TrajectoryEntry) -> dict[str, Any]:
    return {
        "kind": entry.kind,
        "source": entry.source,
        "venue_id": entry.venue_id,
        "description": entry.description,
        "started_at": entry.started_at.isoformat() if entry.started_at else None,
        "ended_at": entry.ended_at.isoformat() if entry.ended_at else None,
        "removed": entry.removed,
    }


def _check_entry_times(started_at: datetime | None, ended_at: datetime | None) -> None:
    for name, value in (("started_at", started_at), ("ended_at", ended_at)):
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise FangkongError(
                TracingErrorCode.TRAJECTORY_ENTRY_INVALID, f"{name} needs a time zone", field=name
            )
    if started_at is None:
        raise FangkongError(
            TracingErrorCode.TRAJECTORY_ENTRY_INVALID, "started_at is required", field="started_at"
        )
    if ended_at is not None and ended_at < started_at:
        raise FangkongError(
            TracingErrorCode.TRAJECTORY_ENTRY_INVALID,
            "an entry cannot end before it starts",
            field="ended_at",
        )
    if started_at > clock.now() + CLOCK_SKEW_ALLOWANCE:
        raise FangkongError(
            TracingErrorCode.TRAJECTORY_ENTRY_INVALID,
            "started_at is in the future",
            field="started_at",
        )


def add_trajectory_entry(
    *,
    session: Session,
    actor: Actor,
    investigation_id: int,
    kind: TrajectoryKind,
    started_at: datetime | None,
    ended_at: datetime | None = None,
    venue_id: int | None = None,
    description: str | None = None,
) -> TrajectoryEntry:
    """A place or journey the case reported (source ``manual``). A venue entry takes part in
    the co-presence search; a free-text place or a journey is recorded for the investigator."""
    investigation = investigation_for_edit(
        session=session, actor=actor, investigation_id=investigation_id
    )
    if kind not in (TrajectoryKind.PLACE, TrajectoryKind.TRANSPORT):
        raise FangkongError(
            TracingErrorCode.TRAJECTORY_ENTRY_INVALID,
            "only places and journeys are added by hand",
            field="kind",
        )
    text = (description or "").strip() or None
    if venue_id is None and text is None:
        raise FangkongError(
            TracingErrorCode.TRAJECTORY_ENTRY_INVALID,
            "name the venue or describe the place",
            field="description",
        )
    if text is not None and len(text) > 200:
        raise FangkongError(
            TracingErrorCode.TRAJECTORY_ENTRY_INVALID,
            "the description is at most 200 characters",
            field="description",
        )
    _check_entry_times(started_at, ended_at)
    if venue_id is not None and not registry_service.venue_paths(session=session, ids={venue_id}):
        raise FangkongError(
            TracingErrorCode.TRAJECTORY_UNKNOWN_VENUE, "no such venue", field="venue_id"
        )
    entry = TrajectoryEntry(
        investigation_id=investigation.id,
        kind=str(kind),
        source=str(EntrySource.MANUAL),
        venue_id=venue_id,
        description=text,
        started_at=started_at.astimezone(UTC) if started_at else None,
        ended_at=ended_at.astimezone(UTC) if ended_at else None,
        created_by_user_id=actor.user_id,
        created_at=clock.now(),
    )
    session.add(entry)
    session.flush()
    events.recorded(
        session=session,
        actor=actor,
        action="tracing.trajectory.entry_added",
        subject_type="tracing_investigation",
        subject_id=investigation.id,
        after={"entry_id": entry.id, **_entry_snapshot(entry)},
    )
    return entry


def _entry_for_edit(
    session: Session, actor: Actor, investigation_id: int, entry_id: int
) -> tuple[Investigation, TrajectoryEntry]:
    investigation = investigation_for_edit(
        session=session, actor=actor, investigation_id=investigation_id
    )
    entry = session.get(TrajectoryEntry, entry_id)
    if entry is None or entry.investigation_id != investigation.id:
        raise NotFound(
            TracingErrorCode.TRAJECTORY_ENTRY_NOT_FOUND, "no such entry", field="entry_id"
        )
    return investigation, entry


def edit_trajectory_entry(
    *,
    session: Session,
    actor: Actor,
    investigation_id: int,
    entry_id: int,
    started_at: datetime | None,
    ended_at: datetime | None,
    description: str | None = None,
) -> TrajectoryEntry:
    """Correct an entry's times (and a manual entry's description)."""
    investigation, entry = _entry_for_edit(session, actor, investigation_id, entry_id)
    _check_entry_times(started_at, ended_at)
    before = _entry_snapshot(entry)
    entry.started_at = started_at.astimezone(UTC) if started_at else None
    entry.ended_at = ended_at.astimezone(UTC) if ended_at else None
    if description is not None and entry.source == str(EntrySource.MANUAL):
        entry.description = description.strip()[:200] or entry.description
    session.flush()
    events.recorded(
        session=session,
        actor=actor,
        action="tracing.trajectory.entry_edited",
        subject_type="tracing_investigation",
        subject_id=investigation.id,
        before={"entry_id": entry.id, **before},
        after={"entry_id": entry.id, **_entry_snapshot(entry)},
    )
    return entry


def set_entry_removed(
    *,
    session: Session,
    actor: Actor,
    investigation_id: int,
    entry_id: int,
    removed: bool,
    reason: str | None = None,
) -> TrajectoryEntry:
    """Strike an entry from the trajectory (the case was not there, the scan was someone
    else's phone) or put it back. Struck entries are kept and shown crossed out."""
    investigation, entry = _entry_for_edit(session, actor, investigation_id, entry_id)
    before = _entry_snapshot(entry)
    entry.removed = removed
    session.flush()
    events.recorded(
        session=session,
        actor=actor,
        action="tracing.trajectory.entry_removed"
        if removed
        else "tracing.trajectory.entry_restored",
        subject_type="tracing_investigation",
        subject_id=investigation.id,
        before={"entry_id": entry.id, **before},
        after={"entry_id": entry.id, **_entry_snapshot(entry)},
        reason=reason,
    )
    return entry


def contacts_of(*, session: Session, investigation_id: int) -> list[Contact]:
    return list(
        session.scalars(
            select(Contact)
            .where(Contact.investigation_id == investigation_id)
            .order_by(Contact.category, Contact.person_id)
        )
    )


def evidence_of(
    *, session: Session, contact_ids: Collection[int]
) -> dict[int, list[ContactEvidence]]:
    rows: dict[int, list[ContactEvidence]] = {contact_id: [] for contact_id in contact_ids}
    if not contact_ids:
        return rows
    for row in session.scalars(
        select(ContactEvidence)
        .where(ContactEvidence.contact_id.in_(list(contact_ids)))
        .order_by(ContactEvidence.contact_id, ContactEvidence.at, ContactEvidence.id)
    ):
        rows[row.contact_id].append(row)
    return rows


def list_contacts(
    *,
    session: Session,
    actor: Actor,
    status: ContactStatus | None = None,
    category: ContactCategory | None = None,
    limit: int = 1000,
) -> list[Contact]:
    """Contacts living in ``actor``'s jurisdiction, earliest deadline first."""
    stmt = scope_to_jurisdiction(select(Contact), actor=actor, path_column=Contact.area_path)
    if status is not None:
        stmt = stmt.where(Contact.status == str(status))
    if category is not None:
        stmt = stmt.where(Contact.category == str(category))
    return list(session.scalars(stmt.order_by(Contact.due_at, Contact.id).limit(limit)))


def list_contacts_due_for_isolation(*, session: Session, actor: Actor) -> list[Contact]:
    """What the isolation domain picks up: identified contacts living in ``actor``'s
    jurisdiction, earliest deadline first. ``category`` is the isolation category to apply and
    ``last_exposure_at`` the clock's anchor."""
    return list_contacts(session=session, actor=actor, status=ContactStatus.IDENTIFIED)


def get_contact_or_raise(*, session: Session, actor: Actor, contact_id: int) -> Contact:
    stmt = scope_to_jurisdiction(
        select(Contact).where(Contact.id == contact_id), actor=actor, path_column=Contact.area_path
    )
    contact = session.scalars(stmt).one_or_none()
    if contact is None:
        raise NotFound(TracingErrorCode.CONTACT_NOT_FOUND, "no such contact", field="contact_id")
    return contact


def mark_handed_over(
    *, session: Session, actor: Actor, contact_id: int, isolation_ref: str | None = None
) -> Contact:
    """Isolation has taken the contact (``isolation_ref``: its order id, for instance). Only an
    identified contact can be handed over; twice is refused with ``contact.status_conflict``."""
    contact = get_contact_or_raise(session=session, actor=actor, contact_id=contact_id)
    before = events.contact_snapshot(contact)
    transition(
        session,
        contact,
        expect={"status": str(ContactStatus.IDENTIFIED)},
        conflict=Conflict(
            TracingErrorCode.CONTACT_STATUS_CONFLICT,
            f"the contact is {contact.status}, not identified",
            field="status",
        ),
        status=str(ContactStatus.HANDED_OVER),
        handed_over_at=clock.now(),
        handed_over_by_user_id=actor.user_id,
        isolation_ref=(isolation_ref or "").strip()[:80] or None,
    )
    events.recorded(
        session=session,
        actor=actor,
        action="tracing.contact.handed_over",
        subject_type="tracing_contact",
        subject_id=contact.id,
        before=before,
        after=events.contact_snapshot(contact),
        rule_ref=contact.rule_ref,
    )
    return contact


def close_contact(*, session: Session, actor: Actor, contact_id: int, reason: str) -> Contact:
    """Close a contact (isolation over, or judged not a contact after all)."""
    contact = get_contact_or_raise(session=session, actor=actor, contact_id=contact_id)
    current = ContactStatus(contact.status)
    if current is ContactStatus.CLOSED:
        raise Conflict(
            TracingErrorCode.CONTACT_STATUS_CONFLICT,
            "the contact is closed already",
            field="status",
        )
    before = events.contact_snapshot(contact)
    transition(
        session,
        contact,
        expect={"status": str(current)},
        conflict=Conflict(
            TracingErrorCode.CONTACT_STATUS_CONFLICT, "the contact changed meanwhile"
        ),
        status=str(ContactStatus.CLOSED),
        closed_reason=reason.strip()[:32] or "closed",
    )
    events.recorded(
        session=session,
        actor=actor,
        action="tracing.contact.closed",
        subject_type="tracing_contact",
        subject_id=contact.id,
        before=before,
        after=events.contact_snapshot(contact),
        reason=reason,
    )
    return contact


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Export:
    content: bytes
    media_type: str
    filename: str


def export_line_list(
    *,
    session: Session,
    actor: Actor,
    fmt: str,
    status: CaseStatus | None = None,
    kind: CaseKind | None = None,
    area_path: str | None = None,
) -> Export:
    """The line list of the cases ``actor`` may see, as .xlsx or CSV; one audit event."""
    cases = list_cases(
        session=session, actor=actor, status=status, kind=kind, area_path=area_path, limit=100_000
    )
    people = (
        {
            person.id: person
            for person in session.scalars(
                select(Person).where(Person.id.in_([case.person_id for case in cases]))
            )
        }
        if cases
        else {}
    )
    counts: dict[tuple[int, str], int] = {}
    if cases:
        for case_id, category, number in session.execute(
            select(Contact.case_id, Contact.category, func.count(Contact.id))
            .where(Contact.case_id.in_([case.id for case in cases]))
            .group_by(Contact.case_id, Contact.category)
        ).tuples():
            counts[(case_id, category)] = number
    rows = [
        linelist.LineListRow(
            case_id=case.id,
            name=people[case.person_id].name if case.person_id in people else "",
            document_masked=people[case.person_id].id_number_masked
            if case.person_id in people
            else None,
            area_path=case.area_path,
            kind=case.kind,
            status=case.status,
            severity=case.severity,
            detection_route=case.detection_route,
            onset_date=case.onset_date,
            sampled_at=case.sampled_at,
            reported_at=case.reported_at,
            reclassified_at=case.reclassified_at,
            source_ref=case.source_ref,
            close_contacts=counts.get((case.id, str(ContactCategory.CLOSE_CONTACT)), 0),
            secondary_contacts=counts.get((case.id, str(ContactCategory.SECONDARY_CONTACT)), 0),
        )
        for case in sorted(cases, key=lambda case: case.id)
    ]
    audit.record(
        session=session,
        actor=actor,
        action="tracing.cases.exported",
        subject_type="tracing_case",
        subject_id="line_list",
        after={"rows": len(rows), "format": fmt},
    )
    stamp = clock.now().strftime("%Y%m%d")
    if fmt == "csv":
        return Export(linelist.write_csv(rows), "text/csv", f"病例一览表-{stamp}.csv")
    return Export(linelist.write_xlsx(rows), XLSX_MEDIA_TYPE, f"病例一览表-{stamp}.xlsx")


def links_in_scope(*, session: Session, actor: Actor) -> list[TransmissionLink]:
    """Transmission links whose infectee lives in ``actor``'s jurisdiction."""
    stmt = scope_to_jurisdiction(
        select(TransmissionLink), actor=actor, path_column=TransmissionLink.area_path
    )
    return list(session.scalars(stmt.order_by(TransmissionLink.id)))


def people_by_id(*, session: Session, ids: Collection[int]) -> dict[int, Person]:
    if not ids:
        return {}
    return {
        person.id: person
        for person in session.scalars(select(Person).where(Person.id.in_(list(ids))))
    }
