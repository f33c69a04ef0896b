"""Isolation rules (pure): an order's phases and test schedule, the release check (one order
and vectorised over many), and placement proposals that keep households together.

Nothing here reads the database or the clock; ``now`` and the pack section are passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from fangkong.isolation.enums import (
    Category,
    Clock,
    DestinationKind,
    FacilityStatus,
    PhaseKind,
    PlacementReason,
    ReleaseOutcome,
    SampleResult,
    TransferKind,
    TransferStatus,
)
from fangkong.isolation.schemas import (
    CategoryRule,
    IsolationSection,
    OrderFacts,
    OrderPlan,
    PersonToPlace,
    PhasePlan,
    PhaseRule,
    Placement,
    ReleaseDecision,
    RoomSpace,
    TakenTest,
)
from fangkong.registry.enums import PersonTag

DAY = timedelta(days=1)


def plan_order(
    *, category: Category, last_exposure_at: datetime, now: datetime, section: IsolationSection
) -> OrderPlan | None:
    """The phases of an order for ``category`` (None: the pack has no rule for it).

    Day 1 of the first phase starts at the last exposure (``clock: last_exposure``) or at
    ``now`` (``clock: order_start``); each later phase starts when the one before ends.
    """
    rule = section.rule_for(category)
    if rule is None:
        return None
    start = last_exposure_at if rule.clock is Clock.LAST_EXPOSURE else now
    phases = []
    for phase in rule.phases:
        phases.append(PhasePlan(phase.kind, start, start + phase.duration, phase.test_days))
        start += phase.duration
    return OrderPlan(rule_id=rule.id, phases=tuple(phases))


def phase_day(*, phase_started_at: datetime, sampled_at: datetime) -> int:
    """The phase day a sample belongs to: day 1 is the first 24 hours of the phase."""
    return (sampled_at - phase_started_at) // DAY + 1


def required_test_days(
    *,
    phase: PhaseRule,
    phase_started_at: datetime | None,
    order_started_at: datetime | None,
    section: IsolationSection,
) -> tuple[int, ...]:
    """The phase's test days that are required of this order.

    Where the pack says so (``tests_before_order.required: false``), a day whose 24 hours were
    over before the order was made is dropped: the schedule counts from the last exposure, so a
    contact found late could never give that sample. A day still running when the order starts
    stays required; the pack guarantees each phase's last test day is its last day, so a phase
    still running when the order starts always ends with a required test (a phase entirely over
    before the order requires none: the person moves on to the next phase's tests).
    """
    if section.tests_before_order_required or phase_started_at is None or order_started_at is None:
        return phase.test_days
    return tuple(day for day in phase.test_days if phase_started_at + day * DAY > order_started_at)


def _counts_negative(test: TakenTest, phase: PhaseRule) -> bool:
    if test.result is SampleResult.NEGATIVE:
        return True
    threshold = phase.release_ct_at_least
    return threshold is not None and test.ct is not None and test.ct >= threshold


def release_check(
    *, facts: OrderFacts, now: datetime, section: IsolationSection
) -> ReleaseDecision:
    """Whether an active order may move on: to its next phase, or to freedom.

    Refuses (``NOT_DUE``) before the phase's end; a positive required test gives ``POSITIVE``
    (the person is handed over as a case); a required test day without a negative result gives
    ``MISSING_TESTS``. Otherwise ``NEXT_PHASE`` or, after the last phase, ``RELEASED``.
    """
    rule = section.rule_for(facts.category)
    if rule is None or not 0 <= facts.phase_index < len(rule.phases):
        return ReleaseDecision(
            ReleaseOutcome.NOT_DUE, None, (), (), None, None, "no rule of this pack applies"
        )
    phase = rule.phases[facts.phase_index]
    days = required_test_days(
        phase=phase,
        phase_started_at=facts.phase_started_at,
        order_started_at=facts.order_started_at,
        section=section,
    )
    by_day: dict[int, list[TakenTest]] = {}
    for test in facts.tests:
        by_day.setdefault(test.day, []).append(test)
    positive = tuple(
        day
        for day in days
        if any(not _counts_negative(test, phase) for test in by_day.get(day, []))
    )
    missing = tuple(
        day
        for day in days
        if day not in positive and not any(_counts_negative(t, phase) for t in by_day.get(day, []))
    )
    if positive:
        return _decision(
            ReleaseOutcome.POSITIVE, rule, (), positive, f"positive on day {positive[0]}"
        )
    if now < facts.phase_ends_at:
        left = facts.phase_ends_at - now
        return _decision(
            ReleaseOutcome.NOT_DUE, rule, missing, (), f"{phase.kind} ends in {_days(left)}"
        )
    if missing:
        listed = ", ".join(str(day) for day in missing)
        return _decision(
            ReleaseOutcome.MISSING_TESTS, rule, missing, (), f"no negative test on day {listed}"
        )
    if facts.phase_index + 1 < len(rule.phases):
        following = rule.phases[facts.phase_index + 1]
        return ReleaseDecision(
            ReleaseOutcome.NEXT_PHASE,
            rule.id,
            (),
            (),
            facts.phase_index + 1,
            following.kind,
            f"{phase.kind} complete: {following.kind} for {following.duration.days} days "
            f"({rule.id})",
        )
    return _decision(ReleaseOutcome.RELEASED, rule, (), (), f"all phases complete ({rule.id})")


def _days(left: timedelta) -> str:
    hours = int(left.total_seconds() // 3600)
    return f"{hours // 24} days {hours % 24} hours"


def _decision(
    outcome: ReleaseOutcome,
    rule: CategoryRule,
    missing: tuple[int, ...],
    positive: tuple[int, ...],
    explanation: str,
) -> ReleaseDecision:
    return ReleaseDecision(outcome, rule.id, missing, positive, None, None, explanation)


# Codes of the vectorised release check (values of ``ReleaseOutcome`` by position).
OUTCOMES = tuple(ReleaseOutcome)
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class OrderMatrix:
    """Many orders' release facts as arrays. Test days are bits (bit ``d`` = day ``d``):
    ``required`` the phase's test days required of the order (:func:`required_test_days`),
    ``negative``/``positive`` the days with such a result; ``ends_at`` is the phase end in
    seconds since the epoch; ``is_last`` whether it is the order's last phase."""

    ends_at: IntArray
    required: IntArray
    negative: IntArray
    positive: IntArray
    is_last: npt.NDArray[np.bool_]


def release_check_batch(*, orders: OrderMatrix, now: datetime) -> IntArray:
    """:func:`release_check` for many orders at once: the index in :data:`OUTCOMES` of each
    outcome (same precedence as the per-order function)."""
    now_seconds = int(now.timestamp())
    positive = (orders.positive & orders.required) != 0
    missing = (orders.required & ~orders.negative) != 0
    due = orders.ends_at <= now_seconds
    outcome = np.where(orders.is_last, OUTCOMES.index(ReleaseOutcome.RELEASED), 0)
    outcome = np.where(~orders.is_last, OUTCOMES.index(ReleaseOutcome.NEXT_PHASE), outcome)
    outcome = np.where(missing, OUTCOMES.index(ReleaseOutcome.MISSING_TESTS), outcome)
    outcome = np.where(~due, OUTCOMES.index(ReleaseOutcome.NOT_DUE), outcome)
    return np.where(positive, OUTCOMES.index(ReleaseOutcome.POSITIVE), outcome).astype(np.int64)


def _why_unmovable(
    person: PersonToPlace, *, today: date, section: IsolationSection
) -> PlacementReason | None:
    tags = PersonTag(person.tags)
    for name, reason in (
        ("bedridden", PlacementReason.BEDRIDDEN),
        ("dialysis", PlacementReason.DIALYSIS),
    ):
        if name in section.unmovable_tags and PersonTag[name.upper()] in tags:
            return reason
    if (
        section.infant_under is not None
        and person.birth_date is not None
        and today - person.birth_date < section.infant_under
    ):
        return PlacementReason.INFANT
    return None


def propose_placements(
    *,
    category: Category,
    people: Iterable[PersonToPlace],
    rooms: Sequence[RoomSpace],
    now: datetime,
    section: IsolationSection,
) -> list[Placement]:
    """Where each person goes: a room, or home with the reason.

    Households stay together: a household with a member who cannot be moved (bedridden,
    dialysis, an infant) isolates at home as a whole, and a movable household goes to one room
    when one fits it, else to rooms of one facility; largest households are placed first, each
    into the smallest room that holds it, so capacity is never exceeded. When the pack's first
    phase for the category is at home, everyone goes home (``HOME_BY_RULE``).
    """
    rule = section.rule_for(category)
    households: dict[tuple[str, int], list[PersonToPlace]] = {}
    for person in people:
        key = (
            ("h", person.household_id)
            if person.household_id is not None
            else ("p", person.person_id)
        )
        households.setdefault(key, []).append(person)
    placements: list[Placement] = []
    if rule is None or rule.phases[0].kind is not PhaseKind.CENTRALISED:
        return [
            Placement(p.person_id, p.household_id, None, None, PlacementReason.HOME_BY_RULE)
            for members in households.values()
            for p in members
        ]
    free = {room.room_id: room.free for room in rooms}
    facility_of = {room.room_id: room.facility_id for room in rooms}
    today = now.date()
    movable: list[list[PersonToPlace]] = []
    for members in households.values():
        reasons = {p.person_id: _why_unmovable(p, today=today, section=section) for p in members}
        if any(reasons.values()):
            placements.extend(
                Placement(
                    p.person_id,
                    p.household_id,
                    None,
                    None,
                    reasons[p.person_id] or PlacementReason.ACCOMPANIES_HOUSEHOLD,
                )
                for p in members
            )
        else:
            movable.append(members)
    for members in sorted(movable, key=lambda m: (-len(m), m[0].person_id)):
        rooms_for = _fit(len(members), free, facility_of)
        if rooms_for is None:
            placements.extend(
                Placement(p.person_id, p.household_id, None, None, PlacementReason.NO_CAPACITY)
                for p in members
            )
            continue
        for person, room_id in zip(members, rooms_for, strict=True):
            free[room_id] -= 1
            placements.append(
                Placement(
                    person.person_id,
                    person.household_id,
                    room_id,
                    facility_of[room_id],
                    PlacementReason.PLACED,
                )
            )
    return sorted(placements, key=lambda p: p.person_id)


def _fit(size: int, free: dict[int, int], facility_of: dict[int, int]) -> list[int] | None:
    """Room ids for each member: one room if any fits (the smallest such), else the fullest
    spread over rooms of one facility; None when no facility has the space."""
    fitting = [room for room, space in free.items() if space >= size]
    if fitting:
        room = min(fitting, key=lambda r: (free[r], r))
        return [room] * size
    for facility in sorted(set(facility_of.values())):
        rooms = sorted(
            (r for r in free if facility_of[r] == facility and free[r] > 0),
            key=lambda r: (-free[r], r),
        )
        if sum(free[r] for r in rooms) >= size:
            chosen: list[int] = []
            for room in rooms:
                chosen.extend([room] * min(free[room], size - len(chosen)))
            return chosen
    return None


# --- Transfer (转运) --------------------------------------------------------------------------

TRANSFER_NEXT = {
    TransferStatus.PLANNED: TransferStatus.DISPATCHED,
    TransferStatus.DISPATCHED: TransferStatus.PICKED_UP,
    TransferStatus.PICKED_UP: TransferStatus.CHECKED_IN,
}


def transfer_deadline(
    *, kind: TransferKind, planned_at: datetime, positive_hours: float, contact_hours: float
) -> tuple[datetime, str]:
    """When a transfer must be checked in at its destination, and the setting that says so."""
    if kind is TransferKind.POSITIVE:
        return planned_at + timedelta(hours=positive_hours), (
            f"setting:transfer_positive_hours={positive_hours:g}"
        )
    return planned_at + timedelta(hours=contact_hours), (
        f"setting:transfer_contact_hours={contact_hours:g}"
    )


def destination_fits(*, kind: TransferKind, destination: DestinationKind) -> bool:
    """Positives go to a hospital or a shelter hospital; contacts to an isolation facility."""
    if kind is TransferKind.POSITIVE:
        return destination in (DestinationKind.HOSPITAL, DestinationKind.SHELTER_HOSPITAL)
    return destination is DestinationKind.FACILITY


def is_transfer_overdue(*, status: TransferStatus, deadline_at: datetime, now: datetime) -> bool:
    """An open transfer past its deadline (a checked-in one is never overdue)."""
    return status is not TransferStatus.CHECKED_IN and now > deadline_at


def overdue_by(*, deadline_at: datetime, now: datetime) -> str:
    """How late, for the board: "2 h 15 min"."""
    minutes = max(0, int((now - deadline_at).total_seconds() // 60))
    return f"{minutes // 60} h {minutes % 60} min"


# --- Daily home monitoring ---------------------------------------------------------------------

HOME_KINDS = (PhaseKind.HOME_ISOLATION, PhaseKind.HOME_MONITORING)


def needs_follow_up(*, temperature: float, symptoms: Iterable[str], fever_at: float) -> bool:
    """A check-in with a temperature at or above ``fever_at`` or any symptom is flagged."""
    return temperature >= fever_at or any(True for _ in symptoms)


def checkin_expected(*, kind: PhaseKind, phase_started_on: date, day: date) -> bool:
    """Whether a person under this phase owes a check-in on ``day`` (home phases only, from
    the local day the phase started)."""
    return kind in HOME_KINDS and phase_started_on <= day


# --- Beds: capacity, forecast, reserve ---------------------------------------------------------


@dataclass(frozen=True)
class FacilityBeds:
    """One facility's beds by state: occupied and free in a facility in use, all beds of a
    facility being cleaned, all beds of a facility held in reserve."""

    facility_id: int
    name: str
    status: FacilityStatus
    beds: int
    occupied: int

    @property
    def free(self) -> int:
        return self.beds - self.occupied if self.status is FacilityStatus.IN_USE else 0

    @property
    def cleaning(self) -> int:
        return self.beds - self.occupied if self.status is FacilityStatus.CLEANING else 0

    @property
    def reserve(self) -> int:
        return self.beds - self.occupied if self.status is FacilityStatus.RESERVE else 0


@dataclass(frozen=True)
class BedDay:
    day: date
    staying: int  # people already in a room whose phase has not ended by this day
    arriving: int  # pending people and the trend's new arrivals still inside their stay

    @property
    def needed(self) -> int:
        return self.staying + self.arriving


@dataclass(frozen=True)
class BedForecast:
    days: tuple[BedDay, ...]
    pending: int
    daily_arrivals: float
    stay_days: int
    explanation: str

    @property
    def peak(self) -> BedDay:
        return max(self.days, key=lambda d: (d.needed, -d.day.toordinal()))


def forecast_beds(
    *,
    occupied_until: Sequence[date],
    pending: int,
    recent_arrivals: Sequence[int],
    stay_days: int,
    today: date,
    days: int,
) -> BedForecast:
    """Beds needed on each of the next ``days`` days (today first).

    Each person in a room stays until the end date of their centralised phase (they need a bed
    on every day before it). The ``pending`` people (contacts due for isolation and orders not
    yet in a room) arrive today and stay ``stay_days``. The trend is the mean of
    ``recent_arrivals`` (people put into rooms on each recent day): that many arrive on every
    following day, each staying ``stay_days``.
    """
    daily = sum(recent_arrivals) / len(recent_arrivals) if recent_arrivals else 0.0
    forecast = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        staying = sum(1 for end in occupied_until if end > day)
        from_pending = pending if offset < stay_days else 0
        trend_days = min(offset, stay_days)
        arriving = from_pending + int(np.ceil(daily * trend_days))
        forecast.append(BedDay(day, staying, arriving))
    explanation = (
        f"{len(occupied_until)} in rooms leave on their phase's end; {pending} pending arrive "
        f"today; {daily:.1f} a day arrive after that (mean of the last "
        f"{len(recent_arrivals)} days); each stays {stay_days} days"
    )
    return BedForecast(tuple(forecast), pending, daily, stay_days, explanation)


@dataclass(frozen=True)
class ReserveWarning:
    is_short: bool
    usable: int
    peak_needed: int
    left_at_peak: int
    minimum_left: int
    explanation: str


def reserve_warning(
    *, facilities: Sequence[FacilityBeds], forecast: BedForecast, share: float
) -> ReserveWarning:
    """Whether the beds left at the forecast peak fall below ``share`` of all beds.

    Usable beds are those of facilities in use and in reserve (a facility being cleaned is not
    counted until it is back)."""
    total = sum(f.beds for f in facilities)
    usable = sum(f.beds for f in facilities if f.status is not FacilityStatus.CLEANING)
    peak = forecast.peak
    left = usable - peak.needed
    minimum = int(np.ceil(total * share))
    short = left < minimum
    verdict = "below" if short else "at or above"
    explanation = (
        f"peak of {peak.needed} beds on {peak.day.isoformat()}: {usable} usable beds leave "
        f"{left}, {verdict} the reserve of {minimum} ({share:.0%} of {total})"
    )
    return ReserveWarning(short, usable, peak.needed, left, minimum, explanation)


def common_area_path(paths: Iterable[str]) -> str:
    """The deepest area path containing every one of ``paths`` ("/" when they share none)."""
    split = [[part for part in path.split("/") if part] for path in paths]
    if not split:
        return "/"
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return "/" + "".join(f"{part}/" for part in common)


@dataclass(frozen=True)
class ScheduledTest:
    """One required test of an order: its phase, phase day, the start of that day's 24 hours,
    and the result filed for it (None: not done yet)."""

    phase_index: int
    kind: PhaseKind
    day: int
    due_from: datetime
    result: SampleResult | None


def required_tests(
    *,
    rule: CategoryRule,
    phase_starts: Sequence[datetime],
    tests: Iterable[tuple[int, int, SampleResult]],
    order_started_at: datetime | None = None,
    section: IsolationSection | None = None,
) -> list[ScheduledTest]:
    """The required tests of the phases started so far (``phase_starts``, one per phase up to
    the current one), each with its result; a positive on a day wins over a negative. With the
    order's start and its pack section, days the pack does not require of a late order (see
    :func:`required_test_days`) are left out."""
    results: dict[tuple[int, int], SampleResult] = {}
    for phase_index, day, result in tests:
        if results.get((phase_index, day)) is not SampleResult.POSITIVE:
            results[(phase_index, day)] = result
    schedule = []
    for index, start in enumerate(phase_starts[: len(rule.phases)]):
        phase = rule.phases[index]
        days = (
            phase.test_days
            if section is None
            else required_test_days(
                phase=phase,
                phase_started_at=start,
                order_started_at=order_started_at,
                section=section,
            )
        )
        for day in days:
            schedule.append(
                ScheduledTest(
                    index, phase.kind, day, start + (day - 1) * DAY, results.get((index, day))
                )
            )
    return schedule
