"""Risk-area rules, day by day for every pack: the area is lifted on exactly the day the pack
says, not a day earlier, and a new case restarts the count."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pytest

from fangkong.areas.enums import Basis, RiskLevel, Scope, TargetKind
from fangkong.areas.rules import (
    AreaMatrix,
    evaluate_area,
    evaluate_areas_batch,
    history_rows,
    propose_designations,
)
from fangkong.areas.schemas import AreaHistory, AreasSection, CasePlace, DayFacts
from fangkong.areas.section import AREAS_SECTION
from fangkong.rulepacks.catalog import load_catalog

CATALOG = load_catalog(schemas=[AREAS_SECTION])
CST = timezone(timedelta(hours=8))
DAY0 = date(2022, 11, 12)  # the day the area was designated


def section(pack_id: str) -> AreasSection:
    return CATALOG.get(pack_id).section(AREAS_SECTION)


Facts = Callable[[int], DayFacts]


def quiet(day: int) -> DayFacts:
    """No new infection, one all-negative round of all residents."""
    return DayFacts(DAY0 + timedelta(days=day), rounds=1, negative_rounds=1)


def case_on(*case_days: int, isolated: bool = False) -> Facts:
    def facts(day: int) -> DayFacts:
        if day in case_days:
            return DayFacts(
                DAY0 + timedelta(days=day),
                new_infections=1,
                new_infections_isolated=1 if isolated else 0,
                rounds=1,
            )
        return quiet(day)

    return facts


def rounds_on(*round_days: int, per_day: int = 1) -> Facts:
    def facts(day: int) -> DayFacts:
        count = per_day if day in round_days else 0
        return DayFacts(DAY0 + timedelta(days=day), rounds=count, negative_rounds=count)

    return facts


def run(
    pack_id: str,
    *,
    level: RiskLevel,
    facts: Facts,
    days: int = 16,
    scope: Scope = Scope.PLACE,
    higher_inside: int = 0,
) -> list[tuple[int, RiskLevel, str]]:
    """Evaluate each evening for ``days`` days; returns (day, new level, rule id) per change."""
    rules = section(pack_id)
    current, since, recorded, changes = level, DAY0, [], []
    for day in range(1, days + 1):
        recorded.append(facts(day))
        history = AreaHistory(
            level=current,
            designated_level=level,
            level_since=since,
            scope=scope,
            days=tuple(recorded),
            higher_areas_inside=higher_inside,
        )
        now = datetime.combine(DAY0 + timedelta(days=day), time(20), CST)
        decision = evaluate_area(history=history, now=now, section=rules)
        if decision.is_changed:
            assert decision.rule_id is not None
            changes.append((day, decision.level, decision.rule_id))
            current, since = decision.level, DAY0 + timedelta(days=day)
    return changes


H, M, L, N = RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.LOW, RiskLevel.NORMAL


@pytest.mark.parametrize(
    ("_case", "pack_id", "level", "facts", "expected"),
    [
        (
            "cn-9 §3.2: high → medium on day 7 (7 days, day-7 round negative), low 3 days later",
            "cn-9",
            H,
            quiet,
            [(7, M, "area.high_to_medium"), (10, L, "area.medium_after_high_to_low")],
        ),
        (
            "cn-9: a case on day 4 restarts the count: medium on day 11, low on day 14",
            "cn-9",
            H,
            case_on(4),
            [(11, M, "area.high_to_medium"), (14, L, "area.medium_after_high_to_low")],
        ),
        (
            "cn-9: a case on day 9 (while medium) restarts the 3 days: low on day 12",
            "cn-9",
            H,
            case_on(9),
            [(7, M, "area.high_to_medium"), (12, L, "area.medium_after_high_to_low")],
        ),
        (
            "cn-9: no round on day 7 — medium waits for the all-negative round of day 8",
            "cn-9",
            H,
            rounds_on(1, 3, 5, 8, 10, 12, 14),
            [(8, M, "area.high_to_medium"), (11, L, "area.medium_after_high_to_low")],
        ),
        (
            "cn-9 §3.2: a directly designated medium area → low on day 7",
            "cn-9",
            M,
            quiet,
            [(7, L, "area.medium_to_low")],
        ),
        (
            "cn-20 §3.3: high → low (lifted) on day 5",
            "cn-20",
            H,
            quiet,
            [(5, L, "area.high_to_low")],
        ),
        (
            "cn-20: a case on day 3 restarts the count: lifted on day 8",
            "cn-20",
            H,
            case_on(3),
            [(8, L, "area.high_to_low")],
        ),
        (
            "cn-10 §3.3: a case among people already isolated does not restart: day 5",
            "cn-10",
            H,
            case_on(3, isolated=True),
            [(5, L, "area.high_to_low")],
        ),
        (
            "cn-10: a case in the community restarts: day 8",
            "cn-10",
            H,
            case_on(3),
            [(8, L, "area.high_to_low")],
        ),
        (
            "zhuzhou 11 Nov: 7 days, a negative round every day, day 7 negative → low on day 7",
            "zhuzhou-2022-11",
            H,
            quiet,
            [(7, L, "area.zz.high_to_low")],
        ),
        (
            "zhuzhou: 5 rounds on days 1, 2, 3, 5, 7 are enough on day 7",
            "zhuzhou-2022-11",
            H,
            rounds_on(1, 2, 3, 5, 7),
            [(7, L, "area.zz.high_to_low")],
        ),
        (
            "zhuzhou: 4 rounds by day 7 are not; the 5th on day 8 lifts on day 8",
            "zhuzhou-2022-11",
            H,
            rounds_on(2, 4, 6, 7, 8),
            [(8, L, "area.zz.high_to_low")],
        ),
        (
            "zhuzhou: a case on day 5 restarts the 7 days: low on day 12",
            "zhuzhou-2022-11",
            H,
            case_on(5),
            [(12, L, "area.zz.high_to_low")],
        ),
        (
            "zhuzhou: elsewhere 3 days with two all-negative rounds → low (gates) on day 3",
            "zhuzhou-2022-11",
            M,
            quiet,
            [(3, L, "area.zz.medium_to_low")],
        ),
        (
            "zhuzhou: rounds on days 1, 4, 5 — only on day 5 do the last 3 days hold two",
            "zhuzhou-2022-11",
            M,
            rounds_on(1, 4, 5),
            [(5, L, "area.zz.medium_to_low")],
        ),
    ],
)
def test_it_lifts_on_exactly_the_day_the_pack_says(
    _case: str,
    pack_id: str,
    level: RiskLevel,
    facts: Facts,
    expected: list[tuple[int, RiskLevel, str]],
) -> None:
    assert run(pack_id, level=level, facts=facts) == expected


def test_it_returns_a_district_to_normal_when_no_higher_area_is_left_inside_cn9() -> None:
    assert run("cn-9", level=L, facts=quiet, scope=Scope.DISTRICT, higher_inside=1) == []
    assert run("cn-9", level=L, facts=quiet, scope=Scope.DISTRICT) == [
        (1, N, "area.district_normal")
    ]


def test_it_proposes_district_normal_after_3_days_pending_confirmation_zhuzhou() -> None:
    history = AreaHistory(
        level=L,
        designated_level=L,
        level_since=DAY0,
        scope=Scope.DISTRICT,
        days=tuple(quiet(day) for day in range(1, 4)),
    )
    rules = section("zhuzhou-2022-11")
    day2 = evaluate_area(
        history=history,
        now=datetime.combine(DAY0 + timedelta(days=2), time(20), CST),
        section=rules,
    )
    day3 = evaluate_area(
        history=history,
        now=datetime.combine(DAY0 + timedelta(days=3), time(20), CST),
        section=rules,
    )

    assert (day2.is_changed, day2.level) == (False, L)
    assert (day3.is_changed, day3.level, day3.requires_confirmation, day3.is_lifted) == (
        True,
        N,
        True,
        True,
    )
    assert day3.rule_ref == "zhuzhou-2022-11@1#area.zz.district_normal"


def test_it_explains_what_is_still_needed() -> None:
    history = AreaHistory(
        level=H,
        designated_level=H,
        level_since=DAY0,
        scope=Scope.PLACE,
        days=tuple(quiet(day) for day in range(1, 6)),
    )
    now = datetime.combine(DAY0 + timedelta(days=5), time(20), CST)

    decision = evaluate_area(history=history, now=now, section=section("cn-9"))

    assert (decision.is_changed, decision.level, decision.rule_id) == (
        False,
        H,
        "area.high_to_medium",
    )
    assert decision.explanation == (
        "2 more days without a new infection and an all-negative round on day 7 lift this area "
        "to medium (area.high_to_medium)"
    )
    assert (decision.pack_id, decision.pack_version) == ("cn-9", 1)


def test_it_never_lifts_while_a_case_is_open_in_the_area() -> None:
    days = (
        *tuple(quiet(day) for day in range(1, 7)),
        DayFacts(DAY0 + timedelta(days=7), rounds=1, negative_rounds=1, open_cases=1),
    )
    history = AreaHistory(
        level=H, designated_level=H, level_since=DAY0, scope=Scope.PLACE, days=days
    )
    now = datetime.combine(DAY0 + timedelta(days=7), time(20), CST)

    decision = evaluate_area(history=history, now=now, section=section("cn-9"))

    assert (decision.is_changed, decision.level) == (False, H)
    assert decision.explanation == (
        "no open case (now 1) lifts this area to medium (area.high_to_medium)"
    )


def test_it_ignores_facts_dated_after_now_and_refuses_naive_now() -> None:
    history = AreaHistory(
        level=H,
        designated_level=H,
        level_since=DAY0,
        scope=Scope.PLACE,
        days=tuple(quiet(day) for day in range(1, 8)),
    )
    day6 = datetime.combine(DAY0 + timedelta(days=6), time(20), CST)

    assert evaluate_area(history=history, now=day6, section=section("cn-9")).is_changed is False
    with pytest.raises(ValueError):
        evaluate_area(history=history, now=day6.replace(tzinfo=None), section=section("cn-9"))


def test_it_has_no_lifting_rule_in_us_cdc() -> None:
    history = AreaHistory(
        level=N, designated_level=N, level_since=DAY0, scope=Scope.PLACE, days=(quiet(1),)
    )
    now = datetime.combine(DAY0 + timedelta(days=1), time(20), CST)

    decision = evaluate_area(history=history, now=now, section=section("us-cdc"))

    assert (decision.is_changed, decision.rule_id) == (False, None)
    assert decision.explanation == "no rule of us-cdc@1 lowers a normal area"


PLACES = [
    CasePlace(1, Basis.RESIDENCE, "/43/4302/430203/", compound_id=10, building_id=100, unit=2),
    CasePlace(2, Basis.RESIDENCE, "/43/4302/430203/", compound_id=10, building_id=101, unit=1),
    CasePlace(2, Basis.ACTIVITY_PLACE, "/43/4302/430202/", compound_id=20, building_id=200),
    CasePlace(3, Basis.ACTIVITY_PLACE, "/43/4302/430203/", compound_id=10, building_id=102),
    CasePlace(4, Basis.RESIDENCE, "/43/4302/430203/"),  # no compound: drawn by hand
]


@pytest.mark.parametrize(
    ("_case", "pack_id", "expected"),
    [
        (
            "cn-9 §3.2: by compound; the residence outranks an activity place in the same one",
            "cn-9",
            [
                (TargetKind.COMPOUND, 10, None, H, (1, 2, 3), "area.high.designate"),
                (TargetKind.COMPOUND, 20, None, M, (2,), "area.medium.designate"),
            ],
        ),
        (
            "cn-20 §3.3: high by building; activity places are not designated",
            "cn-20",
            [
                (TargetKind.BUILDING, 100, None, H, (1,), "area.high.designate"),
                (TargetKind.BUILDING, 101, None, H, (2,), "area.high.designate"),
            ],
        ),
        (
            "cn-10 §3.3: by unit of a building",
            "cn-10",
            [
                (TargetKind.UNIT, 100, 2, H, (1,), "area.high.designate"),
                (TargetKind.UNIT, 101, 1, H, (2,), "area.high.designate"),
            ],
        ),
        ("us-cdc: no risk areas", "us-cdc", []),
    ],
)
def test_it_proposes_designations_where_cases_live_and_spent_time(
    _case: str, pack_id: str, expected: list[tuple[object, ...]]
) -> None:
    proposals = propose_designations(places=PLACES, section=section(pack_id))

    assert [
        (p.target_kind, p.target_id, p.unit, p.level, p.case_ids, p.rule_id) for p in proposals
    ] == expected


@pytest.mark.parametrize("pack_id", ["cn-9", "cn-20", "cn-10", "zhuzhou-2022-11"])
def test_it_decides_the_same_vectorised_as_area_by_area(pack_id: str) -> None:
    rules = section(pack_id)
    rng = np.random.default_rng(7)
    areas, days = 400, 14
    recorded = rng.random((areas, days)) < 0.97
    matrix = AreaMatrix(
        first_day=DAY0,
        level=rng.integers(0, len(rules.levels), areas),
        designated=rng.integers(0, len(rules.levels), areas),
        level_since=rng.integers(0, 4, areas),
        infections=(rng.random((areas, days)) < 0.04).astype(np.int64),
        infections_isolated=(rng.random((areas, days)) < 0.02).astype(np.int64),
        negative_rounds=rng.integers(0, 2, (areas, days)),
        recorded=recorded,
        open_cases=(rng.random(areas) < 0.05).astype(np.int64),
        higher_inside=(rng.random(areas) < 0.3).astype(np.int64),
        scope=Scope.PLACE,
    )
    now = datetime.combine(DAY0 + timedelta(days=12), time(20), CST)

    levels, _ = evaluate_areas_batch(matrix=matrix, now=now, section=rules)
    expected = [
        rules.levels.index(evaluate_area(history=h, now=now, section=rules).level)
        for h in history_rows(matrix, rules)
    ]

    assert levels.tolist() == expected
    assert (levels != matrix.level).sum() > 0
