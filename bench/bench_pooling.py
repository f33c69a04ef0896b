"""Pool planning figures for a grid of prevalences, and the vectorised planner against a naive
per-area Python loop in the same run.

Run: ``.venv/bin/python bench/bench_pooling.py [--areas 20000]``
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from fangkong.testing.pooling import plan_pool_table, plan_pools

GRID = (0.0001, 0.001, 0.005, 0.01, 0.02, 0.05, 0.10)
SEARCH_LIMIT = 200


def naive_plan(prevalences: list[float], cap: int) -> list[tuple[int, float]]:
    """The baseline: for each area, try every pool size in pure Python."""
    plans = []
    for p in prevalences:
        best_k, best_t = 1, 1.0
        for k in range(2, cap + 1):
            t = 1.0 / k + 1.0 - (1.0 - p) ** k
            if t < best_t:
                best_k, best_t = k, t
        plans.append((best_k, best_t))
    return plans


def print_grid() -> None:
    print(
        "| p | Dorfman k* | T* | k, T (cap 10) | k, T (cap 20) | e·p·ln(1/p) | H(p) "
        "| Ct shift at k* |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for p in GRID:
        free, cap10, cap20 = (
            plan_pools(areas=["x"], prevalences=[p], max_pool_size=cap)[0]
            for cap in (SEARCH_LIMIT, 10, 20)
        )
        print(
            f"| {p:.2%} | {free.pool_size} | {free.tests_per_person:.4f} "
            f"| {cap10.pool_size}, {cap10.tests_per_person:.4f} "
            f"| {cap20.pool_size}, {cap20.tests_per_person:.4f} "
            f"| {math.e * p * math.log(1 / p):.4f} | {free.information_floor:.4f} "
            f"| {free.ct_shift:.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--areas", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    print_grid()
    rng = np.random.default_rng(20221110)
    prevalences = rng.uniform(0.0, 0.05, arguments.areas)
    vector_times, naive_times = [], []
    for _ in range(arguments.repeat):
        start = time.perf_counter()
        table = plan_pool_table(prevalences=prevalences, max_pool_size=SEARCH_LIMIT)
        vector_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        baseline = naive_plan(prevalences.tolist(), SEARCH_LIMIT)
        naive_times.append(time.perf_counter() - start)
    mismatches = sum(
        size != k or abs(cost - t) > 1e-12
        for size, cost, (k, t) in zip(
            table.pool_size.tolist(), table.tests_per_person.tolist(), baseline, strict=True
        )
    )
    vector, naive = min(vector_times), min(naive_times)
    print()
    print(f"areas: {arguments.areas}, pool sizes searched: 1-{SEARCH_LIMIT}")
    print(f"vectorised planner: {vector * 1000:.1f} ms ({arguments.areas / vector:,.0f} areas/s)")
    print(f"naive per-area loop: {naive * 1000:.1f} ms ({arguments.areas / naive:,.0f} areas/s)")
    print(f"ratio (naive / vectorised): {naive / vector:.1f}x; plans differing: {mismatches}")


if __name__ == "__main__":
    main()
