"""Epidemic-free certification (无疫小区): the pack section and the daily decision, day by day
for the one pack that has a standard (Shanghai, 347号)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from fangkong.areas.certification_rules import (
    CERTIFICATION_SECTION,
    CertStatus,
    CertUnit,
    evaluate,
    parse_section,
)
from fangkong.areas.schemas import DayFacts
from fangkong.rulepacks.catalog import load_catalog
from fangkong.rulepacks.errors import RulePackError, RulePackErrorCode
from fangkong.rulepacks.schemas import SectionContext

CATALOG = load_catalog(schemas=[CERTIFICATION_SECTION])
CASE_DAY = date(2022, 5, 1)
KNOWN = date(2022, 4, 20)
D = timedelta(days=1)


def rule() -> Any:
    found = (
        CATALOG.get("shanghai-2022-04").section(CERTIFICATION_SECTION).rule_for(CertUnit.COMPOUND)
    )
    assert found is not None
    return found


def facts(
    *, case_days: tuple[int, ...] = (0,), round_days: range | tuple[int, ...] = ()
) -> list[DayFacts]:
    days = sorted(set(case_days) | set(round_days))
    return [
        DayFacts(
            CASE_DAY + n * D,
            new_infections=1 if n in case_days else 0,
            rounds=1 if n in round_days else 0,
            negative_rounds=1 if n in round_days else 0,
        )
        for n in days
    ]


def test_the_shanghai_pack_certifies_compounds_only() -> None:
    section = CATALOG.get("shanghai-2022-04").section(CERTIFICATION_SECTION)

    assert [
        (r.id, r.unit, r.title, r.days_without_case, r.round_on_day) for r in section.rules
    ] == [("cert.compound", CertUnit.COMPOUND, "无疫小区", 14, 13)]
    assert section.rule_for(CertUnit.BUILDING) is None
    assert [pack for pack in CATALOG.packs if CATALOG.packs[pack].has_section("certification")] == [
        ("shanghai-2022-04", 1)
    ]


def test_a_compound_is_certified_after_14_days_with_a_negative_round_on_day_13() -> None:
    days = facts(round_days=range(1, 20))
    expected = {n: (CertStatus.NOT_YET, n) for n in range(0, 14)}
    expected.update({n: (CertStatus.CERTIFIED, n) for n in range(14, 20)})

    for n, (status, streak) in expected.items():
        decision = evaluate(rule=rule(), days=days, today=CASE_DAY + n * D, known_since=KNOWN)
        assert (decision.status, decision.days_without_case) == (status, streak), n

    day_12 = evaluate(rule=rule(), days=days, today=CASE_DAY + 12 * D, known_since=KNOWN)
    assert day_12.explanation == (
        "无疫小区: needs 2 more days without a new infection and everyone negative in a round on "
        "2022-05-14"
    )
    day_14 = evaluate(rule=rule(), days=days, today=CASE_DAY + 14 * D, known_since=KNOWN)
    assert day_14.explanation == (
        "无疫小区: no new infection for 14 days and everyone negative on day 13 (cert.compound)"
    )


def test_without_the_day_13_round_it_waits_for_the_next_window() -> None:
    # rounds every day except day 13 (2022-05-14)
    days = facts(round_days=tuple(n for n in range(1, 20) if n != 13))

    on_14 = evaluate(rule=rule(), days=days, today=CASE_DAY + 14 * D, known_since=KNOWN)
    on_15 = evaluate(rule=rule(), days=days, today=CASE_DAY + 15 * D, known_since=KNOWN)

    assert (on_14.status, on_14.explanation) == (
        CertStatus.NOT_YET,
        "无疫小区: needs everyone negative in a round on 2022-05-15",
    )
    assert on_15.status is CertStatus.CERTIFIED


def test_a_new_infection_revokes_it_and_restarts_the_count() -> None:
    days = facts(case_days=(0, 16), round_days=range(1, 40))
    statuses = [
        evaluate(rule=rule(), days=days, today=CASE_DAY + n * D, known_since=KNOWN).status
        for n in range(14, 32)
    ]

    assert statuses == (
        [CertStatus.CERTIFIED] * 2
        + [CertStatus.REVOKED]
        + [CertStatus.NOT_YET] * 13
        + [CertStatus.CERTIFIED] * 2
    )


def test_days_before_the_records_start_do_not_count() -> None:
    decision = evaluate(
        rule=rule(), days=facts(case_days=(), round_days=range(0, 5)),
        today=CASE_DAY + 4 * D, known_since=CASE_DAY,
    )  # fmt: skip

    assert (decision.status, decision.days_without_case) == (CertStatus.NOT_YET, 5)


def context() -> SectionContext:
    return SectionContext(CATALOG.get("shanghai-2022-04").manifest, "x/certification.yaml")


WHEN = {
    "days_without_case": {"value": 14, "unit": "day"},
    "all_negative_round_on_day": {"value": 13, "unit": "day"},
}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ({"id": "c", "unit": "village", "when": WHEN, "source": "s"}, "reference_unknown"),
        ({"id": "c", "unit": "compound", "source": "s"}, "field_unknown"),
        (
            {"id": "c", "unit": "compound", "when": {**WHEN, "rounds": 1}, "source": "s"},
            "field_unknown",
        ),
        (
            {
                "id": "c",
                "unit": "compound",
                "when": {**WHEN, "all_negative_round_on_day": {"value": 15, "unit": "day"}},
                "source": "s",
            },
            "field_invalid",
        ),
    ],
)
def test_it_refuses_a_bad_rule(raw: dict[str, Any], code: str) -> None:
    with pytest.raises(RulePackError) as refused:
        parse_section({"rules": [raw]}, context())

    assert refused.value.code == RulePackErrorCode(f"rulepack.{code}")


def test_it_refuses_two_rules_for_one_unit() -> None:
    raw = {"id": "c", "unit": "compound", "when": WHEN, "source": "s"}
    with pytest.raises(RulePackError) as refused:
        parse_section({"rules": [raw, {**raw, "id": "d"}]}, context())

    assert refused.value.code == RulePackErrorCode.FIELD_INVALID
