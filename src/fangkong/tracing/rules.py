"""Pure rules of the tracing domain: checking a scan record, what counts as a contact, the
course of a case and the look-back window of its investigation.

No database, no clock: ``now`` is passed in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fangkong.tracing.enums import (
    CaseKind,
    CaseStatus,
    ContactBasis,
    ContactCategory,
    ScanSource,
)
from fangkong.tracing.errors import TracingErrorCode
from fangkong.tracing.section import TracingSection

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


# The course of a case. A shelter-hospital patient whose illness worsens moves to a hospital;
# anyone not yet discharged may die; a case entered in error is voided from any live state.
CASE_TRANSITIONS: Mapping[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.REPORTED: frozenset(
        {
            CaseStatus.TRANSFERRED,
            CaseStatus.IN_HOSPITAL,
            CaseStatus.IN_SHELTER_HOSPITAL,
            CaseStatus.DIED,
            CaseStatus.VOID,
        }
    ),
    CaseStatus.TRANSFERRED: frozenset(
        {CaseStatus.IN_HOSPITAL, CaseStatus.IN_SHELTER_HOSPITAL, CaseStatus.DIED, CaseStatus.VOID}
    ),
    CaseStatus.IN_SHELTER_HOSPITAL: frozenset(
        {CaseStatus.IN_HOSPITAL, CaseStatus.DISCHARGED, CaseStatus.DIED, CaseStatus.VOID}
    ),
    CaseStatus.IN_HOSPITAL: frozenset({CaseStatus.DISCHARGED, CaseStatus.DIED, CaseStatus.VOID}),
    CaseStatus.DISCHARGED: frozenset(),
    CaseStatus.DIED: frozenset(),
    CaseStatus.VOID: frozenset(),
}


def can_move(current: CaseStatus, target: CaseStatus) -> bool:
    return target in CASE_TRANSITIONS[current]


def can_reclassify(kind: CaseKind, status: CaseStatus) -> bool:
    """Only an asymptomatic infection becomes a confirmed case, and only while it is live."""
    return kind is CaseKind.ASYMPTOMATIC and status not in (CaseStatus.VOID, CaseStatus.DIED)


def lookback_window(
    *,
    onset_date: date | None,
    sampled_at: datetime | None,
    reported_at: datetime,
    lookback: timedelta,
    last_negative_at: datetime | None = None,
) -> tuple[datetime, datetime]:
    """The trajectory window: from ``lookback`` before symptom onset or sampling, whichever is
    earlier (the onset day counts from its start, UTC), until the case was reported (placed
    under control). With neither date known, the report itself anchors the window.

    ``last_negative_at`` is the last negative sample of a person found by serial screening
    (where the pack says so): the infection came after it, so the window starts there when
    that is later than the usual start."""
    anchors = [moment for moment in (sampled_at, reported_at) if moment is not None]
    if onset_date is not None:
        anchors.append(datetime.combine(onset_date, time(0), UTC))
    start = min(anchors) - lookback
    if last_negative_at is not None and start < last_negative_at < reported_at:
        start = last_negative_at
    return start, reported_at


@dataclass(frozen=True)
class Evidence:
    """One reason a person is a contact. ``at`` is when the exposure was (the last moment for a
    household or workplace, the overlap start at a venue); ``minutes`` the time together at a
    venue; ``via_person_id`` the close contact a secondary contact lives with."""

    person_id: int
    basis: ContactBasis
    at: datetime
    minutes: int | None = None
    venue_id: int | None = None
    household_id: int | None = None
    workplace_id: int | None = None
    via_person_id: int | None = None
    journey_id: int | None = None
    detail: str | None = None  # the evidence in words, where the basis needs them (transport)


@dataclass(frozen=True)
class ContactFinding:
    person_id: int
    category: ContactCategory
    rule_id: str
    last_exposure_at: datetime
    due_at: datetime
    evidence: tuple[Evidence, ...]
    via_person_id: int | None


@dataclass(frozen=True)
class Whereabouts:
    """Where a person is kept apart from the community. ``since`` is when they were taken away
    (into a room of an isolation facility, into home isolation, to hospital); None while they
    live freely. ``place`` names where they are (``room:<id>``, ``home:<household>``,
    ``hospital:<person>``); a person living freely is at home too (``home:<household>``)."""

    since: datetime | None = None
    place: str | None = None


def exposure_until(at: datetime, *, contact: Whereabouts, case: Whereabouts) -> datetime:
    """The last exposure ``at`` a piece of evidence claims, capped at the moment the contact
    and the case were separated: the earlier of the contact being taken away and the case being
    taken away. Household and workplace evidence runs to the end of the case's window (its
    report), so without the cap a person in a hotel room since day 1 would count as exposed at
    home on day 5, and their order's clock would move each time a housemate became a case.

    Two people kept in the same place are not separated: a household sharing a family room of a
    facility, or isolating at home together. Their exposure is real and runs on (and so does
    the clock, as the protocols want for a case found among people isolated together)."""
    if contact.place is not None and contact.place == case.place:
        return at
    moments = [moment for moment in (contact.since, case.since) if moment is not None]
    return min([at, *moments])


def close_contacts(
    *, case_person_id: int, evidence: Iterable[Evidence], section: TracingSection, now: datetime
) -> list[ContactFinding]:
    """Merge evidence into one finding per person and keep those meeting the pack's close-contact
    rule: a basis the pack lists, and at a venue at least ``min_overlap`` minutes in all."""
    rule = section.close
    by_person: dict[int, list[Evidence]] = {}
    for item in evidence:
        if item.person_id == case_person_id or item.basis not in rule.criteria:
            continue
        by_person.setdefault(item.person_id, []).append(item)
    needed = rule.min_overlap.total_seconds() / 60
    findings = []
    for person_id, items in sorted(by_person.items()):
        venue_minutes = sum(item.minutes or 0 for item in items if item.basis is ContactBasis.VENUE)
        qualifying = [
            item
            for item in items
            if item.basis is not ContactBasis.VENUE or needed == 0 or venue_minutes >= needed
        ]
        if not qualifying:
            continue
        findings.append(
            ContactFinding(
                person_id=person_id,
                category=ContactCategory.CLOSE_CONTACT,
                rule_id=rule.id,
                last_exposure_at=max(item.at for item in qualifying),
                due_at=now + rule.handover_within,
                evidence=tuple(sorted(qualifying, key=_evidence_order)),
                via_person_id=None,
            )
        )
    return findings


def secondary_contacts(
    *,
    case_person_id: int,
    close: Iterable[ContactFinding],
    evidence: Iterable[Evidence],
    section: TracingSection,
    now: datetime,
) -> list[ContactFinding]:
    """Secondary contacts where the pack still determines them: people linked to a close
    contact on a basis the pack lists, who are neither the case nor a close contact."""
    rule = section.secondary
    if rule is None:
        return []
    close_ids = {finding.person_id for finding in close}
    by_person: dict[int, list[Evidence]] = {}
    for item in evidence:
        if (
            item.person_id == case_person_id
            or item.person_id in close_ids
            or item.basis not in rule.criteria
        ):
            continue
        by_person.setdefault(item.person_id, []).append(item)
    return [
        ContactFinding(
            person_id=person_id,
            category=ContactCategory.SECONDARY_CONTACT,
            rule_id=rule.id,
            last_exposure_at=max(item.at for item in items),
            due_at=now + rule.handover_within,
            evidence=tuple(sorted(items, key=_evidence_order)),
            via_person_id=min(item.via_person_id for item in items if item.via_person_id)
            if any(item.via_person_id for item in items)
            else None,
        )
        for person_id, items in sorted(by_person.items())
    ]


def _evidence_order(item: Evidence) -> tuple[str, datetime, int]:
    return (str(item.basis), item.at, item.venue_id or 0)


def near_floor(case_floor: int, other_floor: int) -> bool:
    """The same floor or the floors directly above and below (Shanghai static management)."""
    return abs(case_floor - other_floor) <= 1


# The strongest route first: living together outranks a shared workplace, which outranks a
# shared venue; a secondary route (through a close contact) is the weakest direct evidence.
BASIS_STRENGTH: Mapping[ContactBasis, int] = {
    ContactBasis.HOUSEHOLD: 5,
    ContactBasis.BUILDING_FLOOR: 3,
    ContactBasis.WORKPLACE: 3,
    ContactBasis.VENUE: 2,
    ContactBasis.TRANSPORT: 2,
    ContactBasis.BUILDING_UNIT: 2,
    ContactBasis.VIA_CONTACT: 1,
}


def link_confidence(basis: ContactBasis, minutes: int | None) -> str:
    """How sure a transmission link is, from the evidence that made the infectee a contact:
    ``high`` for a household, ``medium`` for a workplace, a shared journey (the transport rule
    already kept only those seated near the case), a neighbour on the floor or at least
    15 minutes together at a venue, ``low`` otherwise."""
    if basis is ContactBasis.HOUSEHOLD:
        return "high"
    if basis in (ContactBasis.WORKPLACE, ContactBasis.BUILDING_FLOOR, ContactBasis.TRANSPORT):
        return "medium"
    if basis is ContactBasis.VENUE and (minutes or 0) >= 15:
        return "medium"
    return "low"


def clusters(links: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected components of the transmission graph (case ids), largest first; cases
    without a link are not clusters."""
    parent: dict[int, int] = {}

    def root(node: int) -> int:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for infector, infectee in links:
        a, b = root(infector), root(infectee)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for node in parent:
        groups.setdefault(root(node), []).append(node)
    return sorted((sorted(group) for group in groups.values()), key=lambda g: (-len(g), g[0]))


@dataclass(frozen=True)
class ClusterStats:
    """One cluster: its cases, how many generations deep it goes, and the intervals between
    an infector's and an infectee's onset (or sampling, when there is no onset) in days."""

    case_ids: tuple[int, ...]
    generations: int
    intervals_days: tuple[float, ...]

    @property
    def size(self) -> int:
        return len(self.case_ids)

    @property
    def mean_interval_days(self) -> float | None:
        if not self.intervals_days:
            return None
        return round(sum(self.intervals_days) / len(self.intervals_days), 1)


def cluster_stats(
    links: Iterable[tuple[int, int]], anchors: Mapping[int, datetime | None]
) -> list[ClusterStats]:
    """Size, depth and generation intervals of every cluster. ``anchors`` gives each case's
    onset (as a moment) or sampling time; a link with either end unknown has no interval."""
    pairs = list(links)
    parents: dict[int, list[int]] = {}
    for infector, infectee in pairs:
        parents.setdefault(infectee, []).append(infector)

    def depth(node: int, seen: frozenset[int] = frozenset()) -> int:
        above = [p for p in parents.get(node, []) if p not in seen]
        return 1 + max((depth(p, seen | {node}) for p in above), default=0)

    stats = []
    for group in clusters(pairs):
        members = set(group)
        intervals = []
        for infector, infectee in pairs:
            if infector not in members:
                continue
            start, end = anchors.get(infector), anchors.get(infectee)
            if start is not None and end is not None:
                intervals.append(round((end - start).total_seconds() / 86_400, 1))
        stats.append(
            ClusterStats(
                case_ids=tuple(group),
                generations=max(depth(node) for node in group),
                intervals_days=tuple(intervals),
            )
        )
    return stats


def case_anchor(onset_date: date | None, sampled_at: datetime | None) -> datetime | None:
    """The moment a case's generation interval counts from: onset, else sampling."""
    if onset_date is not None:
        return datetime.combine(onset_date, time(0), UTC)
    return sampled_at


# --- Self-check (自查) ------------------------------------------------------------------------

# A resident may check 10 times an hour from one account; one address (a family, a workplace
# behind one router) 30 times. Enough for honest use, too few to sweep places and days.
SELF_CHECK_PER_ACCOUNT = 10
SELF_CHECK_PER_IP = 30
SELF_CHECK_THROTTLE_WINDOW = timedelta(hours=1)
# Only the last 14 days are checked: the longest look-back of any pack plus the incubation a
# resident still needs to act on (and what place-code scans are kept for).
SELF_CHECK_LOOKBACK = timedelta(days=14)
# An entered itinerary: at most 5 places, each a stay of at most 24 hours, or an area and a day.
SELF_CHECK_MAX_ITEMS = 5
SELF_CHECK_MAX_SPAN = timedelta(hours=24)


@dataclass(frozen=True)
class Stay:
    """Someone at a venue (``venue_id``) or anywhere in an area (``area_path``, for an entered
    district or street and a day) from ``start`` to ``end``. ``label`` is what the answer may
    show the resident: the place's own name, or the area they entered."""

    start: datetime
    end: datetime
    venue_id: int | None = None
    area_path: str | None = None
    label: str = ""


@dataclass(frozen=True)
class CaseVisit:
    """A venue on a confirmed case trajectory, and when the case was there."""

    venue_id: int
    venue_name: str
    area_path: str
    start: datetime
    end: datetime


def self_check_throttled(*, by_account: int, by_ip: int) -> bool:
    return by_account >= SELF_CHECK_PER_ACCOUNT or by_ip >= SELF_CHECK_PER_IP


def check_entered_stay(*, start: datetime, end: datetime, now: datetime) -> TracingErrorCode | None:
    """Why an entered stay is refused, or None. Aware datetimes only."""
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        return TracingErrorCode.SELF_CHECK_ITEM_INVALID
    if end - start > SELF_CHECK_MAX_SPAN:
        return TracingErrorCode.SELF_CHECK_SPAN_TOO_LONG
    if start < now - SELF_CHECK_LOOKBACK or start > now + CLOCK_SKEW_ALLOWANCE:
        return TracingErrorCode.SELF_CHECK_OUT_OF_WINDOW
    return None


def self_check_matches(
    *, stays: Iterable[Stay], exposures: Iterable[CaseVisit], day_of: Any
) -> list[tuple[str, date]]:
    """The (place, day) pairs where one of the resident's stays overlapped a case's presence,
    sorted and without repeats. A venue stay matches the same venue at an overlapping time; an
    area stay matches any case venue inside the area at an overlapping time, and is named by
    the area, so the case's venue is not disclosed. ``day_of`` turns a moment into the local
    calendar day (the zone is configuration, so it is passed in)."""
    exposure_list = list(exposures)
    found: set[tuple[str, date]] = set()
    for stay in stays:
        for exposure in exposure_list:
            if stay.venue_id is not None:
                if exposure.venue_id != stay.venue_id:
                    continue
                label = exposure.venue_name
            elif stay.area_path is not None:
                if not exposure.area_path.startswith(stay.area_path):
                    continue
                label = stay.label
            else:
                continue
            start = max(stay.start, exposure.start)
            if start < min(stay.end, exposure.end):
                found.add((label, day_of(start)))
    return sorted(found, key=lambda pair: (pair[1], pair[0]))


# --- Spatio-temporal companions (时空伴随者) ---------------------------------------------------

METRES_PER_DEGREE = 111_320.0  # along a meridian, and along the equator


def grid_cell(*, latitude: float, longitude: float, grid_m: float) -> tuple[int, int]:
    """The square cell of side ``grid_m`` holding a point: rows of constant latitude, columns
    scaled by the cosine of the row's latitude so a cell is about ``grid_m`` wide anywhere."""
    row = math.floor(latitude * METRES_PER_DEGREE / grid_m)
    centre = (row + 0.5) * grid_m / METRES_PER_DEGREE
    width = grid_m / (METRES_PER_DEGREE * math.cos(math.radians(centre)))
    return row, math.floor(longitude / width)


def overlap_minutes(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> int:
    """Whole minutes two stays share (0 when they do not meet)."""
    shared = min(a_end, b_end) - max(a_start, b_start)
    return max(0, int(shared.total_seconds() // 60))
