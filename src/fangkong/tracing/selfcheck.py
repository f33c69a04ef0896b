"""Resident self-check (自查): did my own scans, or the places I say I went, overlap the
confirmed trajectory of any case?

The answer names only the overlapping place (the resident's own venue, or the area they
entered) and the day, and says what to do; never the case, the person or the case's times.
Cases are looked up city-wide on purpose (a resident has no jurisdiction and the exposure may
be anywhere); what bounds the query is that it is the caller's own scans, an itinerary of at
most :data:`rules.SELF_CHECK_MAX_ITEMS` short stays, and a throttle per account and address.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.config import get_settings
from fangkong.core import audit
from fangkong.core.errors import FangkongError, NotFound
from fangkong.core.scope import Actor
from fangkong.registry.models import Area, Person, Venue
from fangkong.tracing import rules
from fangkong.tracing.enums import CaseStatus, InvestigationStatus
from fangkong.tracing.errors import TracingErrorCode as Code
from fangkong.tracing.models import (
    Case,
    Investigation,
    PlaceScan,
    SelfCheckAttempt,
    TrajectoryEntry,
)
from fangkong.tracing.rules import CaseVisit, Stay

ADVICE_REPORT = "report_and_test"
ADVICE_NONE = "no_overlap"
ADVICE_TEXT = {
    ADVICE_REPORT: (
        "Report to your community (residents' committee) today, stay at home until they call "
        "you back, take a nucleic acid test and watch for fever or cough."
    ),
    ADVICE_NONE: (
        "None of the places checked overlapped a case. Keep scanning place codes and check "
        "again if new cases are announced."
    ),
}


@dataclass(frozen=True)
class VenueStay:
    venue_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class AreaDay:
    area_id: int
    day: date


@dataclass(frozen=True)
class SelfCheckAnswer:
    overlap: bool
    matches: list[tuple[str, date]]
    advice: str
    scans_checked: int
    places_checked: int


def _zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def local_day(moment: datetime) -> date:
    return moment.astimezone(_zone()).date()


def own_person(*, session: Session, actor: Actor) -> Person:
    actor.require(Permission.SELF_SERVICE)
    person = session.get(Person, actor.person_id) if actor.person_id is not None else None
    if person is None:
        raise NotFound(Code.SELF_CHECK_NO_PERSON, "this account is not linked to a person")
    return person


def _count_since(session: Session, condition: ColumnElement[bool], since: datetime) -> int:
    stmt = select(func.count()).where(condition, SelfCheckAttempt.attempted_at >= since)
    return int(session.scalar(stmt) or 0)


def _check_throttle(session: Session, actor: Actor, ip: str | None, now: datetime) -> None:
    since = now - rules.SELF_CHECK_THROTTLE_WINDOW
    by_account = _count_since(session, SelfCheckAttempt.user_id == actor.user_id, since)
    by_ip = _count_since(session, SelfCheckAttempt.ip == ip, since) if ip else 0
    if rules.self_check_throttled(by_account=by_account, by_ip=by_ip):
        minutes = int(rules.SELF_CHECK_THROTTLE_WINDOW.total_seconds() // 60)
        raise FangkongError(
            Code.SELF_CHECK_THROTTLED,
            f"too many self-checks; try again within {minutes} minutes",
            status=429,
        )


def _entered_stays(
    session: Session, venues: Sequence[VenueStay], areas: Sequence[AreaDay], now: datetime
) -> list[Stay]:
    if len(venues) + len(areas) > rules.SELF_CHECK_MAX_ITEMS:
        raise FangkongError(
            Code.SELF_CHECK_TOO_MANY_ITEMS,
            f"at most {rules.SELF_CHECK_MAX_ITEMS} places at a time",
            field="itinerary",
        )
    stays: list[Stay] = []
    for index, item in enumerate(venues):
        problem = rules.check_entered_stay(start=item.start, end=item.end, now=now)
        if problem is not None:
            raise FangkongError(problem, _PROBLEMS[problem], field=f"venues[{index}]")
        if session.get(Venue, item.venue_id) is None:
            raise FangkongError(
                Code.SELF_CHECK_UNKNOWN_VENUE, "no such place", field=f"venues[{index}]"
            )
        stays.append(Stay(start=item.start, end=item.end, venue_id=item.venue_id))
    zone = _zone()
    for index, area_day in enumerate(areas):
        start = datetime.combine(area_day.day, time(0), tzinfo=zone)
        end = start + timedelta(days=1)
        problem = rules.check_entered_stay(start=start, end=end, now=now)
        if problem is not None:
            raise FangkongError(problem, _PROBLEMS[problem], field=f"areas[{index}]")
        area = session.get(Area, area_day.area_id)
        if area is None:
            raise FangkongError(
                Code.SELF_CHECK_UNKNOWN_AREA, "no such area", field=f"areas[{index}]"
            )
        stays.append(Stay(start=start, end=end, area_path=area.path, label=area.name))
    return stays


_PROBLEMS = {
    Code.SELF_CHECK_ITEM_INVALID: "a stay needs a start and a later end, with time zones",
    Code.SELF_CHECK_SPAN_TOO_LONG: "one stay may last at most 24 hours",
    Code.SELF_CHECK_OUT_OF_WINDOW: "only the last 14 days can be checked",
}


def _own_scan_stays(session: Session, person: Person, now: datetime) -> list[Stay]:
    rows = session.execute(
        select(PlaceScan.venue_id, PlaceScan.scanned_at).where(
            PlaceScan.person_id == person.id,
            PlaceScan.scanned_at >= now - rules.SELF_CHECK_LOOKBACK,
            PlaceScan.scanned_at <= now,
        )
    ).tuples()
    return [
        Stay(start=at, end=at + rules.DEFAULT_DWELL, venue_id=venue_id) for venue_id, at in rows
    ]


def case_exposures(*, session: Session, person_id: int, now: datetime) -> list[CaseVisit]:
    """The venues on confirmed trajectories of live cases other than ``person_id``'s own, in
    their investigation's window and the self-check look-back."""
    since = now - rules.SELF_CHECK_LOOKBACK - rules.DEFAULT_DWELL
    rows = session.execute(
        select(
            TrajectoryEntry.venue_id,
            Venue.name,
            Venue.area_path,
            TrajectoryEntry.started_at,
            TrajectoryEntry.ended_at,
            Investigation.window_start,
            Investigation.window_end,
        )
        .join(Investigation, Investigation.id == TrajectoryEntry.investigation_id)
        .join(Case, Case.id == Investigation.case_id)
        .join(Venue, Venue.id == TrajectoryEntry.venue_id)
        .where(
            Investigation.status == str(InvestigationStatus.CONFIRMED),
            Case.status != str(CaseStatus.VOID),
            Case.person_id != person_id,
            TrajectoryEntry.removed.is_(False),
            TrajectoryEntry.started_at.is_not(None),
            TrajectoryEntry.started_at >= since,
        )
    ).tuples()
    exposures = []
    for venue_id, name, path, started, ended, window_start, window_end in rows:
        assert venue_id is not None and started is not None
        if started < window_start or started > window_end:
            continue  # outside the pack's look-back window of that case
        end = ended if ended is not None and ended > started else started + rules.DEFAULT_DWELL
        exposures.append(
            CaseVisit(venue_id=venue_id, venue_name=name, area_path=path, start=started, end=end)
        )
    return exposures


def self_check(
    *,
    session: Session,
    actor: Actor,
    venues: Sequence[VenueStay] = (),
    areas: Sequence[AreaDay] = (),
    ip: str | None,
    now: datetime,
) -> SelfCheckAnswer:
    """Check the caller's own scans of the last 14 days and the stays they entered against
    confirmed case trajectories. Throttled; a refusal stores nothing. The caller commits."""
    person = own_person(session=session, actor=actor)
    _check_throttle(session, actor, ip, now)
    entered = _entered_stays(session, venues, areas, now)
    scanned = _own_scan_stays(session, person, now)
    exposures = case_exposures(session=session, person_id=person.id, now=now)
    matches = rules.self_check_matches(
        stays=[*scanned, *entered], exposures=exposures, day_of=local_day
    )
    session.add(SelfCheckAttempt(user_id=actor.user_id, ip=ip, attempted_at=now))
    answer = SelfCheckAnswer(
        overlap=bool(matches),
        matches=matches,
        advice=ADVICE_REPORT if matches else ADVICE_NONE,
        scans_checked=len(scanned),
        places_checked=len(entered),
    )
    audit.record(
        session=session,
        actor=actor,
        action="tracing.self_check",
        subject_type="person",
        subject_id=person.id,
        after={
            "scans_checked": answer.scans_checked,
            "places_checked": answer.places_checked,
            "overlaps": len(matches),
        },
    )
    session.flush()
    return answer
