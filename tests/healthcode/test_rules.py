"""The health-code engine, table-driven per pack; each case cites the rule it checks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fangkong.healthcode.enums import RiskLevel, SampleResult
from fangkong.healthcode.facts import PersonFacts, Sample
from fangkong.healthcode.rules import evaluate
from tests.healthcode.builders import (
    ASYMPTOMATIC,
    CENTRALISED,
    CLOSE,
    CONFIRMED,
    LIVES_HIGH,
    LIVES_MEDIUM,
    MONITORED,
    NOBODY,
    NOW,
    POOL,
    RECOVERED,
    SECONDARY,
    ago,
    arrived,
    companion,
    key_post,
    negative,
    section,
    skipped,
    visited,
)

CN9 = [
    # Hangzhou model 2020 (Xinhua): green = no match in the risk databases.
    ("nothing known", NOBODY, "green", "hc.no_risk", ("no_risk_found",)),
    # Shanghai 随申码 18 Sep 2022, red class (2): confirmed, asymptomatic and suspected cases.
    ("confirmed case", CONFIRMED, "red", "hc.case", ("case",)),
    ("asymptomatic case", ASYMPTOMATIC, "red", "hc.case", ("case",)),
    ("recovered, nothing else", RECOVERED, "green", "hc.no_risk", ("no_risk_found",)),
    # Shanghai red class (1): initial-screen positive and positive-pool people.
    ("positive pool", POOL, "red", "hc.positive_pool", ("positive_pool_awaiting_review",)),
    # Shanghai red class (3): close contacts and secondary contacts; cn-9 7+3.
    ("close contact", CLOSE, "red", "hc.close_contact", ("close_contact",)),
    ("secondary contact", SECONDARY, "red", "hc.secondary_contact", ("secondary_contact",)),
    # Shanghai red class (4); Hunan: red = centralised isolation.
    ("centralised isolation", CENTRALISED, "red", "hc.isolation", ("under_isolation",)),
    # Shanghai yellow class (1): home health monitoring.
    (
        "health monitoring",
        MONITORED,
        "yellow",
        "hc.health_monitoring",
        ("under_health_monitoring",),
    ),
    # Residents change colour from the designation date (§5.4).
    ("lives in high area", LIVES_HIGH, "red", "hc.residence_high", ("lives_in_high_risk_area",)),
    (
        "lives in medium area",
        LIVES_MEDIUM,
        "yellow",
        "hc.residence_medium",
        ("lives_in_medium_risk_area",),
    ),
    # cn-9: high/medium-area history within 7 days (I5, I6); Shanghai red class (5).
    (
        "high area 6 days ago",
        visited(RiskLevel.HIGH, 6),
        "red",
        "hc.visited_high",
        ("visited_high_risk_area",),
    ),
    ("high area 8 days ago", visited(RiskLevel.HIGH, 8), "green", "hc.no_risk", ("no_risk_found",)),
    # Hunan CDC: medium-risk travel → yellow, 2 tests within 3 days (3天2检) → auto green.
    (
        "medium area, untested",
        visited(RiskLevel.MEDIUM, 2),
        "yellow",
        "hc.visited_medium",
        ("visited_medium_risk_area",),
    ),
    (
        "medium area, 1 negative",
        visited(RiskLevel.MEDIUM, 2, negative(days=1)),
        "yellow",
        "hc.visited_medium",
        ("visited_medium_risk_area",),
    ),
    (
        "medium area, 2 negatives",
        visited(RiskLevel.MEDIUM, 2, negative(days=1.5), negative(days=0.5)),
        "green",
        "hc.no_risk",
        ("no_risk_found",),
    ),
    (
        "medium area, negatives before the visit",
        visited(RiskLevel.MEDIUM, 2, negative(days=4), negative(days=3)),
        "yellow",
        "hc.visited_medium",
        ("visited_medium_risk_area",),
    ),
    # Chengdu 2021: companion → yellow; 2 tests within 3 days, at least 24 h apart.
    ("companion, untested", companion(1), "yellow", "hc.companion", ("spatiotemporal_companion",)),
    (
        "companion, 2 negatives 24 h apart",
        companion(2, negative(days=1.5), negative(days=0.5)),
        "green",
        "hc.no_risk",
        ("no_risk_found",),
    ),
    (
        "companion, 2 negatives 2 h apart",
        companion(2, negative(hours=3), negative(hours=1)),
        "yellow",
        "hc.companion",
        ("spatiotemporal_companion",),
    ),
    ("companion flagged 15 days ago", companion(15), "green", "hc.no_risk", ("no_risk_found",)),
    # Hunan CDC: key posts overdue → yellow; Chaling: a test at least every 7 days.
    (
        "key post, negative 8 days old",
        key_post(negative(days=8)),
        "yellow",
        "hc.key_post_overdue",
        ("key_post_test_overdue",),
    ),
    (
        "key post, never tested",
        key_post(),
        "yellow",
        "hc.key_post_overdue",
        ("key_post_test_overdue",),
    ),
    (
        "key post, negative 6 days old",
        key_post(negative(days=6)),
        "green",
        "hc.no_risk",
        ("no_risk_found",),
    ),
    # Shanghai 19 Sep 2022: no test within 48 h of arrival → display suspended (暂缓展码).
    (
        "arrived 50 h ago, untested",
        arrived(50),
        "withheld",
        "hc.arrival_untested",
        ("arrived_without_test",),
    ),
    (
        "arrived 50 h ago, tested",
        arrived(50, negative(hours=49)),
        "green",
        "hc.no_risk",
        ("no_risk_found",),
    ),
    ("arrived 47 h ago, untested", arrived(47), "green", "hc.no_risk", ("no_risk_found",)),
    # Most restrictive wins; every restricting reason is listed.
    (
        "close contact who visited a medium area",
        PersonFacts(tracing=CLOSE.tracing, areas=visited(RiskLevel.MEDIUM, 1).areas),
        "red",
        "hc.close_contact",
        ("close_contact", "visited_medium_risk_area"),
    ),
]

CN20 = [
    # 二十条: secondary contacts are no longer determined.
    ("secondary contact", SECONDARY, "green", "hc.no_risk", ("no_risk_found",)),
    # 二十条: medium tier abolished.
    ("lives in a medium area", LIVES_MEDIUM, "green", "hc.no_risk", ("no_risk_found",)),
    ("close contact (5+3)", CLOSE, "red", "hc.close_contact", ("close_contact",)),
    # 二十条: spillover from a high area, 7 d home isolation (I9).
    (
        "high area 3 days ago",
        visited(RiskLevel.HIGH, 3),
        "red",
        "hc.visited_high",
        ("visited_high_risk_area",),
    ),
    ("confirmed case", CONFIRMED, "red", "hc.case", ("case",)),
]

CN10 = [
    # China CDC 8 Dec 2022: a positive pool awaits the single-tube recheck, nothing locked.
    ("positive pool", POOL, "pending", "hc.positive_pool", ("positive_pool_awaiting_review",)),
    # 新十条: no travel-history codes, no mass testing by area.
    ("high area yesterday", visited(RiskLevel.HIGH, 1), "green", "hc.no_risk", ("no_risk_found",)),
    ("skipped a round", skipped(1), "green", "hc.no_risk", ("no_risk_found",)),
    ("arrived untested", arrived(72), "green", "hc.no_risk", ("no_risk_found",)),
    # 新十条: close contacts and cases isolate (at home where conditions allow).
    ("close contact", CLOSE, "red", "hc.close_contact", ("close_contact",)),
    ("confirmed case", CONFIRMED, "red", "hc.case", ("case",)),
]

ZHUZHOU = [
    # 株疫防指告〔2022〕27号 as interpreted in docs/healthcode.md.
    ("one skipped round", skipped(1), "yellow", "zz.skipped_round", ("skipped_required_round",)),
    ("excused round", skipped(1, excused=True), "green", "hc.no_risk", ("no_risk_found",)),
    (
        "skipped then tested",
        skipped(2, samples=(negative(days=1),)),
        "green",
        "hc.no_risk",
        ("no_risk_found",),
    ),
    (
        "skipped then sampled, result pending",
        skipped(2, samples=(Sample(ago(hours=2), SampleResult.PENDING),)),
        "green",
        "hc.no_risk",
        ("no_risk_found",),
    ),
    (
        "tested before the round closed only",
        skipped(1, samples=(negative(days=2),)),
        "yellow",
        "zz.skipped_round",
        ("skipped_required_round",),
    ),
    (
        "two skipped rounds",
        skipped(4, 1),
        "red",
        "zz.skipped_round_repeated",
        ("skipped_required_rounds_repeatedly", "skipped_required_round"),
    ),
    (
        "two skipped, tested between them",
        skipped(4, 1, samples=(negative(days=3),)),
        "yellow",
        "zz.skipped_round",
        ("skipped_required_round",),
    ),
    (
        "skipped while living in a medium area",
        skipped(1, lives=RiskLevel.MEDIUM),
        "red",
        "zz.skipped_round_risk_area",
        (
            "skipped_required_round_in_risk_area",
            "lives_in_medium_risk_area",
            "skipped_required_round",
        ),
    ),
    # Hunan CDC: companions clear with 3 tests within 7 days (replaces Chengdu's 2-in-3).
    (
        "companion, 2 negatives",
        companion(3, negative(days=2), negative(days=1)),
        "yellow",
        "hc.companion",
        ("spatiotemporal_companion",),
    ),
    (
        "companion, 3 negatives",
        companion(3, negative(days=2), negative(days=1), negative(hours=1)),
        "green",
        "hc.no_risk",
        ("no_risk_found",),
    ),
    # Zhuzhou arrivals test on landing: untested after 24 h → yellow (replaces withheld at 48 h).
    (
        "arrived 25 h ago, untested",
        arrived(25),
        "yellow",
        "hc.arrival_untested",
        ("arrived_without_test",),
    ),
    # Base cn-9 rules still apply under the overlay.
    ("confirmed case", CONFIRMED, "red", "hc.case", ("case",)),
]

US_CDC = [
    # No personal colour code in the United States: one state for everyone.
    ("nothing known", NOBODY, "not_issued", "hc.us.not_issued", ("no_health_code_scheme",)),
    ("confirmed case", CONFIRMED, "not_issued", "hc.us.not_issued", ("no_health_code_scheme",)),
]

TABLE = [
    (f"{pack}: {case}", pack, facts, colour, rule_id, reasons)
    for pack, rows in (
        ("cn-9@1", CN9),
        ("cn-20@1", CN20),
        ("cn-10@1", CN10),
        ("zhuzhou-2022-11@1", ZHUZHOU),
        ("us-cdc@1", US_CDC),
    )
    for case, facts, colour, rule_id, reasons in rows
]


@pytest.mark.parametrize(
    ("_case", "pack_ref", "facts", "colour", "rule_id", "reasons"),
    TABLE,
    ids=[row[0] for row in TABLE],
)
def test_it_decides_the_code_a_pack_gives(
    _case: str,
    pack_ref: str,
    facts: PersonFacts,
    colour: str,
    rule_id: str,
    reasons: tuple[str, ...],
) -> None:
    pack_id, _, version = pack_ref.partition("@")

    decision = evaluate(facts=facts, now=NOW, pack=section(pack_id, int(version)))

    assert (decision.colour, decision.rule_id, decision.reasons) == (colour, rule_id, reasons)
    assert (decision.pack_id, decision.pack_version) == (pack_id, int(version))
    assert decision.rule_ref == f"{pack_ref}#{rule_id}"


@pytest.mark.parametrize(
    ("_case", "pack_ref", "facts", "colour", "rule_id", "reasons"),
    TABLE,
    ids=[row[0] for row in TABLE],
)
def test_it_gives_the_same_decision_until_valid_until(
    _case: str,
    pack_ref: str,
    facts: PersonFacts,
    colour: str,
    rule_id: str,
    reasons: tuple[str, ...],
) -> None:
    """valid_until may be early but never late: with the same facts, every moment before it
    (checked hourly over 20 days, and just before it) gives the same colour and rule."""
    pack_id, _, version = pack_ref.partition("@")
    pack = section(pack_id, int(version))
    first = evaluate(facts=facts, now=NOW, pack=pack)
    horizon = first.valid_until or NOW + timedelta(days=20)
    moments = [NOW + timedelta(hours=h) for h in range(1, 20 * 24)]
    moments = [m for m in moments if m < horizon] + [horizon - timedelta(seconds=1)]

    later = [evaluate(facts=facts, now=moment, pack=pack) for moment in moments]

    assert {(d.colour, d.rule_id) for d in later} == {(first.colour, first.rule_id)}
