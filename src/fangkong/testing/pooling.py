"""Pool planning for mass testing (pure: numbers in, numbers out; numpy for whole-city grids).

Definitions: ``p`` prevalence (fraction of people positive), ``k`` pool size (people per tube),
``T`` expected tests per person.

* Dorfman two-stage pooling (Dorfman 1943, *Ann. Math. Statist.* 14:436): every pool is tested
  once and every member of a positive pool is re-tested alone, so
  ``T(k, p) = 1/k + 1 − (1 − p)^k`` for ``k ≥ 2`` and ``T(1, p) = 1``.
* The information-theoretic floor: no scheme identifies every positive with fewer than
  ``H(p) = −p·log2 p − (1 − p)·log2(1 − p)`` tests per person on average.
* Dilution: each two-fold dilution delays detection by about one PCR cycle, so a k-pool shifts Ct
  by about ``log2 k`` (performance.md §4); a Ct budget ``b`` therefore caps ``k ≤ 2^b``.
* Prevalence from pooled results: the maximum-likelihood estimate from pools of one size ``k``
  with positive fraction ``q`` is ``p̂ = 1 − (1 − q)^(1/k)``; with mixed sizes the likelihood
  ``Σ x·log(1 − (1 − p)^k) + (1 − x)·k·log(1 − p)`` is maximised numerically (its derivative
  decreases in p, so bisection finds the root). This assumes members are independent, which
  household pooling violates upward of the truth only slightly at low prevalence.

Policy numbers (the pool cap, the Ct budget) are parameters: they come from the rule pack.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fangkong.testing.errors import TestingError, TestingErrorCode

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
_BISECTION_STEPS = 60  # halves [0, 1] to below 1e-18: far finer than any prevalence we report


@dataclass(frozen=True, slots=True)
class PoolPlan:
    """The pool size chosen for one area and how it compares with the bounds.

    ``tests_per_person`` is the expected Dorfman cost at ``pool_size``;
    ``unconstrained_pool_size``/``unconstrained_tests_per_person`` the Dorfman optimum without the
    cap and Ct budget; ``information_floor`` is H(p). All costs are tests per person.
    """

    area: str
    prevalence: float
    pool_size: int
    tests_per_person: float
    unconstrained_pool_size: int
    unconstrained_tests_per_person: float
    information_floor: float

    @property
    def ct_shift(self) -> float:
        """Expected Ct delay of a positive sample in a pool of this size (cycles)."""
        return math.log2(self.pool_size)


def _invalid(message: str, field: str) -> TestingError:
    return TestingError(TestingErrorCode.POOL_INPUT_INVALID, message, field=field)


def dorfman_tests_per_person(prevalence: ArrayLike, pool_size: ArrayLike) -> FloatArray:
    """Expected Dorfman tests per person, elementwise (broadcasts like numpy)."""
    p = np.asarray(prevalence, dtype=np.float64)
    k = np.asarray(pool_size, dtype=np.float64)
    pooled = 1.0 / k + 1.0 - np.power(1.0 - p, k)
    return np.asarray(np.where(k <= 1, 1.0, pooled), dtype=np.float64)


def information_floor(prevalence: ArrayLike) -> FloatArray:
    """Binary entropy H(p) in bits = the fewest tests per person any scheme can average."""
    p = np.clip(np.asarray(prevalence, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = -(p * np.log2(p)) - (1.0 - p) * np.log2(1.0 - p)
    return np.asarray(np.nan_to_num(terms, nan=0.0), dtype=np.float64)


def dilution_cap(max_ct_shift: float | None) -> int | None:
    """The largest pool whose expected Ct delay log2(k) stays within ``max_ct_shift`` cycles."""
    if max_ct_shift is None:
        return None
    if max_ct_shift < 0:
        raise _invalid("the Ct budget cannot be negative", "max_ct_shift")
    return max(1, int(2.0**max_ct_shift + 1e-9))  # int() floors a positive float


@dataclass(frozen=True, slots=True)
class PoolPlanTable:
    """Plans for many areas as columns (index i = the i-th prevalence given); see PoolPlan."""

    prevalence: FloatArray
    pool_size: IntArray
    tests_per_person: FloatArray
    unconstrained_pool_size: IntArray
    unconstrained_tests_per_person: FloatArray
    information_floor: FloatArray


def plan_pool_table(
    *,
    prevalences: ArrayLike,
    max_pool_size: int,
    max_ct_shift: float | None = None,
    search_limit: int = 200,
) -> PoolPlanTable:
    """The Dorfman-optimal pool size per area, under a policy cap and a dilution budget.

    Every area is solved at once on an (areas × pool sizes) grid. Ties go to the smaller pool
    (less dilution for the same cost). ``search_limit`` bounds the unconstrained search; the
    unconstrained optimum is about 1/√p, so 200 covers prevalences down to 0.003%.
    """
    p = np.asarray(prevalences, dtype=np.float64)
    if p.ndim != 1:
        raise _invalid("give one prevalence per area", "prevalences")
    if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise _invalid("prevalences are fractions between 0 and 1", "prevalences")
    if max_pool_size < 1:
        raise _invalid("the pool cap is at least 1", "max_pool_size")
    cap = max_pool_size
    dilution = dilution_cap(max_ct_shift)
    if dilution is not None:
        cap = min(cap, dilution)
    sizes = np.arange(1, max(search_limit, cap) + 1, dtype=np.float64)
    # (1-p)^k for every k by running products along the row: one multiply per cell instead of
    # a power; the rounding error after 200 products (~1e-14) is far below any cost difference
    # that decides a pool size.
    survive = np.cumprod(np.broadcast_to((1.0 - p)[:, None], (len(p), len(sizes))), axis=1)
    costs = (1.0 / sizes + 1.0) - survive
    costs[:, 0] = 1.0  # a "pool" of one is an individual test
    best_all = np.argmin(costs, axis=1)  # argmin returns the first (smallest k) on ties
    best_capped = np.argmin(costs[:, :cap], axis=1)
    rows = np.arange(len(p))
    return PoolPlanTable(
        prevalence=p,
        pool_size=(best_capped + 1).astype(np.int64),
        tests_per_person=costs[rows, best_capped],
        unconstrained_pool_size=(best_all + 1).astype(np.int64),
        unconstrained_tests_per_person=costs[rows, best_all],
        information_floor=information_floor(p),
    )


def plan_pools(
    *,
    areas: Sequence[str],
    prevalences: ArrayLike,
    max_pool_size: int,
    max_ct_shift: float | None = None,
    search_limit: int = 200,
) -> list[PoolPlan]:
    """:func:`plan_pool_table` as one :class:`PoolPlan` per named area."""
    p = np.asarray(prevalences, dtype=np.float64)
    if p.ndim != 1 or len(p) != len(areas):
        raise _invalid("give one prevalence per area", "prevalences")
    table = plan_pool_table(
        prevalences=p,
        max_pool_size=max_pool_size,
        max_ct_shift=max_ct_shift,
        search_limit=search_limit,
    )
    return [
        PoolPlan(
            area=area,
            prevalence=prevalence,
            pool_size=capped,
            tests_per_person=capped_t,
            unconstrained_pool_size=free,
            unconstrained_tests_per_person=free_t,
            information_floor=floor_t,
        )
        for area, prevalence, capped, capped_t, free, free_t, floor_t in zip(
            areas,
            table.prevalence.tolist(),
            table.pool_size.tolist(),
            table.tests_per_person.tolist(),
            table.unconstrained_pool_size.tolist(),
            table.unconstrained_tests_per_person.tolist(),
            table.information_floor.tolist(),
            strict=True,
        )
    ]


def estimate_prevalence(
    *,
    area_index: ArrayLike,
    pool_sizes: ArrayLike,
    is_positive: ArrayLike,
    area_count: int,
) -> FloatArray:
    """Maximum-likelihood prevalence per area from recent pool results.

    One entry per tested pool: the index of its area (0..area_count-1), its size and whether it
    was positive. Areas with no pools get NaN; areas with no positive pool get 0; areas where
    every pool was positive get 1 (the likelihood grows all the way to p = 1).
    """
    area = np.asarray(area_index, dtype=np.int64)
    k = np.asarray(pool_sizes, dtype=np.float64)
    x = np.asarray(is_positive, dtype=bool)
    if not (area.shape == k.shape == x.shape) or area.ndim != 1:
        raise _invalid("area_index, pool_sizes and is_positive have one entry per pool", "pools")
    if len(area) and (area.min() < 0 or area.max() >= area_count):
        raise _invalid("an area index is outside 0..area_count-1", "area_index")
    if np.any(k < 1):
        raise _invalid("pool sizes are at least 1", "pool_sizes")
    pools = np.bincount(area, minlength=area_count)
    positives = np.bincount(area, weights=x, minlength=area_count)
    low = np.zeros(area_count)
    high = np.ones(area_count)
    negative_weight = np.bincount(area, weights=np.where(x, 0.0, k), minlength=area_count)
    for _ in range(_BISECTION_STEPS):
        mid = (low + high) / 2.0
        survive = np.power(1.0 - mid[area], k)  # P(pool negative) at the trial prevalence
        # Areas whose pools were all positive push mid to 1.0, where these divide by zero; their
        # estimate is overwritten with 1 below.
        with np.errstate(divide="ignore", invalid="ignore"):
            gain = np.where(x, k * survive / (1.0 - mid[area]) / (1.0 - survive), 0.0)
            score = np.bincount(area, weights=gain, minlength=area_count) - negative_weight / (
                1.0 - mid
            )
        rising = score > 0
        low = np.where(rising, mid, low)
        high = np.where(rising, high, mid)
    estimate = (low + high) / 2.0
    estimate = np.where(positives == 0, 0.0, estimate)
    estimate = np.where(positives == pools, 1.0, estimate)
    return np.asarray(np.where(pools == 0, np.nan, estimate), dtype=np.float64)


def estimate_prevalence_single_size(*, positive_pools: int, pools: int, pool_size: int) -> float:
    """The closed-form MLE p̂ = 1 − (1 − q)^(1/k) for pools of one size."""
    if pools <= 0 or pool_size < 1 or not 0 <= positive_pools <= pools:
        raise _invalid("need 0 <= positive pools <= pools, pools > 0, pool size >= 1", "pools")
    return float(1.0 - (1.0 - positive_pools / pools) ** (1.0 / pool_size))
