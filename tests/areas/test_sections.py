"""The areas and isolation sections refuse what they cannot understand, naming the rule."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from fangkong.areas.section import AREAS_SECTION
from fangkong.isolation.section import ISOLATION_SECTION
from fangkong.rulepacks.catalog import load_catalog
from fangkong.rulepacks.errors import RulePackError, RulePackErrorCode
from tests.rulepacks.test_loader import MANIFEST, write_pack

AREAS: dict[str, Any] = {
    "levels": ["high", "low"],
    "lifted_level": "low",
    "rules": [
        {
            "id": "area.high_to_low",
            "lift": {"from": "high", "to": "low"},
            "when": {"days_without_case": {"value": 5, "unit": "day"}},
            "source": "doc",
        }
    ],
}
ISOLATION: dict[str, Any] = {
    "rules": [
        {
            "id": "iso.close_contact",
            "category": "close_contact",
            "clock": "last_exposure",
            "phases": [
                {
                    "kind": "home_isolation",
                    "duration": {"value": 5, "unit": "day"},
                    "test_days": [{"value": 5, "unit": "day"}],
                }
            ],
            "source": "doc",
        }
    ]
}


def areas_with(path: list[Any], value: Any) -> dict[str, Any]:
    return _set(AREAS, path, value)


def isolation_with(path: list[Any], value: Any) -> dict[str, Any]:
    return _set(ISOLATION, path, value)


def _set(base: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    section = copy.deepcopy(base)
    node: Any = section
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return section


def test_it_loads_a_valid_pair_of_sections(tmp_path: Path) -> None:
    write_pack(tmp_path, "base", MANIFEST, areas=AREAS, isolation=ISOLATION)

    pack = load_catalog(tmp_path, schemas=[AREAS_SECTION, ISOLATION_SECTION]).get("base")

    assert pack.section(AREAS_SECTION).lift[0].days_without_case == 5
    assert pack.section(ISOLATION_SECTION).rules[0].phases[0].test_days == (5,)


@pytest.mark.parametrize(
    ("_case", "section", "code", "rule_id"),
    [
        (
            "a fact the areas rules do not know",
            areas_with(["rules", 0, "when", "days_without_rain"], True),
            RulePackErrorCode.FACT_UNKNOWN,
            "area.high_to_low",
        ),
        (
            "a level the pack does not have (medium under a two-tier pack)",
            areas_with(["rules", 0, "lift", "from"], "medium"),
            RulePackErrorCode.REFERENCE_UNKNOWN,
            "area.high_to_low",
        ),
        (
            "days counted in rounds",
            areas_with(["rules", 0, "when", "days_without_case"], {"value": 5, "unit": "round"}),
            RulePackErrorCode.UNIT_UNKNOWN,
            "area.high_to_low",
        ),
        (
            "a lift that raises the level",
            areas_with(["rules", 0, "lift"], {"from": "low", "to": "high"}),
            RulePackErrorCode.FIELD_INVALID,
            "area.high_to_low",
        ),
        (
            "rounds without the days they are counted over",
            areas_with(
                ["rules", 0, "when"], {"min_negative_rounds": {"value": 5, "unit": "round"}}
            ),
            RulePackErrorCode.FIELD_MISSING,
            "area.high_to_low",
        ),
        (
            "a lifted level outside the levels",
            areas_with(["lifted_level"], "normal"),
            RulePackErrorCode.REFERENCE_UNKNOWN,
            None,
        ),
    ],
)
def test_it_refuses_a_bad_areas_section(
    _case: str,
    section: dict[str, Any],
    code: RulePackErrorCode,
    rule_id: str | None,
    tmp_path: Path,
) -> None:
    write_pack(tmp_path, "base", MANIFEST, areas=section)

    with pytest.raises(RulePackError) as refused:
        load_catalog(tmp_path, schemas=[AREAS_SECTION])

    assert (refused.value.code, refused.value.rule_id) == (code, rule_id)


@pytest.mark.parametrize(
    ("_case", "section", "code"),
    [
        (
            "a test day after the phase ends",
            isolation_with(["rules", 0, "phases", 0, "test_days"], [{"value": 6, "unit": "day"}]),
            RulePackErrorCode.FIELD_INVALID,
        ),
        (
            "a duration in hours where days are meant",
            isolation_with(["rules", 0, "phases", 0, "duration"], {"value": 120, "unit": "hour"}),
            RulePackErrorCode.UNIT_UNKNOWN,
        ),
        (
            "an unknown phase kind",
            isolation_with(["rules", 0, "phases", 0, "kind"], "hotel"),
            RulePackErrorCode.REFERENCE_UNKNOWN,
        ),
        (
            "an unknown category",
            isolation_with(["rules", 0, "category"], "neighbour"),
            RulePackErrorCode.REFERENCE_UNKNOWN,
        ),
        (
            "a tag the registry does not have",
            isolation_with(["cannot_move"], {"tags": ["tall"]}),
            RulePackErrorCode.REFERENCE_UNKNOWN,
        ),
    ],
)
def test_it_refuses_a_bad_isolation_section(
    _case: str, section: dict[str, Any], code: RulePackErrorCode, tmp_path: Path
) -> None:
    write_pack(tmp_path, "base", MANIFEST, isolation=section)

    with pytest.raises(RulePackError) as refused:
        load_catalog(tmp_path, schemas=[ISOLATION_SECTION])

    assert refused.value.code == code
