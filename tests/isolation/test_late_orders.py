"""Late orders: test days over before the order was made are not required where the pack says
so (``tests_before_order``), day by day for every pack's close-contact timeline."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fangkong.isolation.enums import Category, ReleaseOutcome, SampleResult
from fangkong.isolation.rules import plan_order, release_check, required_test_days, required_tests
from fangkong.isolation.schemas import IsolationSection, OrderFacts, TakenTest
from fangkong.isolation.section import ISOLATION_SECTION, parse_section
from fangkong.rulepacks.catalog import load_catalog
from fangkong.rulepacks.errors import RulePackError, RulePackErrorCode
from fangkong.rulepacks.schemas import SectionContext

CATALOG = load_catalog(schemas=[ISOLATION_SECTION])
EXPOSED = datetime(2022, 11, 10, 8, 0, tzinfo=UTC)
D = timedelta(days=1)


def section(pack_id: str) -> IsolationSection:
    return CATALOG.get(pack_id).section(ISOLATION_SECTION)


def required_by_day(pack_id: str, category: Category, found_after: int) -> list[tuple[int, ...]]:
    """Required test days per phase of an order made ``found_after`` days (and two hours) after
    the last exposure."""
    rules = section(pack_id)
    plan = plan_order(category=category, last_exposure_at=EXPOSED, now=EXPOSED, section=rules)
    assert plan is not None
    rule = rules.rule_for(category)
    assert rule is not None
    made = EXPOSED + found_after * D + timedelta(hours=2)
    return [
        required_test_days(
            phase=phase_rule, phase_started_at=phase.starts_at, order_started_at=made, section=rules
        )
        for phase_rule, phase in zip(rule.phases, plan.phases, strict=True)
    ]


# found_after → required days of phase 0 and phase 1 (the order made that many days and two
# hours after the last exposure, i.e. during day found_after + 1 of the schedule)
CN9_CLOSE = {
    0: [(1, 2, 3, 5, 7), (3,)],
    1: [(2, 3, 5, 7), (3,)],
    2: [(3, 5, 7), (3,)],
    3: [(5, 7), (3,)],
    4: [(5, 7), (3,)],
    5: [(7,), (3,)],
    6: [(7,), (3,)],
    7: [(), (3,)],
    8: [(), (3,)],
    9: [(), (3,)],
    10: [(), ()],
}
CN20_CLOSE = {
    0: [(1, 2, 3, 5), (1, 3)],
    1: [(2, 3, 5), (1, 3)],
    2: [(3, 5), (1, 3)],
    3: [(5,), (1, 3)],
    4: [(5,), (1, 3)],
    5: [(), (1, 3)],
    6: [(), (3,)],
    7: [(), (3,)],
    8: [(), ()],
}
CN10_CLOSE = {0: [(5,)], 1: [(5,)], 2: [(5,)], 3: [(5,)], 4: [(5,)], 5: [()]}
CN9_SECONDARY = {
    0: [(1, 4, 7)],
    1: [(4, 7)],
    2: [(4, 7)],
    3: [(4, 7)],
    4: [(7,)],
    5: [(7,)],
    6: [(7,)],
    7: [()],
}
# the pack has no rule about passed days: every day stays required (no tests in this pack)
US_CDC_CLOSE = {day: [()] for day in range(15)}


@pytest.mark.parametrize(
    ("pack_id", "category", "timeline"),
    [
        ("cn-9", Category.CLOSE_CONTACT, CN9_CLOSE),
        ("zhuzhou-2022-11", Category.CLOSE_CONTACT, CN9_CLOSE),
        ("cn-9", Category.SECONDARY_CONTACT, CN9_SECONDARY),
        ("cn-20", Category.CLOSE_CONTACT, CN20_CLOSE),
        ("cn-10", Category.CLOSE_CONTACT, CN10_CLOSE),
        ("us-cdc", Category.CLOSE_CONTACT, US_CDC_CLOSE),
    ],
)
def test_it_requires_only_the_test_days_still_to_come_day_by_day(
    pack_id: str, category: Category, timeline: dict[int, list[tuple[int, ...]]]
) -> None:
    for found_after, expected in timeline.items():
        assert required_by_day(pack_id, category, found_after) == expected, found_after


def test_the_packs_say_where_the_rule_comes_from() -> None:
    assert section("cn-9").tests_before_order_sources == (
        "nhc-9th-edition",
        "fangkong-passed-test-days",
    )
    assert section("zhuzhou-2022-11").tests_before_order_required is False
    assert section("cn-20").tests_before_order_sources == (
        "nhc-20-measures",
        "fangkong-passed-test-days",
    )
    assert section("us-cdc").tests_before_order_required is True


def negatives(*days: int) -> tuple[TakenTest, ...]:
    return tuple(TakenTest(day, SampleResult.NEGATIVE) for day in days)


def facts(found_after: int, tests: tuple[TakenTest, ...]) -> OrderFacts:
    return OrderFacts(
        Category.CLOSE_CONTACT,
        0,
        EXPOSED + 7 * D,
        tests,
        phase_started_at=EXPOSED,
        order_started_at=EXPOSED + found_after * D + timedelta(hours=2),
    )


def test_a_contact_found_on_day_4_moves_on_with_the_tests_it_could_take() -> None:
    rules = section("cn-9")

    decision = release_check(facts=facts(3, negatives(5, 7)), now=EXPOSED + 7 * D, section=rules)

    assert (decision.outcome, decision.missing_days) == (ReleaseOutcome.NEXT_PHASE, ())


def test_a_day_still_to_come_when_found_is_still_required() -> None:
    rules = section("cn-9")

    decision = release_check(facts=facts(3, negatives(7)), now=EXPOSED + 7 * D, section=rules)

    assert (decision.outcome, decision.missing_days) == (ReleaseOutcome.MISSING_TESTS, (5,))


def test_without_the_pack_rule_every_day_stays_required() -> None:
    rules = replace(section("cn-9"), tests_before_order_required=True)

    decision = release_check(facts=facts(3, negatives(5, 7)), now=EXPOSED + 7 * D, section=rules)

    assert (decision.outcome, decision.missing_days) == (ReleaseOutcome.MISSING_TESTS, (1, 2, 3))


def test_the_schedule_lists_only_the_required_days() -> None:
    rules = section("cn-9")
    rule = rules.rule_for(Category.CLOSE_CONTACT)
    assert rule is not None

    schedule = required_tests(
        rule=rule,
        phase_starts=[EXPOSED, EXPOSED + 7 * D],
        tests=[(0, 5, SampleResult.NEGATIVE)],
        order_started_at=EXPOSED + 3 * D + timedelta(hours=2),
        section=rules,
    )

    assert [(t.phase_index, t.day, t.result) for t in schedule] == [
        (0, 5, SampleResult.NEGATIVE),
        (0, 7, None),
        (1, 3, None),
    ]


def context() -> SectionContext:
    return SectionContext(CATALOG.get("cn-9").manifest, "cn-9/isolation.yaml")


PHASES: list[dict[str, Any]] = [
    {
        "kind": "centralised",
        "duration": {"value": 7, "unit": "day"},
        "test_days": [{"value": 1, "unit": "day"}, {"value": 5, "unit": "day"}],
    }
]
RULE = {"id": "r", "category": "close_contact", "clock": "last_exposure", "source": "s"}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (
            {"required": False, "source": "nhc-9th-edition"},
            RulePackErrorCode.FIELD_INVALID,  # day 5 of 7 would let a phase end untested
        ),
        ({"required": False}, RulePackErrorCode.FIELD_MISSING),
        ({"required": "no", "source": "nhc-9th-edition"}, RulePackErrorCode.FIELD_INVALID),
        ({"required": False, "source": "nowhere"}, RulePackErrorCode.REFERENCE_UNKNOWN),
        ({"required": False, "source": "x", "when": 1}, RulePackErrorCode.FIELD_UNKNOWN),
    ],
)
def test_it_refuses_a_bad_rule(raw: dict[str, Any], code: RulePackErrorCode) -> None:
    with pytest.raises(RulePackError) as refused:
        parse_section({"rules": [{**RULE, "phases": PHASES}], "tests_before_order": raw}, context())

    assert refused.value.code == code


def test_all_days_required_needs_no_last_day_test() -> None:
    parsed = parse_section(
        {
            "rules": [{**RULE, "phases": PHASES}],
            "tests_before_order": {"required": True, "source": "nhc-9th-edition"},
        },
        context(),
    )

    assert (parsed.tests_before_order_required, parsed.tests_before_order_sources) == (
        True,
        ("nhc-9th-edition",),
    )
