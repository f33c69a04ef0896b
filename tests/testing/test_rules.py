"""Pure rules of result effects and round monitoring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fangkong.testing import rules
from fangkong.testing.enums import LabResult, PersonTestState

NOW = datetime(2022, 11, 10, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("_case", "result", "members", "expected"),
    [
        ("negative pool", LabResult.NOT_DETECTED, 10, PersonTestState.NEGATIVE),
        ("negative single", LabResult.NOT_DETECTED, 1, PersonTestState.NEGATIVE),
        ("positive pool", LabResult.DETECTED, 10, PersonTestState.PENDING_REVIEW),
        ("positive pair", LabResult.DETECTED, 2, PersonTestState.PENDING_REVIEW),
        ("positive single", LabResult.DETECTED, 1, PersonTestState.POSITIVE),
        ("invalid", LabResult.INVALID, 10, PersonTestState.RESAMPLE),
        ("inconclusive single", LabResult.INCONCLUSIVE, 1, PersonTestState.RESAMPLE),
    ],
)
def test_what_a_tube_means_for_its_members(
    _case: str, result: LabResult, members: int, expected: PersonTestState
) -> None:
    assert rules.tube_state(result=result, member_count=members) is expected


def test_turnaround_percentiles_are_nearest_rank() -> None:
    assert rules.distribution([]) == rules.Distribution(0, None, None, None)
    assert rules.distribution([5, 1, 4, 2, 3, 10, 9, 8, 7, 6]) == rules.Distribution(10, 5, 9, 10)
    assert rules.distribution([7]) == rules.Distribution(1, 7, 7, 7)


def test_the_completion_estimate_uses_the_last_hour() -> None:
    assert rules.completion(required=100, sampled=40, last_hour=20, now=NOW).eta == NOW + timedelta(
        hours=3
    )
    assert rules.completion(required=100, sampled=40, last_hour=0, now=NOW).eta is None
    done = rules.completion(required=100, sampled=100, last_hour=0, now=NOW)
    assert (done.eta, done.remaining, done.percent) == (NOW, 0, 100.0)
