"""Spatio-temporal companions (时空伴随者), where the pack has a companion rule: people whose
scans put them in the same grid cell as a venue on a case's confirmed trajectory, overlapping
it for at least the rule's minutes. Stored as :class:`CompanionFlag` rows with their evidence;
the health code reads them (``TracingFacts.companion_flagged_at``).

Cells come from venue coordinates (venues without coordinates are not placed in any cell); a
scan counts as a stay of the close-contact rule's dwell, and so does a trajectory entry
without an end.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.scope import Actor
from fangkong.registry.models import Person, Venue
from fangkong.tracing import rules, service
from fangkong.tracing.models import (
    Case,
    CompanionFlag,
    Investigation,
    PlaceScan,
    TrajectoryEntry,
)


def flag_companions(
    *, session: Session, actor: Actor | None, investigation: Investigation, now: datetime
) -> list[CompanionFlag]:
    """Flag the companions of ``investigation``'s case (a person already flagged for this
    investigation keeps their flag). Returns the new flags; the caller commits."""
    section = service.section_for(
        pack_id=investigation.pack_id, version=investigation.pack_version, now=now
    )
    rule = section.companion
    if rule is None:
        return []
    case = session.get(Case, investigation.case_id)
    assert case is not None
    dwell = section.close.dwell
    venues = {
        venue.id: venue
        for venue in session.scalars(
            select(Venue).where(Venue.latitude.is_not(None), Venue.longitude.is_not(None))
        )
    }

    def cell_of(venue: Venue) -> tuple[int, int]:
        assert venue.latitude is not None and venue.longitude is not None
        return rules.grid_cell(
            latitude=venue.latitude, longitude=venue.longitude, grid_m=rule.grid_m
        )

    by_cell: dict[tuple[int, int], list[int]] = defaultdict(list)
    for venue in venues.values():
        by_cell[cell_of(venue)].append(venue.id)
    entries = session.scalars(
        select(TrajectoryEntry).where(
            TrajectoryEntry.investigation_id == investigation.id,
            TrajectoryEntry.removed.is_(False),
            TrajectoryEntry.venue_id.is_not(None),
            TrajectoryEntry.started_at.is_not(None),
        )
    ).all()
    flagged = set(
        session.scalars(
            select(CompanionFlag.person_id).where(
                CompanionFlag.investigation_id == investigation.id
            )
        )
    )
    best: dict[int, tuple[int, int, int, str, datetime]] = {}
    for entry in entries:
        assert entry.venue_id is not None and entry.started_at is not None
        case_venue = venues.get(entry.venue_id)
        if case_venue is None:
            continue
        start = entry.started_at
        if start < investigation.window_start or start > investigation.window_end:
            continue
        end = entry.ended_at if entry.ended_at and entry.ended_at > start else start + dwell
        cell = cell_of(case_venue)
        scans = session.execute(
            select(PlaceScan.person_id, PlaceScan.venue_id, PlaceScan.scanned_at).where(
                PlaceScan.venue_id.in_(by_cell[cell]),
                PlaceScan.scanned_at > start - dwell,
                PlaceScan.scanned_at < end,
                PlaceScan.person_id != case.person_id,
            )
        ).tuples()
        for person_id, venue_id, scanned_at in scans:
            minutes = rules.overlap_minutes(start, end, scanned_at, scanned_at + dwell)
            if person_id in flagged or minutes * 60 < rule.min_overlap.total_seconds():
                continue
            held = best.get(person_id)
            if held is None or minutes > held[2]:
                best[person_id] = (venue_id, case_venue.id, minutes, f"{cell[0]}:{cell[1]}", start)
    people = service.people_by_id(session=session, ids=list(best))
    rule_ref = section.rule_ref(rule.id)
    flags = []
    for person_id, (venue_id, case_venue_id, minutes, cell_key, at) in sorted(best.items()):
        person: Person | None = people.get(person_id)
        if person is None:
            continue
        flags.append(
            CompanionFlag(
                investigation_id=investigation.id,
                case_id=case.id,
                person_id=person_id,
                area_path=person.area_path,
                venue_id=venue_id,
                case_venue_id=case_venue_id,
                cell=cell_key,
                at=at,
                minutes=minutes,
                rule_ref=rule_ref,
                flagged_at=now,
            )
        )
    session.add_all(flags)
    session.flush()
    for flag in flags:
        audit.record(
            session=session,
            actor=actor,
            action="tracing.companion.flagged",
            subject_type="person",
            subject_id=flag.person_id,
            after={
                "case_id": flag.case_id,
                "venue_id": flag.venue_id,
                "case_venue_id": flag.case_venue_id,
                "cell": flag.cell,
                "at": flag.at.isoformat(),
                "minutes": flag.minutes,
            },
            rule_ref=rule_ref,
        )
    return flags


def companions_of(*, session: Session, investigation_id: int) -> list[CompanionFlag]:
    stmt = (
        select(CompanionFlag)
        .where(CompanionFlag.investigation_id == investigation_id)
        .order_by(CompanionFlag.person_id)
    )
    return list(session.scalars(stmt))
