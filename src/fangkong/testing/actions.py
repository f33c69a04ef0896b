"""Storing lab results: the idempotent ingestion of an uploaded result file.

The parsers in :mod:`fangkong.testing.formats` decide what is acceptable; this module stores the
accepted records and the file's outcome report in the caller's transaction (the caller commits).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from datetime import tzinfo
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fangkong.core import audit, clock
from fangkong.core.scope import Actor
from fangkong.testing import service
from fangkong.testing.codes import verify_code
from fangkong.testing.effects import EffectsReport, apply_results
from fangkong.testing.enums import ResultFormat
from fangkong.testing.errors import TestingError, TestingErrorCode
from fangkong.testing.formats.csv_results import parse_csv
from fangkong.testing.formats.fhir import parse_fhir
from fangkong.testing.formats.hl7 import parse_hl7
from fangkong.testing.formats.records import (
    DEFAULT_LAB_TIMEZONE,
    LabResultRecord,
    ParseReport,
)
from fangkong.testing.models import ResultUpload, Tube, TubeMember, TubeResult
from fangkong.testing.service import get_upload_by_digest

# Records per round trip of executemany and per IN (...) list of barcodes (SQLite allows 32,766
# bound parameters; SQLAlchemy splits the INSERT itself below that).
CHUNK = 2000
RESULT_TABLE: Table = TubeResult.metadata.tables["lab_result"]
T = TypeVar("T")
__all__ = ["EffectsReport", "apply_results", "ingest_result_file", "parse_file"]


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def parse_file(
    *, result_format: ResultFormat, content: bytes, local_timezone: tzinfo = DEFAULT_LAB_TIMEZONE
) -> ParseReport:
    """Decode ``content`` as UTF-8 (BOM allowed) and parse it in ``result_format``."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        report = ParseReport(result_format)
        report.reject(1, TestingErrorCode.FILE_UNREADABLE, f"the file is not UTF-8: {error}")
        return report
    if result_format is ResultFormat.HL7:
        return parse_hl7(text, local_timezone=local_timezone)
    if result_format is ResultFormat.CSV:
        return parse_csv(text, local_timezone=local_timezone)
    return parse_fhir(text)


def ingest_result_file(
    *,
    session: Session,
    actor: Actor | None,
    result_format: ResultFormat,
    filename: str,
    content: bytes,
    local_timezone: tzinfo = DEFAULT_LAB_TIMEZONE,
) -> tuple[ResultUpload, bool]:
    """Store a lab's result file once and return its outcome report.

    Returns ``(upload, is_new)``. The same bytes uploaded again return the first upload with
    ``is_new`` False and store nothing. A record already stored from another file (same
    lab, message id and tube) is counted in ``duplicate_count`` and not stored twice; a record
    whose barcode matches no registered tube is stored with no tube and counted in
    ``unmatched_count``. Refused records are listed in ``rejections``. One audit event records
    the upload. Concurrent uploads of the same file or of overlapping results are safe: both
    rest on unique constraints, never on a prior read.
    """
    digest = hashlib.sha256(content).hexdigest()
    existing = get_upload_by_digest(session=session, content_sha256=digest)
    if existing is not None:
        return existing, False
    report = parse_file(result_format=result_format, content=content, local_timezone=local_timezone)
    now = clock.now()
    upload = ResultUpload(
        content_sha256=digest,
        format=result_format.value,
        filename=filename[:255],
        uploaded_at=now,
        uploaded_by_user_id=actor.user_id if actor else None,
        accepted_count=len(report.accepted),
        stored_count=0,
        duplicate_count=0,
        unmatched_count=0,
        rejected_count=len(report.rejected),
        rejections=[
            {**asdict(rejection), "code": str(rejection.code)} for rejection in report.rejected
        ],
        summary=None,
    )
    try:
        with session.begin_nested():
            session.add(upload)
            session.flush()
    except IntegrityError:
        # Another upload of the same bytes committed first: answer with its report.
        winner = get_upload_by_digest(session=session, content_sha256=digest)
        if winner is None:
            raise
        return winner, False
    tube_ids = _tube_ids(session=session, barcodes={r.tube_barcode for r in report.accepted})
    stored = _store_results(
        session=session, upload_id=upload.id, records=report.accepted, tube_ids=tube_ids
    )
    upload.stored_count = stored
    upload.duplicate_count = len(report.accepted) - stored
    upload.unmatched_count = sum(1 for r in report.accepted if r.tube_barcode not in tube_ids)
    upload.summary = (
        f"{upload.accepted_count} accepted ({stored} stored, {upload.duplicate_count} already "
        f"stored, {upload.unmatched_count} with no registered tube), "
        f"{upload.rejected_count} refused"
    )
    audit.record(
        session=session,
        actor=actor,
        action="testing.results_uploaded",
        subject_type="result_upload",
        subject_id=upload.id,
        after={
            "filename": upload.filename,
            "format": upload.format,
            "accepted": upload.accepted_count,
            "stored": stored,
            "duplicates": upload.duplicate_count,
            "unmatched": upload.unmatched_count,
            "rejected": upload.rejected_count,
        },
        rule_ref=None if actor else "testing.lab_interface",
        occurred_at=now,
    )
    session.flush()
    apply_results(session=session, actor=actor, upload_id=upload.id)
    return upload, True


def _tube_ids(*, session: Session, barcodes: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    ordered = sorted(barcodes)
    for chunk in _chunks(ordered):
        rows = session.execute(select(Tube.barcode, Tube.id).where(Tube.barcode.in_(chunk)))
        found.update({barcode: tube_id for barcode, tube_id in rows})
    return found


def _insert(session: Session) -> Any:
    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _store_results(
    *,
    session: Session,
    upload_id: int,
    records: Sequence[LabResultRecord],
    tube_ids: dict[str, int],
) -> int:
    """Insert the records that are not stored yet; returns how many were new."""
    stored_at = clock.now()
    insert = _insert(session)
    stored = 0
    for chunk in _chunks(records):
        rows = [
            {
                "idempotency_key": record.idempotency_key,
                "upload_id": upload_id,
                "tube_id": tube_ids.get(record.tube_barcode),
                "tube_barcode": record.tube_barcode,
                "lab_id": record.lab_id,
                "message_id": record.message_id,
                "result": record.result.value,
                "loinc_code": record.loinc_code,
                "ct_values": dict(record.ct_values),
                "collected_at": record.collected_at,
                "received_at": record.received_at,
                "reported_at": record.reported_at,
                "stored_at": stored_at,
            }
            for record in chunk
        ]
        # Core executemany: SQLAlchemy batches it as multi-row INSERTs ("insertmanyvalues")
        # without compiling a statement per chunk; RETURNING yields only the rows inserted.
        statement = (
            insert(RESULT_TABLE)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(RESULT_TABLE.c.id)
        )
        stored += len(session.execute(statement, rows).all())
    return stored


def sample_by_codes(
    *,
    session: Session,
    actor: Actor,
    barcode: str,
    codes: Sequence[str],
    public_keys: Mapping[int, Ed25519PublicKey],
    household_members: Mapping[int, Sequence[int]] | None = None,
) -> list[TubeMember]:
    """Bind the people behind scanned registration codes to a tube, all or none.

    A person code brings its person; a household code brings every member it covers, or only
    ``household_members[household_id]`` when the adult presents part of the household. Codes are
    verified against ``public_keys`` at the platform clock's ``now``; the first bad code refuses
    the whole scan (its position is in the message) and nothing is bound.
    """
    now = clock.now()
    people: list[int] = []
    for position, token in enumerate(codes, start=1):
        try:
            code = verify_code(token, public_keys=public_keys, now=now)
            chosen = None
            if household_members is not None and code.household_id is not None:
                chosen = household_members.get(code.household_id)
            covered = code.select_members(chosen) if chosen else code.covered_people()
        except TestingError as error:
            raise TestingError(
                error.code, f"code {position}: {error.message}", field="codes"
            ) from None
        people.extend(covered)
    return service.add_members(session=session, actor=actor, barcode=barcode, person_ids=people)
