"""The testing section of the rule packs: the positive-pool policy and the pool sizes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fangkong.rulepacks.errors import RulePackError, RulePackErrorCode
from fangkong.rulepacks.schemas import Manifest, SectionContext
from fangkong.testing import rules
from fangkong.testing.policies import cadence_at, policy_at, pool_sizes_at
from fangkong.testing.section import (
    DEFAULT_POLICY,
    DEFAULT_POOL_SIZES,
    CadencePolicy,
    PoolSizePolicy,
    PositivePoolPolicy,
    parse_section,
)

CONTEXT = SectionContext(
    Manifest(
        id="local",
        version=2,
        title="local",
        series="local",
        effective_from=datetime(2022, 1, 1, tzinfo=UTC),
        effective_until=None,
        base=None,
        sources={},
    ),
    "local/testing.yaml",
)


def test_the_national_packs_alert_everyone_and_flag_no_building() -> None:
    for moment, ref in [
        (datetime(2022, 11, 10, tzinfo=UTC), "cn-9@1"),
        (datetime(2022, 11, 20, tzinfo=UTC), "cn-20@1"),
        (datetime(2022, 12, 20, tzinfo=UTC), "cn-10@1"),
    ]:
        assert policy_at(now=moment) == PositivePoolPolicy(
            rule_ref=f"{ref}#test.positive_pool",
            audiences=("community", "testing_group", "police"),
            sample_building_first=False,
        )
    assert policy_at(now=datetime(2022, 1, 1, tzinfo=UTC), pack_id="us-cdc") == DEFAULT_POLICY


def test_a_local_pack_may_flag_buildings_and_narrow_the_alert() -> None:
    raw = {
        "rules": [
            {"id": "test.positive_pool", "alert": ["community"], "sample_building_first": True}
        ]
    }
    parsed = parse_section(raw, CONTEXT)
    assert parsed.pool_sizes == DEFAULT_POOL_SIZES
    assert parsed.positive_pool == PositivePoolPolicy(
        rule_ref="local@2#test.positive_pool", audiences=("community",), sample_building_first=True
    )


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ({"rules": []}, RulePackErrorCode.FIELD_MISSING),
        (
            {"rules": [{"id": "test.positive_pool", "alert": ["army"]}]},
            RulePackErrorCode.REFERENCE_UNKNOWN,
        ),
        (
            {"rules": [{"id": "test.positive_pool", "sample_building_first": "yes"}]},
            RulePackErrorCode.FIELD_INVALID,
        ),
        ({"rules": [{"id": "test.positive_pool", "lock": True}]}, RulePackErrorCode.FIELD_UNKNOWN),
        ({"other": 1}, RulePackErrorCode.FIELD_UNKNOWN),
        (
            {
                "rules": [
                    {"id": "test.positive_pool"},
                    {"id": "test.pool_size", "isolation_site": {"value": 1, "unit": "tube"}},
                ]
            },
            RulePackErrorCode.UNIT_UNKNOWN,
        ),
        (
            {"rules": [{"id": "test.positive_pool"}, {"id": "test.pool_size", "tubes": "three"}]},
            RulePackErrorCode.FIELD_UNKNOWN,
        ),
        (
            {"rules": [{"id": "test.positive_pool"}, {"id": "test.pool_size", "by_risk": [1]}]},
            RulePackErrorCode.FIELD_INVALID,
        ),
        (
            {
                "rules": [
                    {"id": "test.positive_pool"},
                    {"id": "test.pool_size", "by_risk": {"sealed": {"value": 1, "unit": "person"}}},
                ]
            },
            RulePackErrorCode.REFERENCE_UNKNOWN,
        ),
        (
            {
                "rules": [
                    {"id": "test.positive_pool"},
                    {"id": "test.pool_size", "by_risk": {"low": {"value": 51, "unit": "person"}}},
                ]
            },
            RulePackErrorCode.FIELD_INVALID,
        ),
        (
            {
                "rules": [
                    {"id": "test.positive_pool"},
                    {"id": "test.pool_size", "isolation_site": {"value": 0, "unit": "person"}},
                ]
            },
            RulePackErrorCode.FIELD_INVALID,
        ),
        (
            {
                "rules": [
                    {"id": "test.positive_pool"},
                    {"id": "test.pool_size", "isolation_site": {"value": 2.5, "unit": "person"}},
                ]
            },
            RulePackErrorCode.FIELD_INVALID,
        ),
    ],
)
def test_it_refuses_a_bad_section(raw: dict[str, object], code: RulePackErrorCode) -> None:
    with pytest.raises(RulePackError) as error:
        parse_section(raw, CONTEXT)
    assert error.value.code == code


CN_SIZES = {"isolation_site": 1, "high": 1, "medium": 10, "low": 20, "normal": 20}
DEFAULT_SIZES = {"isolation_site": 1, "high": 1, "medium": 10, "low": 10, "normal": 10}


@pytest.mark.parametrize(
    ("moment", "pack_id", "ref", "sizes"),
    [
        (datetime(2022, 11, 10, tzinfo=UTC), None, "cn-9@1#test.pool_size", CN_SIZES),
        (datetime(2022, 11, 20, tzinfo=UTC), None, "cn-20@1#test.pool_size", CN_SIZES),
        # cn-10 ends mass testing by area and sets no pool sizes: the 10-in-1 default.
        (
            datetime(2022, 12, 20, tzinfo=UTC),
            None,
            "fangkong-default#test.pool_size",
            DEFAULT_SIZES,
        ),
        # The Zhuzhou overlay carries the rule of its base, cn-9, under its own ref.
        (
            datetime(2022, 11, 10, tzinfo=UTC),
            "zhuzhou-2022-11",
            "zhuzhou-2022-11@1#test.pool_size",
            CN_SIZES,
        ),
        (
            datetime(2022, 1, 1, tzinfo=UTC),
            "us-cdc",
            "fangkong-default#test.pool_size",
            DEFAULT_SIZES,
        ),
    ],
)
def test_the_pool_size_of_each_pack_by_risk_class(
    moment: datetime, pack_id: str | None, ref: str, sizes: dict[str, int]
) -> None:
    policy = pool_sizes_at(now=moment, pack_id=pack_id)
    assert policy.rule_ref == ref
    got = {
        level: rules.pool_size_for(risk_level=level, is_isolation_site=False, policy=policy)
        for level in ("high", "medium", "low", "normal")
    }
    got["isolation_site"] = rules.pool_size_for(
        risk_level="normal", is_isolation_site=True, policy=policy
    )
    assert got == sizes


def test_a_local_pack_may_set_some_sizes_and_keep_the_default_for_the_rest() -> None:
    raw = {
        "rules": [
            {"id": "test.positive_pool"},
            {
                "id": "test.pool_size",
                "isolation_site": {"value": 2, "unit": "person"},
                "by_risk": {"low": {"value": 5, "unit": "person"}},
            },
        ]
    }
    policy = parse_section(raw, CONTEXT).pool_sizes
    assert policy == PoolSizePolicy(
        rule_ref="local@2#test.pool_size", isolation_site=2, high=1, medium=10, low=5, normal=10
    )
    # A level the pack does not know (e.g. a future one) gets the size of "normal".
    assert rules.pool_size_for(risk_level="unknown", is_isolation_site=False, policy=policy) == 10
    assert rules.pool_size_for(risk_level="high", is_isolation_site=True, policy=policy) == 2


def test_only_cn9_sets_a_round_cadence() -> None:
    assert cadence_at(now=datetime(2022, 11, 10, tzinfo=UTC)) == CadencePolicy(
        rule_ref="cn-9@1#test.round_cadence",
        every_days=1,
        clear_rounds=3,
        then_after_days=3,
        confirm_rounds=1,
    )
    assert cadence_at(now=datetime(2022, 11, 20, tzinfo=UTC)) is None  # cn-20
    assert cadence_at(now=datetime(2022, 12, 20, tzinfo=UTC)) is None  # cn-10


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        ({"every": {"value": 1, "unit": "day"}}, RulePackErrorCode.FIELD_MISSING),
        (
            {
                "every": {"value": 0, "unit": "day"},
                "clear_rounds": {"value": 3, "unit": "round"},
                "then_after": {"value": 3, "unit": "day"},
                "confirm_rounds": {"value": 1, "unit": "round"},
            },
            RulePackErrorCode.FIELD_INVALID,
        ),
        (
            {
                "every": {"value": 1, "unit": "hour"},
                "clear_rounds": {"value": 3, "unit": "round"},
                "then_after": {"value": 3, "unit": "day"},
                "confirm_rounds": {"value": 1, "unit": "round"},
            },
            RulePackErrorCode.UNIT_UNKNOWN,
        ),
        ({"every": {"value": 1, "unit": "day"}, "daily": True}, RulePackErrorCode.FIELD_UNKNOWN),
    ],
)
def test_it_refuses_a_bad_cadence(rule: dict[str, object], code: RulePackErrorCode) -> None:
    raw = {"rules": [{"id": "test.positive_pool"}, {"id": "test.round_cadence", **rule}]}
    with pytest.raises(RulePackError) as error:
        parse_section(raw, CONTEXT)
    assert error.value.code == code
