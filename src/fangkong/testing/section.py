"""Parsing the ``testing.yaml`` section of a rule pack (pure): what a positive pool sets off,
and how many people a tube pools by the risk class of the area it is opened for.

::

    rules:
      - id: test.positive_pool
        alert: [community, testing_group, police]
        sample_building_first: false
        source: [china-cdc-pool-2022-12]
      - id: test.pool_size
        isolation_site: {value: 1, unit: person}
        by_risk:
          high: {value: 1, unit: person}
          medium: {value: 10, unit: person}
          low: {value: 20, unit: person}
          normal: {value: 20, unit: person}
        source: [langfang-pool-sizes]

``alert`` names who is told in the platform at once; ``sample_building_first`` flags the
building of every member of a positive pool so that its remaining residents are sampled first
in the open round (local practice before Dec 2022; no national source, see docs/testing.md).
``test.pool_size`` gives the people per tube at a centralised isolation site and in an area
of each risk level (a level it leaves out keeps the default). A pack without the section falls
back to :data:`DEFAULT_POLICY` and :data:`DEFAULT_POOL_SIZES`; a pack without the
``test.pool_size`` rule to :data:`DEFAULT_POOL_SIZES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fangkong.rulepacks.errors import RulePackErrorCode
from fangkong.rulepacks.schemas import SectionContext, SectionSchema

SECTION_NAME = "testing"
SECTION_KEYS = frozenset({"rules", "note"})
RULE_KEYS = frozenset({"id", "alert", "sample_building_first", "source", "note"})
POOL_SIZE_KEYS = frozenset({"id", "isolation_site", "by_risk", "source", "note"})
CADENCE_KEYS = frozenset(
    {"id", "every", "clear_rounds", "then_after", "confirm_rounds", "source", "note"}
)
CADENCE_RULE = "test.round_cadence"
POSITIVE_POOL_RULE = "test.positive_pool"
POOL_SIZE_RULE = "test.pool_size"
AUDIENCES = ("community", "testing_group", "police")
RISK_LEVELS = ("high", "medium", "low", "normal")  # fangkong.areas.enums.RiskLevel values
MAX_POOL_SIZE = 50  # a hard technical bound (testing.service.MAX_POOL_SIZE)


@dataclass(frozen=True)
class PositivePoolPolicy:
    """What a positive tube sets off, and the rule (``pack@version#rule``) that says so."""

    rule_ref: str
    audiences: tuple[str, ...] = AUDIENCES
    sample_building_first: bool = False


DEFAULT_POLICY = PositivePoolPolicy(rule_ref="fangkong-default#test.positive_pool")


@dataclass(frozen=True)
class PoolSizePolicy:
    """People per tube at a centralised isolation site and by the area's risk level, and the
    rule (``pack@version#rule``) that says so."""

    rule_ref: str
    isolation_site: int = 1
    high: int = 1
    medium: int = 10
    low: int = 10
    normal: int = 10

    def for_level(self, level: str) -> int:
        sizes = {"high": self.high, "medium": self.medium, "low": self.low}
        return sizes.get(level, self.normal)


DEFAULT_POOL_SIZES = PoolSizePolicy(rule_ref="fangkong-default#test.pool_size")
"""10-in-1 everywhere except single tubes at isolation sites and in high-risk areas (the NHC's
2020 note: high-risk people are always tested alone)."""


@dataclass(frozen=True)
class CadencePolicy:
    """How often rounds repeat: every ``every_days`` until ``clear_rounds`` rounds in a row find
    no community infection, then ``confirm_rounds`` more rounds ``then_after_days`` apart; when
    those are clear too, mass testing stops."""

    rule_ref: str
    every_days: int = 1
    clear_rounds: int = 3
    then_after_days: int = 3
    confirm_rounds: int = 1


@dataclass(frozen=True)
class TestingPolicy:
    """The whole testing section of a pack (``cadence`` None: the pack sets no cadence)."""

    __test__ = False  # the name starts with "Test"; pytest must not collect it

    positive_pool: PositivePoolPolicy
    pool_sizes: PoolSizePolicy = DEFAULT_POOL_SIZES
    cadence: CadencePolicy | None = None


DEFAULT_TESTING = TestingPolicy(positive_pool=DEFAULT_POLICY)


def parse_section(raw: Mapping[str, Any], context: SectionContext) -> TestingPolicy:
    unknown = sorted(set(raw) - SECTION_KEYS)
    if unknown:
        raise context.error(RulePackErrorCode.FIELD_UNKNOWN, f"unknown keys {unknown}", path="")
    rules = {str(rule["id"]): rule for rule in raw.get("rules", [])}
    pool_sizes = DEFAULT_POOL_SIZES
    if POOL_SIZE_RULE in rules:
        pool_sizes = _parse_pool_sizes(rules[POOL_SIZE_RULE], context)
    cadence = _parse_cadence(rules[CADENCE_RULE], context) if CADENCE_RULE in rules else None
    return TestingPolicy(_parse_positive_pool(rules, context), pool_sizes, cadence)


def _whole(raw: Any, context: SectionContext, path: str, unit: str, minimum: int) -> int:
    value = context.quantity(raw, path=path, rule_id=CADENCE_RULE, units=(unit,)).value
    if not value.is_integer() or value < minimum:
        raise context.error(
            RulePackErrorCode.FIELD_INVALID,
            f"a whole number of {unit}s, at least {minimum}",
            path=path,
            rule_id=CADENCE_RULE,
        )
    return int(value)


def _parse_cadence(rule: Mapping[str, Any], context: SectionContext) -> CadencePolicy:
    path = f"rules[{CADENCE_RULE}]"
    unknown = sorted(set(rule) - CADENCE_KEYS)
    missing = sorted({"every", "clear_rounds", "then_after", "confirm_rounds"} - set(rule))
    if unknown or missing:
        raise context.error(
            RulePackErrorCode.FIELD_UNKNOWN if unknown else RulePackErrorCode.FIELD_MISSING,
            f"unknown keys {unknown}" if unknown else f"missing keys {missing}",
            path=path,
            rule_id=CADENCE_RULE,
        )
    return CadencePolicy(
        rule_ref=f"{context.manifest.ref}#{CADENCE_RULE}",
        every_days=_whole(rule["every"], context, f"{path}.every", "day", 1),
        clear_rounds=_whole(rule["clear_rounds"], context, f"{path}.clear_rounds", "round", 1),
        then_after_days=_whole(rule["then_after"], context, f"{path}.then_after", "day", 1),
        confirm_rounds=_whole(
            rule["confirm_rounds"], context, f"{path}.confirm_rounds", "round", 0
        ),
    )


def _size(raw: Any, context: SectionContext, path: str) -> int:
    """A ``{value, unit: person}`` pool size: a whole number from 1 to MAX_POOL_SIZE."""
    value = context.quantity(raw, path=path, rule_id=POOL_SIZE_RULE, units=("person",)).value
    if not value.is_integer() or not 1 <= value <= MAX_POOL_SIZE:
        raise context.error(
            RulePackErrorCode.FIELD_INVALID,
            f"a pool size is a whole number of people from 1 to {MAX_POOL_SIZE}",
            path=path,
            rule_id=POOL_SIZE_RULE,
        )
    return int(value)


def _parse_pool_sizes(rule: Mapping[str, Any], context: SectionContext) -> PoolSizePolicy:
    path = f"rules[{POOL_SIZE_RULE}]"
    unknown = sorted(set(rule) - POOL_SIZE_KEYS)
    if unknown:
        raise context.error(
            RulePackErrorCode.FIELD_UNKNOWN,
            f"unknown keys {unknown}",
            path=path,
            rule_id=POOL_SIZE_RULE,
        )
    by_risk = rule.get("by_risk", {})
    if not isinstance(by_risk, Mapping):
        raise context.error(
            RulePackErrorCode.FIELD_INVALID,
            "by_risk maps risk levels to pool sizes",
            path=f"{path}.by_risk",
            rule_id=POOL_SIZE_RULE,
        )
    sizes: dict[str, int] = {}
    for level, value in by_risk.items():
        if level not in RISK_LEVELS:
            raise context.error(
                RulePackErrorCode.REFERENCE_UNKNOWN,
                f"{level!r} is not one of {list(RISK_LEVELS)}",
                path=f"{path}.by_risk",
                rule_id=POOL_SIZE_RULE,
            )
        sizes[str(level)] = _size(value, context, f"{path}.by_risk.{level}")
    site = DEFAULT_POOL_SIZES.isolation_site
    if "isolation_site" in rule:
        site = _size(rule["isolation_site"], context, f"{path}.isolation_site")
    return PoolSizePolicy(
        rule_ref=f"{context.manifest.ref}#{POOL_SIZE_RULE}",
        isolation_site=site,
        high=sizes.get("high", DEFAULT_POOL_SIZES.high),
        medium=sizes.get("medium", DEFAULT_POOL_SIZES.medium),
        low=sizes.get("low", DEFAULT_POOL_SIZES.low),
        normal=sizes.get("normal", DEFAULT_POOL_SIZES.normal),
    )


def _parse_positive_pool(
    rules: Mapping[str, Mapping[str, Any]], context: SectionContext
) -> PositivePoolPolicy:
    rule = rules.get(POSITIVE_POOL_RULE)
    if rule is None:
        raise context.error(
            RulePackErrorCode.FIELD_MISSING, f"rule {POSITIVE_POOL_RULE} is missing", path="rules"
        )
    path = f"rules[{POSITIVE_POOL_RULE}]"
    unknown = sorted(set(rule) - RULE_KEYS)
    if unknown:
        raise context.error(
            RulePackErrorCode.FIELD_UNKNOWN,
            f"unknown keys {unknown}",
            path=path,
            rule_id=POSITIVE_POOL_RULE,
        )
    audiences = tuple(str(who) for who in rule.get("alert", AUDIENCES))
    for who in audiences:
        if who not in AUDIENCES:
            raise context.error(
                RulePackErrorCode.REFERENCE_UNKNOWN,
                f"{who!r} is not one of {list(AUDIENCES)}",
                path=f"{path}.alert",
                rule_id=POSITIVE_POOL_RULE,
            )
    first = rule.get("sample_building_first", False)
    if not isinstance(first, bool):
        raise context.error(
            RulePackErrorCode.FIELD_INVALID,
            "sample_building_first: true or false",
            path=f"{path}.sample_building_first",
            rule_id=POSITIVE_POOL_RULE,
        )
    return PositivePoolPolicy(
        rule_ref=f"{context.manifest.ref}#{POSITIVE_POOL_RULE}",
        audiences=audiences,
        sample_building_first=first,
    )


TESTING_SECTION: SectionSchema[TestingPolicy] = SectionSchema(
    name=SECTION_NAME, parse=parse_section
)
