"""The rule-pack loader: composition of overlays and every kind of refused pack."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fangkong.healthcode.section import HEALTHCODE_SECTION
from fangkong.rulepacks.catalog import load_catalog
from fangkong.rulepacks.errors import RulePackError, RulePackErrorCode
from fangkong.rulepacks.schemas import SectionSchema
from tests.rulepacks.builders import (
    CST,
    MANIFEST,
    SECTION,
    load,
    with_rule,
    without_rule_key,
    write_pack,
)


def test_it_loads_every_shipped_pack_with_its_lineage() -> None:
    catalog = load_catalog(schemas=[HEALTHCODE_SECTION])

    assert {key: pack.lineage for key, pack in catalog.packs.items()} == {
        ("cn-9", 1): ("cn-9@1",),
        ("cn-20", 1): ("cn-20@1",),
        ("cn-10", 1): ("cn-10@1",),
        ("us-cdc", 1): ("us-cdc@1",),
        ("zhuzhou-2022-11", 1): ("cn-9@1", "zhuzhou-2022-11@1"),
        ("shanghai-2022-04", 1): ("shanghai-2022-04@1",),
    }
    assert catalog.series() == ["cn", "shanghai", "us", "zhuzhou"]


def test_it_composes_an_overlay_by_replacing_in_place_and_appending_by_rule_id() -> None:
    catalog = load_catalog(schemas=[HEALTHCODE_SECTION])
    base = catalog.get("cn-9").section(HEALTHCODE_SECTION)
    overlay = catalog.get("zhuzhou-2022-11", 1).section(HEALTHCODE_SECTION)

    base_ids = [rule.id for rule in base.rules]
    assert [rule.id for rule in overlay.rules] == [
        *base_ids,
        "zz.skipped_round",
        "zz.skipped_round_repeated",
        "zz.skipped_round_risk_area",
    ]
    companion = {rule.id: rule for rule in overlay.rules}["hc.companion"]
    assert companion.cleared_by is not None
    assert (companion.cleared_by.tests, companion.cleared_by.within) == (3, timedelta(days=7))
    assert overlay.states == base.states
    assert (overlay.pack_id, overlay.pack_version) == ("zhuzhou-2022-11", 1)


def test_it_picks_the_highest_version_and_honours_effective_until(tmp_path: Path) -> None:
    write_pack(tmp_path, "base", MANIFEST, healthcode=SECTION)
    second = {**MANIFEST, "version": 2, "effective_from": "2022-07-01T00:00:00+08:00"}
    second["effective_until"] = "2022-08-01T00:00:00+08:00"
    write_pack(tmp_path, "base@2", second, healthcode=SECTION)
    catalog = load(tmp_path)

    assert catalog.get("base").manifest.version == 2
    assert catalog.get("base", 1).manifest.version == 1
    assert (
        catalog.in_force(series="test", at=datetime(2022, 7, 5, tzinfo=CST)).manifest.version == 2
    )
    assert (
        catalog.in_force(series="test", at=datetime(2022, 8, 5, tzinfo=CST)).manifest.version == 1
    )
    with pytest.raises(RulePackError) as refused:
        catalog.get("base", 3)
    assert refused.value.code is RulePackErrorCode.PACK_NOT_FOUND


def test_it_removes_base_rules_named_by_an_overlay(tmp_path: Path) -> None:
    write_pack(tmp_path, "base", MANIFEST, healthcode=SECTION)
    overlay = {**MANIFEST, "id": "local", "base": "base@1", "sources": {}}
    write_pack(tmp_path, "local", overlay, healthcode={"remove": ["hc.companion"]})

    section = load(tmp_path).get("local").section(HEALTHCODE_SECTION)

    assert [rule.id for rule in section.rules] == ["hc.no_risk"]


def test_it_checks_sections_of_other_domains_generically_and_parses_them_on_demand(
    tmp_path: Path,
) -> None:
    testing = {"rules": [{"id": "t.round", "every": {"value": 3, "unit": "day"}, "source": "doc"}]}
    write_pack(tmp_path, "base", MANIFEST, testing=testing)
    pack = load(tmp_path).get("base")
    schema: SectionSchema[int] = SectionSchema(
        name="testing", parse=lambda raw, _: int(raw["rules"][0]["every"]["value"])
    )

    assert pack.section(schema) == 3
    with pytest.raises(RulePackError) as refused:
        pack.section(HEALTHCODE_SECTION)
    assert refused.value.code is RulePackErrorCode.SECTION_UNKNOWN


BAD_SECTIONS: list[tuple[str, dict[str, Any], RulePackErrorCode, str | None]] = [
    (
        "unknown fact",
        with_rule(when={"star_sign": ["leo"]}),
        RulePackErrorCode.FACT_UNKNOWN,
        "hc.companion",
    ),
    (
        "bare number",
        with_rule(when={"companion": {"within": 14}}),
        RulePackErrorCode.UNIT_MISSING,
        "hc.companion",
    ),
    (
        "quantity without unit",
        with_rule(when={"companion": {"within": {"value": 14}}}),
        RulePackErrorCode.UNIT_MISSING,
        "hc.companion",
    ),
    (
        "unknown unit",
        with_rule(when={"companion": {"within": {"value": 2, "unit": "fortnight"}}}),
        RulePackErrorCode.UNIT_UNKNOWN,
        "hc.companion",
    ),
    (
        "unit of the wrong kind",
        with_rule(when={"companion": {"within": {"value": 2, "unit": "test"}}}),
        RulePackErrorCode.UNIT_UNKNOWN,
        "hc.companion",
    ),
    (
        "rule without source",
        without_rule_key("source"),
        RulePackErrorCode.SOURCE_MISSING,
        "hc.companion",
    ),
    (
        "undeclared source",
        with_rule(source="rumour"),
        RulePackErrorCode.SOURCE_UNKNOWN,
        "hc.companion",
    ),
    (
        "undeclared source on a number",
        with_rule(when={"companion": {"within": {"value": 14, "unit": "day", "source": "rumour"}}}),
        RulePackErrorCode.SOURCE_UNKNOWN,
        "hc.companion",
    ),
    (
        "colour that is no state",
        with_rule(colour="purple"),
        RulePackErrorCode.REFERENCE_UNKNOWN,
        "hc.companion",
    ),
    (
        "status that does not exist",
        with_rule(when={"case_status": ["zombie"]}),
        RulePackErrorCode.REFERENCE_UNKNOWN,
        "hc.companion",
    ),
    (
        "unknown rule key",
        with_rule(colour_hint="red"),
        RulePackErrorCode.FIELD_UNKNOWN,
        "hc.companion",
    ),
    (
        "rule without reason",
        without_rule_key("reason"),
        RulePackErrorCode.FIELD_MISSING,
        "hc.companion",
    ),
    (
        "duplicate rule id",
        with_rule(id="hc.no_risk"),
        RulePackErrorCode.RULE_ID_DUPLICATE,
        "hc.no_risk",
    ),
    ("rule without id", without_rule_key("id"), RulePackErrorCode.RULE_ID_MISSING, None),
    (
        "clear by tests counted in days",
        with_rule(cleared_by={"tests": {"value": 2, "unit": "day"}, "result": "negative"}),
        RulePackErrorCode.UNIT_UNKNOWN,
        "hc.companion",
    ),
    (
        "no default rule",
        {**SECTION, "rules": SECTION["rules"][:1]},
        RulePackErrorCode.FIELD_MISSING,
        None,
    ),
    (
        "clear state not a state",
        {**SECTION, "clear_state": "blue"},
        RulePackErrorCode.REFERENCE_UNKNOWN,
        None,
    ),
    (
        "number outside a rule without source",
        {**SECTION, "states": ["red", "green"], "lifetime": {"value": 1, "unit": "minute"}},
        RulePackErrorCode.SOURCE_MISSING,
        None,
    ),
    (
        "remove in a base pack",
        {**SECTION, "remove": ["hc.companion"]},
        RulePackErrorCode.FIELD_INVALID,
        None,
    ),
]


@pytest.mark.parametrize(
    ("_case", "section", "code", "rule_id"), BAD_SECTIONS, ids=[case[0] for case in BAD_SECTIONS]
)
def test_it_refuses_a_bad_section_naming_the_rule(
    tmp_path: Path,
    _case: str,
    section: dict[str, Any],
    code: RulePackErrorCode,
    rule_id: str | None,
) -> None:
    write_pack(tmp_path, "base", MANIFEST, healthcode=section)

    with pytest.raises(RulePackError) as refused:
        load(tmp_path)

    assert refused.value.code is code
    assert refused.value.rule_id == rule_id
    assert refused.value.field is not None and refused.value.field.startswith("base/")
    if rule_id is not None:
        assert rule_id in refused.value.message


def _manifest(**changes: Any) -> dict[str, Any]:
    manifest = copy.deepcopy(MANIFEST)
    manifest.update(changes)
    return {key: value for key, value in manifest.items() if value is not None}


BAD_MANIFESTS: list[tuple[str, dict[str, Any], RulePackErrorCode]] = [
    ("missing title", _manifest(title=None), RulePackErrorCode.FIELD_MISSING),
    ("unknown key", _manifest(colour="red"), RulePackErrorCode.FIELD_UNKNOWN),
    (
        "effective date without offset",
        _manifest(effective_from="2022-06-28T00:00:00"),
        RulePackErrorCode.FIELD_INVALID,
    ),
    ("version zero", _manifest(version=0), RulePackErrorCode.FIELD_INVALID),
    (
        "ends before it starts",
        _manifest(effective_until="2022-06-01T00:00:00+08:00"),
        RulePackErrorCode.FIELD_INVALID,
    ),
    (
        "source without url or document",
        _manifest(sources={"doc": {"title": "t", "confidence": "A"}}),
        RulePackErrorCode.SOURCE_INVALID,
    ),
    (
        "source without confidence",
        _manifest(sources={"doc": {"title": "t", "url": "http://x"}}),
        RulePackErrorCode.SOURCE_INVALID,
    ),
    ("unknown base", _manifest(base="cn-99"), RulePackErrorCode.BASE_UNKNOWN),
    ("base is itself", _manifest(base="base"), RulePackErrorCode.BASE_CYCLE),
]


@pytest.mark.parametrize(
    ("_case", "manifest", "code"), BAD_MANIFESTS, ids=[case[0] for case in BAD_MANIFESTS]
)
def test_it_refuses_a_bad_manifest(
    tmp_path: Path, _case: str, manifest: dict[str, Any], code: RulePackErrorCode
) -> None:
    write_pack(tmp_path, "base", manifest, healthcode=SECTION)

    with pytest.raises(RulePackError) as refused:
        load(tmp_path)

    assert refused.value.code is code
    assert refused.value.field is not None and refused.value.field.startswith("base/pack.yaml")


def test_it_refuses_an_overlay_removing_a_rule_its_base_lacks(tmp_path: Path) -> None:
    write_pack(tmp_path, "base", MANIFEST, healthcode=SECTION)
    overlay = {**MANIFEST, "id": "local", "base": "base", "sources": {}}
    write_pack(tmp_path, "local", overlay, healthcode={"remove": ["hc.ghost"]})

    with pytest.raises(RulePackError) as refused:
        load(tmp_path)

    assert refused.value.code is RulePackErrorCode.REFERENCE_UNKNOWN
    assert refused.value.rule_id == "hc.ghost"


def test_it_refuses_an_overlay_rule_that_breaks_the_composed_section(tmp_path: Path) -> None:
    write_pack(tmp_path, "base", MANIFEST, healthcode=SECTION)
    overlay = {**MANIFEST, "id": "local", "base": "base", "sources": {}}
    bad = {"rules": [{**SECTION["rules"][0], "id": "zz.new", "when": {"horoscope": True}}]}
    write_pack(tmp_path, "local", overlay, healthcode=bad)

    with pytest.raises(RulePackError) as refused:
        load(tmp_path)

    assert (refused.value.code, refused.value.rule_id) == (RulePackErrorCode.FACT_UNKNOWN, "zz.new")


def test_it_refuses_two_packs_with_the_same_id_and_version(tmp_path: Path) -> None:
    write_pack(tmp_path, "base", MANIFEST, healthcode=SECTION)
    write_pack(tmp_path, "copy", MANIFEST, healthcode=SECTION)

    with pytest.raises(RulePackError) as refused:
        load(tmp_path)

    assert refused.value.code is RulePackErrorCode.PACK_DUPLICATE


def test_it_refuses_a_file_that_is_not_yaml(tmp_path: Path) -> None:
    write_pack(tmp_path, "base", MANIFEST, healthcode="rules: [unclosed")

    with pytest.raises(RulePackError) as refused:
        load(tmp_path)

    assert refused.value.code is RulePackErrorCode.FILE_UNREADABLE
    assert refused.value.field == "base/healthcode.yaml"
