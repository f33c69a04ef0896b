"""Pure decisions of the testing domain: what a tube's result means for its members, and the
figures of round monitoring (turnaround percentiles, completion estimate)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from fangkong.testing.enums import LabResult, PersonTestState


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
