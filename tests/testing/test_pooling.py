from __future__ import annotations

import math

import numpy as np
import pytest

from fangkong.testing.errors import TestingError, TestingErrorCode
from fangkong.testing.pooling import (
    dilution_cap,
    dorfman_tests_per_person,
    estimate_prevalence,
    estimate_prevalence_single_size,
    information_floor,
    plan_pools,
)


def plan(prevalence: float, cap: int, ct_budget: float | None = None):  # type: ignore[no-untyped-def]
    [result] = plan_pools(
        areas=["430203"], prevalences=[prevalence], max_pool_size=cap, max_ct_shift=ct_budget
    )
    return result


def test_it_reproduces_dorfmans_optimum_at_one_percent() -> None:
    result = plan(0.01, cap=200)

    assert result.pool_size == 11
    assert result.tests_per_person == pytest.approx(1 / 11 + 1 - 0.99**11, abs=1e-12)
    assert round(result.tests_per_person, 4) == 0.1956
    assert round(result.information_floor, 4) == 0.0808
    assert round(result.ct_shift, 2) == 3.46


@pytest.mark.parametrize(
    ("_case", "prevalence", "k_star", "t_star", "t_cap10", "t_cap20", "floor"),
    [
        # performance.md §4 table; values recomputed here to 4 decimals.
        ("0.1%", 0.001, 32, 0.0628, 0.1100, 0.0698, 0.0114),
        ("0.5%", 0.005, 15, 0.1391, 0.1489, 0.1391, 0.0454),
        ("2%", 0.02, 8, 0.2742, 0.2742, 0.2742, 0.1414),
        ("5%", 0.05, 5, 0.4262, 0.4262, 0.4262, 0.2864),
        ("10%", 0.10, 4, 0.5939, 0.5939, 0.5939, 0.4690),
    ],
)
def test_it_matches_the_group_testing_table(
    _case: str,
    prevalence: float,
    k_star: int,
    t_star: float,
    t_cap10: float,
    t_cap20: float,
    floor: float,
) -> None:
    assert plan(prevalence, cap=200).pool_size == k_star
    assert round(plan(prevalence, cap=200).tests_per_person, 4) == t_star
    assert round(plan(prevalence, cap=10).tests_per_person, 4) == t_cap10
    assert round(plan(prevalence, cap=20).tests_per_person, 4) == t_cap20
    assert round(plan(prevalence, cap=10).information_floor, 4) == floor


def test_it_caps_the_pool_at_the_policy_limit_and_reports_the_unconstrained_optimum() -> None:
    result = plan(0.001, cap=10)

    assert (result.pool_size, result.unconstrained_pool_size) == (10, 32)
    assert round(result.unconstrained_tests_per_person, 4) == 0.0628


def test_it_caps_the_pool_by_the_ct_dilution_budget() -> None:
    # A 3-cycle budget allows 2^3 = 8 people per tube, below the 20-person policy cap.
    assert dilution_cap(3.0) == 8
    assert plan(0.001, cap=20, ct_budget=3.0).pool_size == 8
    assert dilution_cap(None) is None


def test_it_tests_individually_when_pooling_no_longer_pays() -> None:
    result = plan(0.35, cap=20)

    assert result.pool_size == 1
    assert result.tests_per_person == 1.0


def test_it_plans_many_areas_at_once() -> None:
    plans = plan_pools(
        areas=["a", "b", "c"], prevalences=[0.0, 0.01, 0.5], max_pool_size=10, max_ct_shift=None
    )

    assert [(p.area, p.pool_size) for p in plans] == [("a", 10), ("b", 10), ("c", 1)]
    assert plans[0].tests_per_person == pytest.approx(0.1)
    assert plans[0].information_floor == 0.0


@pytest.mark.parametrize(
    ("_case", "kwargs"),
    [
        ("prevalence above one", {"prevalences": [1.5]}),
        ("negative prevalence", {"prevalences": [-0.1]}),
        ("wrong length", {"prevalences": [0.1, 0.2]}),
        ("cap below one", {"prevalences": [0.1], "max_pool_size": 0}),
        ("negative Ct budget", {"prevalences": [0.1], "max_ct_shift": -1.0}),
    ],
)
def test_it_refuses_bad_planning_input(_case: str, kwargs: dict[str, object]) -> None:
    arguments: dict[str, object] = {"areas": ["a"], "max_pool_size": 10, **kwargs}

    with pytest.raises(TestingError) as refused:
        plan_pools(**arguments)  # type: ignore[arg-type]

    assert refused.value.code is TestingErrorCode.POOL_INPUT_INVALID


def test_it_computes_tests_per_person_elementwise() -> None:
    costs = dorfman_tests_per_person(0.01, np.array([1, 10, 11]))

    assert costs[0] == 1.0
    assert costs[1] == pytest.approx(0.1 + 1 - 0.99**10)
    assert information_floor([0.0, 0.5, 1.0]).tolist() == [0.0, 1.0, 0.0]


def test_it_estimates_prevalence_by_maximum_likelihood_from_pool_positivity() -> None:
    # 3 of 100 ten-person pools positive: p = 1 - 0.97^(1/10).
    expected = 1 - 0.97 ** (1 / 10)

    closed = estimate_prevalence_single_size(positive_pools=3, pools=100, pool_size=10)
    numeric = estimate_prevalence(
        area_index=np.zeros(100, dtype=int),
        pool_sizes=np.full(100, 10),
        is_positive=np.arange(100) < 3,
        area_count=1,
    )

    assert closed == pytest.approx(expected, rel=1e-12)
    assert numeric[0] == pytest.approx(expected, rel=1e-9)
    assert round(expected, 6) == 0.003041


def test_it_estimates_each_area_from_mixed_pool_sizes() -> None:
    estimates = estimate_prevalence(
        area_index=[0, 0, 0, 1, 1, 2, 2],
        pool_sizes=[10, 20, 1, 10, 10, 5, 5],
        is_positive=[True, False, False, False, False, True, True],
        area_count=4,
    )

    # Area 0: maximise log(1-(1-p)^10) + 20 log(1-p) + log(1-p); the root of its derivative
    # solves 10 (1-p)^9 / (1 - (1-p)^10) = 21 / (1-p).
    p = estimates[0]
    assert 10 * (1 - p) ** 9 / (1 - (1 - p) ** 10) == pytest.approx(21 / (1 - p), rel=1e-9)
    assert round(float(p), 4) == 0.0382
    assert estimates[1] == 0.0
    assert estimates[2] == 1.0
    assert math.isnan(estimates[3])


def test_it_refuses_pool_results_that_do_not_line_up() -> None:
    with pytest.raises(TestingError) as refused:
        estimate_prevalence(area_index=[0, 1], pool_sizes=[10], is_positive=[True], area_count=2)

    assert refused.value.code is TestingErrorCode.POOL_INPUT_INVALID
