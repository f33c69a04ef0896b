"""Investigations: the look-back window and deadline, the trajectory pulled from scans, home,
workplace and passenger manifests, and the epidemiologist's edits to it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.core.errors import Conflict, FangkongError, NotFound, PermissionDenied
from fangkong.core.scope import Actor, scope_to_jurisdiction
from fangkong.registry import service as registry_service
from fangkong.registry.models import Person
from fangkong.testing.enums import LabResult
from fangkong.testing.models import TubeMember, TubeResult
from fangkong.tracing import events, journeys
from fangkong.tracing.enums import (
    DetectionRoute,
    EntrySource,
    InvestigationStatus,
    JourneySource,
    TrajectoryKind,
)
from fangkong.tracing.errors import TracingErrorCode
from fangkong.tracing.models import (
    Case,
    Investigation,
    Journey,
    PlaceScan,
    TrajectoryEntry,
)
from fangkong.tracing.rules import (
    CLOCK_SKEW_ALLOWANCE,
    lookback_window,
)
from fangkong.tracing.section import TracingSection
from fangkong.tracing.transport import JourneyProblem, check_journey


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
    """Add the automatic entries not present yet: the case's scans inside the window, home,
    workplace, and the journeys manifests put the case on during the window. Entries the
    epidemiologist removed stay removed. Returns how many were added."""
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
    linked = {entry.journey_id for entry in entries if entry.journey_id is not None}
    for journey in session.scalars(
        select(Journey)
        .where(
            Journey.person_id == person.id,
            Journey.service_date >= investigation.window_start.date(),
            Journey.service_date <= investigation.window_end.date(),
        )
        .order_by(Journey.service_date, Journey.id)
    ):
        if journey.id in linked:
            continue
        added.append(
            TrajectoryEntry(
                investigation_id=investigation.id,
                kind=str(TrajectoryKind.TRANSPORT),
                source=str(EntrySource.AUTO),
                journey_id=journey.id,
                description=_journey_label(journey),
                started_at=journey.boarded_at
                or max(
                    datetime.combine(journey.service_date, time(0), UTC),
                    investigation.window_start,
                ),
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
        "journey_id": entry.journey_id,
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
    journey: Mapping[str, Any] | None = None,
) -> TrajectoryEntry:
    """A place or journey the case reported (source ``manual``). A venue entry takes part in
    the co-presence search, a journey given as ``journey`` (mode, number, service_date and
    optionally carriage, seat, boarded_at; see :func:`transport.check_journey`) in the search
    over shared transport; a free-text place or journey is recorded for the investigator."""
    investigation = investigation_for_edit(
        session=session, actor=actor, investigation_id=investigation_id
    )
    journey_row = None
    if journey is not None:
        if kind is not TrajectoryKind.TRANSPORT:
            raise FangkongError(
                TracingErrorCode.TRAJECTORY_ENTRY_INVALID,
                "only a transport entry carries a journey",
                field="journey",
            )
        journey_row = _case_journey(session, actor, investigation, journey)
        if started_at is None:
            started_at = journey_row.boarded_at or datetime.combine(
                journey_row.service_date, time(0), UTC
            )
        description = description or _journey_label(journey_row)
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
        journey_id=journey_row.id if journey_row else None,
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


def _journey_label(journey: Journey) -> str:
    where = " ".join(part for part in (journey.carriage, journey.seat) if part)
    return f"{journey.mode} {journey.number} {journey.service_date.isoformat()} {where}".strip()


def _case_journey(
    session: Session, actor: Actor, investigation: Investigation, raw: Mapping[str, Any]
) -> Journey:
    case = session.get(Case, investigation.case_id)
    assert case is not None
    checked = check_journey({**raw, "person_id": case.person_id}, index=0)
    if isinstance(checked, JourneyProblem):
        raise FangkongError(
            TracingErrorCode.JOURNEY_INVALID,
            f"{checked.field}: {checked.message}",
            field=f"journey.{checked.field}",
        )
    journey, _ = journeys.record_journey(
        session=session,
        actor=actor,
        record=checked,
        person_id=case.person_id,
        source=JourneySource.MANUAL,
    )
    return journey


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
