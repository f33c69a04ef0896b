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
    PhaseKind,
    PlacementReason,
    ReleaseOutcome,
    SampleResult,
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
    by_day: dict[int, list[TakenTest]] = {}
    for test in facts.tests:
        by_day.setdefault(test.day, []).append(test)
    positive = tuple(
        day
        for day in phase.test_days
        if any(not _counts_negative(test, phase) for test in by_day.get(day, []))
    )
    missing = tuple(
        day
        for day in phase.test_days
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
    ``required`` the phase's test days, ``negative``/``positive`` the days with such a result;
    ``ends_at`` is the phase end in seconds since the epoch; ``is_last`` whether it is the
    order's last phase."""

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
