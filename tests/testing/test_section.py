"""The testing section of the rule packs: the positive-pool policy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fangkong.rulepacks.errors import RulePackError, RulePackErrorCode
from fangkong.rulepacks.schemas import Manifest, SectionContext
from fangkong.testing.effects import policy_at
from fangkong.testing.section import DEFAULT_POLICY, PositivePoolPolicy, parse_section

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
    assert parse_section(raw, CONTEXT) == PositivePoolPolicy(
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
    ],
)
def test_it_refuses_a_bad_section(raw: dict[str, object], code: RulePackErrorCode) -> None:
    with pytest.raises(RulePackError) as error:
        parse_section(raw, CONTEXT)
    assert error.value.code == code
