"""What a decision explains: validity, conditions for green, time, re-evaluation."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from fangkong.healthcode import facts as hc_facts
from fangkong.healthcode.enums import ContactKind, ExitKind, RiskLevel, SampleResult
from fangkong.healthcode.facts import PersonFacts, Sample, TracingFacts
from fangkong.healthcode.rules import evaluate
from fangkong.healthcode.schemas import GreenCondition
from fangkong.healthcode.section import HEALTHCODE_SECTION
from tests.healthcode.builders import (
    CST,
    NOBODY,
    NOW,
    SECONDARY,
    ago,
    catalog,
    key_post,
    negative,
    section,
    skipped,
    visited,
    with_samples,
)


def test_it_is_valid_until_a_time_window_lapses_and_says_so() -> None:
    left_at = ago(days=6)

    decision = evaluate(facts=visited(RiskLevel.HIGH, 6), now=NOW, pack=section("cn-9"))

    assert decision.valid_until == left_at + timedelta(days=7)
    assert decision.to_green == (
        GreenCondition(ExitKind.TIME_ELAPSES, "hc.visited_high", None, left_at + timedelta(days=7)),
    )


def test_it_keeps_green_only_until_a_key_post_negative_goes_stale() -> None:
    decision = evaluate(facts=key_post(negative(days=6)), now=NOW, pack=section("cn-9"))

    assert (decision.colour, decision.valid_until) == ("green", ago(days=6) + timedelta(days=7))
    assert decision.to_green == ()


def test_it_lists_every_condition_needed_for_green() -> None:
    facts = PersonFacts(
        tracing=TracingFacts(
            contact=ContactKind.CLOSE,
            last_exposure_at=ago(days=2),
            companion_flagged_at=ago(days=1),
        ),
        testing=with_samples(negative(hours=12)),
    )

    decision = evaluate(facts=facts, now=NOW, pack=section("cn-9"))

    assert decision.to_green == (
        GreenCondition(ExitKind.CONTACT_RELEASED, "hc.close_contact"),
        GreenCondition(ExitKind.NEGATIVE_TESTS, "hc.companion", 1, ago(days=1) + timedelta(days=3)),
    )
    assert decision.matched_rule_ids == ("hc.close_contact", "hc.companion", "hc.no_risk")


def test_it_tells_a_person_who_skipped_a_round_to_take_a_test() -> None:
    decision = evaluate(facts=skipped(1), now=NOW, pack=section("zhuzhou-2022-11", 1))

    assert decision.to_green == (GreenCondition(ExitKind.TAKE_TEST, "zz.skipped_round", 1),)
    assert decision.valid_until is None


def test_it_ignores_facts_dated_after_now() -> None:
    later_test = Sample(NOW + timedelta(hours=1), SampleResult.NEGATIVE)

    decision = evaluate(
        facts=skipped(1, samples=(later_test,)), now=NOW, pack=section("zhuzhou-2022-11", 1)
    )

    assert decision.colour == "yellow"


def test_it_ignores_a_positive_pool_flagged_after_now() -> None:
    later = hc_facts.TestingFacts(
        is_in_positive_pool_awaiting_review=True, pool_flagged_at=NOW + timedelta(hours=3)
    )

    decision = evaluate(facts=PersonFacts(testing=later), now=NOW, pack=section("cn-9"))

    assert decision.colour == "green"


def test_it_reevaluates_a_past_moment_under_the_pack_then_in_force() -> None:
    before = datetime(2022, 11, 10, 12, tzinfo=CST)
    after = datetime(2022, 11, 12, 12, tzinfo=CST)

    decisions = [
        evaluate(
            facts=SECONDARY,
            now=moment,
            pack=catalog().in_force(series="cn", at=moment).section(HEALTHCODE_SECTION),
        )
        for moment in (before, after)
    ]

    assert [(d.pack_id, d.colour, d.rule_id) for d in decisions] == [
        ("cn-9", "red", "hc.secondary_contact"),
        ("cn-20", "green", "hc.no_risk"),
    ]


def test_it_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(facts=NOBODY, now=datetime(2022, 11, 15), pack=section("cn-9"))  # noqa: DTZ001


def test_it_tells_an_overdue_key_post_worker_to_test() -> None:
    decision = evaluate(facts=key_post(negative(days=8)), now=NOW, pack=section("cn-9"))

    assert decision.to_green == (GreenCondition(ExitKind.NEGATIVE_TESTS, "hc.key_post_overdue", 1),)
