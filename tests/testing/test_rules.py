"""Pure rules of result effects and round monitoring."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from fangkong.testing import rules
from fangkong.testing.enums import LabResult, PersonTestState
from fangkong.testing.section import CadencePolicy

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


# --- Round cadence ------------------------------------------------------------------------------

CN9_CADENCE = CadencePolicy(rule_ref="cn-9@1#test.round_cadence")
D1 = date(2022, 11, 1)


def _days(*clear: bool) -> list[tuple[date, bool]]:
    """Daily rounds from D1 with the given outcomes (True: no community infection)."""
    return [(D1 + timedelta(days=n), ok) for n, ok in enumerate(clear)]


@pytest.mark.parametrize(
    ("rounds", "expected"),
    [
        pytest.param(_days(False), date(2022, 11, 2), id="infection: daily"),
        pytest.param(_days(True), date(2022, 11, 2), id="one clear: daily"),
        pytest.param(_days(False, True, True), date(2022, 11, 4), id="two clear: daily"),
        pytest.param(_days(False, True, True, True), date(2022, 11, 7), id="three clear: +3 days"),
        pytest.param(
            _days(True, True, False, True, True), date(2022, 11, 6), id="an infection restarts"
        ),
        pytest.param(
            [*_days(True, True, True), (date(2022, 11, 6), True)], None, id="confirmed: stop"
        ),
        pytest.param(
            [*_days(True, True, True), (date(2022, 11, 6), False)],
            date(2022, 11, 7),
            id="the confirming round finds one: daily again",
        ),
    ],
)
def test_the_next_round_follows_the_cn9_cadence(
    rounds: list[tuple[date, bool]], expected: date | None
) -> None:
    assert rules.next_round_date(rounds=rounds, policy=CN9_CADENCE) == expected


def test_a_cadence_without_confirming_rounds_stops_after_the_clear_ones() -> None:
    policy = CadencePolicy(rule_ref="local@1#test.round_cadence", every_days=2, confirm_rounds=0)
    assert rules.next_round_date(rounds=_days(True, True), policy=policy) == date(2022, 11, 4)
    assert rules.next_round_date(rounds=_days(True, True, True), policy=policy) is None
    with pytest.raises(ValueError):
        rules.next_round_date(rounds=[], policy=policy)
