"""Pure rules of the tracing domain: checking a scan record, and what counts as a contact.

No database, no clock: ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fangkong.tracing.enums import ScanSource
from fangkong.tracing.errors import TracingErrorCode

# Phones' clocks drift; a scan stamped a little ahead of the server is still believed. Beyond
# this it is refused, because a future scan would put a person somewhere they have not been yet.
CLOCK_SKEW_ALLOWANCE = timedelta(minutes=5)

# How long someone is presumed to stay after scanning a place code. Scans record arrivals only,
# so two people count as co-present when one scanned while the other may still have been there.
# 30 minutes is the window used for place-code co-presence in performance.md §2.2 (W = 30 min).
DEFAULT_DWELL = timedelta(minutes=30)


@dataclass(frozen=True)
class ScanRecord:
    """A scan that passed the checks that need no database."""

    person_id: int
    venue_id: int
    scanned_at: datetime
    source: ScanSource


@dataclass(frozen=True)
class ScanProblem:
    """Why one record of a batch was refused; ``index`` is its position in the batch."""

    index: int
    code: TracingErrorCode
    field: str | None
    message: str


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
        return number if number > 0 else None
    return None


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def check_scan(
    raw: Mapping[str, Any], *, index: int, now: datetime, default_source: ScanSource
) -> ScanRecord | ScanProblem:
    """Check one incoming record (a JSON object or a CSV/Parquet row).

    Times must carry a zone and are kept to whole seconds (the analytics engines compare epoch
    seconds, and both paths must agree on the edges of a window). Unknown persons and venues are
    checked by the caller against the registry.
    """
    for name in ("person_id", "venue_id"):
        if _positive_int(raw.get(name)) is None:
            return ScanProblem(
                index, TracingErrorCode.SCAN_MALFORMED, name, f"{name} must be a positive integer"
            )
    scanned_at = _parse_time(raw.get("scanned_at"))
    if scanned_at is None:
        return ScanProblem(
            index,
            TracingErrorCode.SCAN_MALFORMED,
            "scanned_at",
            "scanned_at must be an ISO 8601 date and time",
        )
    if scanned_at.tzinfo is None or scanned_at.utcoffset() is None:
        return ScanProblem(
            index,
            TracingErrorCode.SCAN_TIME_NAIVE,
            "scanned_at",
            "scanned_at needs a time zone (for example 2022-11-09T08:30:00+08:00)",
        )
    if scanned_at > now + CLOCK_SKEW_ALLOWANCE:
        return ScanProblem(
            index,
            TracingErrorCode.SCAN_IN_FUTURE,
            "scanned_at",
            "scanned_at is later than now (beyond the allowed clock skew)",
        )
    source_value = raw.get("source") or default_source
    try:
        source = ScanSource(source_value)
    except ValueError:
        return ScanProblem(
            index,
            TracingErrorCode.SCAN_MALFORMED,
            "source",
            f"source must be one of {', '.join(ScanSource)}",
        )
    return ScanRecord(
        person_id=int(raw["person_id"]),
        venue_id=int(raw["venue_id"]),
        scanned_at=scanned_at.astimezone(UTC).replace(microsecond=0),
        source=source,
    )


def retention_cutoff(*, now: datetime, days: int) -> datetime:
    """Scans taken before this moment are past retention."""
    if days < 1:
        raise ValueError("retention must be at least one day")
    return now - timedelta(days=days)


def epoch_seconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime refused; pass a timezone-aware value")
    return int(moment.timestamp())


@dataclass(frozen=True)
class Exposure:
    """A case was at a venue from ``start`` to ``end`` (the case's exposure window there)."""

    case_person_id: int
    venue_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True, order=True)
class Contact:
    """A person who shared a venue with a case.

    ``overlap_start`` is the earliest moment both were there, ``duration_seconds`` the longest
    estimated overlap of one scan with the case's window (each party presumed present for the
    dwell allowance after their last known moment), ``scans`` the number of the contact's scans
    that matched (the evidence), first and last of them in ``first_scan``/``last_scan``. All
    times are epoch seconds, UTC.
    """

    contact_person_id: int
    case_person_id: int
    venue_id: int
    overlap_start: int
    duration_seconds: int
    scans: int
    first_scan: int
    last_scan: int


def overlap_of(*, scan_ts: int, start_ts: int, end_ts: int, dwell_seconds: int) -> tuple[int, int]:
    """Estimated overlap (start, seconds) of a scan at ``scan_ts`` with a case present from
    ``start_ts`` to ``end_ts``: the contact is presumed there for ``dwell_seconds`` after the
    scan and the case for ``dwell_seconds`` after the window ends."""
    begin = max(scan_ts, start_ts)
    finish = min(scan_ts + dwell_seconds, end_ts + dwell_seconds)
    return begin, max(0, finish - begin)


def summarise_matches(
    matches: Iterable[tuple[int, int, int, int, int, int]], *, dwell_seconds: int
) -> list[Contact]:
    """Fold (contact, case, venue, scan_ts, window_start, window_end) matches into one
    :class:`Contact` per (contact, case, venue), sorted. Duplicated matches count once."""
    grouped: dict[tuple[int, int, int], list[tuple[int, int, int]]] = {}
    for contact, case, venue, scan_ts, start_ts, end_ts in set(matches):
        grouped.setdefault((contact, case, venue), []).append((scan_ts, start_ts, end_ts))
    contacts = []
    for (contact, case, venue), rows in grouped.items():
        overlaps = [
            overlap_of(scan_ts=s, start_ts=a, end_ts=b, dwell_seconds=dwell_seconds)
            for s, a, b in rows
        ]
        scan_times = {s for s, _, _ in rows}
        contacts.append(
            Contact(
                contact_person_id=contact,
                case_person_id=case,
                venue_id=venue,
                overlap_start=min(begin for begin, _ in overlaps),
                duration_seconds=max(seconds for _, seconds in overlaps),
                scans=len(scan_times),
                first_scan=min(scan_times),
                last_scan=max(scan_times),
            )
        )
    return sorted(contacts)
