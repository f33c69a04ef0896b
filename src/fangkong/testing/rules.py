"""Pure decisions of the testing domain: what a tube's result means for its members, and the
figures of round monitoring (turnaround percentiles, completion estimate)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from fangkong.testing.enums import LabResult, PersonTestState
from fangkong.testing.section import CadencePolicy, PoolSizePolicy


def tube_state(*, result: LabResult, member_count: int) -> PersonTestState:
    """A negative tube clears every member; an invalid or inconclusive one calls them back; a
    positive pool (more than one member) puts every member in review (待复核); a positive
    single tube makes the person positive."""
    if result is LabResult.NOT_DETECTED:
        return PersonTestState.NEGATIVE
    if result in (LabResult.INVALID, LabResult.INCONCLUSIVE):
        return PersonTestState.RESAMPLE
    if member_count > 1:
        return PersonTestState.PENDING_REVIEW
    return PersonTestState.POSITIVE


def pool_size_for(*, risk_level: str, is_isolation_site: bool, policy: PoolSizePolicy) -> int:
    """People per tube for a tube opened for a place: the pack's size for a centralised
    isolation site, else for the risk level of the place's area (``high``, ``medium``, ``low``;
    ``normal`` or any level the pack does not name gets the ``normal`` size)."""
    if is_isolation_site:
        return policy.isolation_site
    return policy.for_level(risk_level)


def next_round_date(*, rounds: Sequence[tuple[date, bool]], policy: CadencePolicy) -> date | None:
    """The day of the next round, from the past rounds in date order as ``(day, clear)`` where
    ``clear`` means the round found no community infection; None when mass testing stops.

    Rounds repeat every ``every_days`` until ``clear_rounds`` clear rounds in a row; then
    ``confirm_rounds`` more follow ``then_after_days`` apart; when they are clear as well the
    testing stops. A round that finds an infection starts the count again."""
    if not rounds:
        raise ValueError("the cadence follows the first round: give at least one")
    streak = 0
    for _, clear in reversed(rounds):
        if not clear:
            break
        streak += 1
    last = rounds[-1][0]
    if streak < policy.clear_rounds:
        return last + timedelta(days=policy.every_days)
    if streak < policy.clear_rounds + policy.confirm_rounds:
        return last + timedelta(days=policy.then_after_days)
    return None


@dataclass(frozen=True)
class Distribution:
    count: int
    p50: int | None
    p90: int | None
    maximum: int | None


def nearest_rank(ordered: Sequence[int], fraction: float) -> int:
    """The nearest-rank percentile of an ascending, non-empty sequence."""
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def distribution(values: Sequence[int]) -> Distribution:
    """p50, p90 (nearest rank) and maximum of ``values`` (e.g. turnaround seconds)."""
    ordered = sorted(values)
    if not ordered:
        return Distribution(0, None, None, None)
    return Distribution(
        len(ordered), nearest_rank(ordered, 0.5), nearest_rank(ordered, 0.9), ordered[-1]
    )


@dataclass(frozen=True)
class Completion:
    required: int
    sampled: int
    last_hour: int
    eta: datetime | None  # None when nobody was sampled in the last hour

    @property
    def remaining(self) -> int:
        return max(self.required - self.sampled, 0)

    @property
    def percent(self) -> float:
        return 100.0 * self.sampled / self.required if self.required else 100.0


def completion(*, required: int, sampled: int, last_hour: int, now: datetime) -> Completion:
    """Finish time at the rate of the last hour: ``now`` when nobody is left, None when the
    last hour sampled nobody."""
    remaining = max(required - sampled, 0)
    if remaining == 0:
        return Completion(required, sampled, last_hour, now)
    if last_hour <= 0:
        return Completion(required, sampled, last_hour, None)
    return Completion(required, sampled, last_hour, now + timedelta(hours=remaining / last_hour))


# --- Staggered sampling (分楼栋分楼层错峰) ----------------------------------------------------


@dataclass(frozen=True)
class FloorGroup:
    """The residents of one floor of one building."""

    building_id: int
    building_label: str
    floor: int
    people: int


@dataclass(frozen=True)
class Slot:
    starts: datetime
    ends: datetime
    groups: tuple[FloorGroup, ...]

    @property
    def people(self) -> int:
        return sum(group.people for group in self.groups)


def stagger(
    groups: Sequence[FloorGroup], *, opens: datetime, closes: datetime, slot_minutes: int
) -> list[Slot]:
    """Spread floors over the site's opening hours in ``slot_minutes`` slots, building by
    building and floor by floor in the given order, about the same number of people a slot: a
    floor is never split, a slot takes the next floor while it stays under its share (or while it
    is empty), and the last slot takes whatever remains."""
    if slot_minutes <= 0 or closes <= opens:
        raise ValueError("the site must open before it closes, in slots of at least a minute")
    length = timedelta(minutes=slot_minutes)
    count = max(1, int((closes - opens) / length))
    total = sum(group.people for group in groups)
    share = math.ceil(total / count) if total else 0
    filled: list[list[FloorGroup]] = [[] for _ in range(count)]
    index, load = 0, 0
    for group in groups:
        if filled[index] and load + group.people > share and index < count - 1:
            index, load = index + 1, 0
        filled[index].append(group)
        load += group.people
    return [
        Slot(opens + length * n, min(opens + length * (n + 1), closes), tuple(chosen))
        for n, chosen in enumerate(filled)
        if chosen
    ]


# --- Chasing positive pools ---------------------------------------------------------------------

# A building's chase status from its positive-pool members' re-samples: the least advanced
# member decides, so a building is "resolved" only when every member's single tube has a result.
CHASE_ORDERED = "ordered"  # a re-sample is ordered and nobody has taken it yet
CHASE_SAMPLED = "sampled"  # every member re-sampled, some single tubes await their result
CHASE_RESOLVED = "resolved"  # every member's single-tube result is in
CHASE_COLOURS = {CHASE_ORDERED: "#b3261e", CHASE_SAMPLED: "#ffcc80", CHASE_RESOLVED: "#c8e6c9"}


def chase_status(*, ordered: int, sampled: int, resolved: int) -> str:
    """The chase status of a building with that many members in each state."""
    if ordered:
        return CHASE_ORDERED
    if sampled:
        return CHASE_SAMPLED
    return CHASE_RESOLVED
