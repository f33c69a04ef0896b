"""Daily risk evaluation for 20,000 compounds and the release check for 200,000 open isolation
orders: the vectorised rules against a per-row loop over the same pure functions, in one run.
Both must decide identically; the target is at most 2 s for each vectorised pass.

Run: ``.venv/bin/python bench/bench_areas.py [--compounds 20000] [--orders 200000]``
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as clock_time

import numpy as np

from fangkong.areas.enums import Scope
from fangkong.areas.rules import AreaMatrix, evaluate_area, evaluate_areas_batch, history_rows
from fangkong.areas.section import AREAS_SECTION
from fangkong.isolation.enums import Category, SampleResult
from fangkong.isolation.rules import OUTCOMES, OrderMatrix, release_check, release_check_batch
from fangkong.isolation.schemas import OrderFacts, TakenTest
from fangkong.isolation.section import ISOLATION_SECTION
from fangkong.rulepacks.catalog import load_catalog

TARGET_SECONDS = 2.0
CST = timezone(timedelta(hours=8))
FIRST_DAY = date(2022, 11, 1)
DAYS = 21


def best_of(repeat: int, work):  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return min(times), result


def bench_areas(compounds: int, pack_id: str, repeat: int) -> None:
    section = load_catalog(schemas=[AREAS_SECTION]).get(pack_id).section(AREAS_SECTION)
    rng = np.random.default_rng(20221111)
    matrix = AreaMatrix(
        first_day=FIRST_DAY,
        level=rng.integers(0, len(section.levels) - 1, compounds),
        designated=rng.integers(0, len(section.levels) - 1, compounds),
        level_since=rng.integers(0, 7, compounds),
        infections=(rng.random((compounds, DAYS)) < 0.03).astype(np.int64),
        infections_isolated=(rng.random((compounds, DAYS)) < 0.01).astype(np.int64),
        negative_rounds=rng.integers(0, 2, (compounds, DAYS)),
        recorded=rng.random((compounds, DAYS)) < 0.99,
        open_cases=(rng.random(compounds) < 0.02).astype(np.int64),
        higher_inside=np.zeros(compounds, np.int64),
        scope=Scope.PLACE,
    )
    now = datetime.combine(FIRST_DAY + timedelta(days=DAYS - 1), clock_time(20), CST)
    histories = history_rows(matrix, section)
    vector, (levels, _) = best_of(
        repeat, lambda: evaluate_areas_batch(matrix=matrix, now=now, section=section)
    )
    loop, decided = best_of(
        1, lambda: [evaluate_area(history=h, now=now, section=section) for h in histories]
    )
    mismatches = sum(
        section.levels[int(level)] != decision.level
        for level, decision in zip(levels.tolist(), decided, strict=True)
    )
    changed = int((levels != matrix.level).sum())
    print(
        f"| risk evaluation, {pack_id} | {compounds:,} compounds × {DAYS} days "
        f"| {vector * 1000:.1f} ms | {loop * 1000:.0f} ms | {loop / vector:.0f}× "
        f"| {changed:,} changed, {mismatches} differ "
        f"| {'yes' if vector <= TARGET_SECONDS else 'NO'} |"
    )


def bench_release(orders: int, repeat: int) -> None:
    section = load_catalog(schemas=[ISOLATION_SECTION]).get("cn-9").section(ISOLATION_SECTION)
    rule = section.rule_for(Category.CLOSE_CONTACT)
    assert rule is not None
    rng = np.random.default_rng(20221112)
    now = datetime(2022, 11, 20, 12, 0, tzinfo=UTC)
    phase = rng.integers(0, len(rule.phases), orders)
    ends_at = int(now.timestamp()) + rng.integers(-3 * 86400, 3 * 86400, orders)
    required_by_phase = np.array([sum(1 << d for d in p.test_days) for p in rule.phases])
    negative = rng.integers(0, 256, orders) & ~1 | np.where(
        rng.random(orders) < 0.8, required_by_phase[phase], 0
    )
    positive = np.where(rng.random(orders) < 0.01, 1 << rng.integers(1, 8, orders), 0)
    matrix = OrderMatrix(
        ends_at=ends_at,
        required=required_by_phase[phase],
        negative=negative,
        positive=positive,
        is_last=phase == len(rule.phases) - 1,
    )
    facts = [
        OrderFacts(
            Category.CLOSE_CONTACT,
            int(phase[i]),
            datetime.fromtimestamp(int(ends_at[i]), UTC),
            tuple(
                TakenTest(
                    d, SampleResult.POSITIVE if positive[i] >> d & 1 else SampleResult.NEGATIVE
                )
                for d in range(1, 8)
                if (negative[i] | positive[i]) >> d & 1
            ),
        )
        for i in range(orders)
    ]
    vector, outcomes = best_of(repeat, lambda: release_check_batch(orders=matrix, now=now))
    loop, decided = best_of(
        1, lambda: [release_check(facts=f, now=now, section=section) for f in facts]
    )
    mismatches = sum(
        OUTCOMES[int(code)] != decision.outcome
        for code, decision in zip(outcomes.tolist(), decided, strict=True)
    )
    counts = {str(o): int((outcomes == i).sum()) for i, o in enumerate(OUTCOMES)}
    print(
        f"| release check, cn-9 7+3 | {orders:,} open orders | {vector * 1000:.1f} ms "
        f"| {loop * 1000:.0f} ms | {loop / vector:.0f}× | {mismatches} differ; {counts} "
        f"| {'yes' if vector <= TARGET_SECONDS else 'NO'} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--compounds", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()
    print("| job | size | vectorised (best of runs) | per-row loop | ratio | check | ≤ 2 s |")
    print("|---|---|---|---|---|---|---|")
    for pack_id in ("cn-9", "zhuzhou-2022-11"):
        bench_areas(arguments.compounds, pack_id, arguments.repeat)
    bench_release(arguments.orders, arguments.repeat)


if __name__ == "__main__":
    main()
