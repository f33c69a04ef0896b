"""Parsing the ``testing.yaml`` section of a rule pack (pure): what a positive pool sets off.

::

    rules:
      - id: test.positive_pool
        alert: [community, testing_group, police]
        sample_building_first: false
        source: [china-cdc-pool-2022-12]

``alert`` names who is told in the platform at once; ``sample_building_first`` flags the
building of every member of a positive pool so that its remaining residents are sampled first
in the open round (local practice before Dec 2022; no national source, see docs/testing.md).
A pack without the section falls back to :data:`DEFAULT_POLICY`.
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
POSITIVE_POOL_RULE = "test.positive_pool"
AUDIENCES = ("community", "testing_group", "police")


@dataclass(frozen=True)
class PositivePoolPolicy:
    """What a positive tube sets off, and the rule (``pack@version#rule``) that says so."""

    rule_ref: str
    audiences: tuple[str, ...] = AUDIENCES
    sample_building_first: bool = False


DEFAULT_POLICY = PositivePoolPolicy(rule_ref="fangkong-default#test.positive_pool")


def parse_section(raw: Mapping[str, Any], context: SectionContext) -> PositivePoolPolicy:
    unknown = sorted(set(raw) - SECTION_KEYS)
    if unknown:
        raise context.error(RulePackErrorCode.FIELD_UNKNOWN, f"unknown keys {unknown}", path="")
    rules = {str(rule["id"]): rule for rule in raw.get("rules", [])}
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


TESTING_SECTION: SectionSchema[PositivePoolPolicy] = SectionSchema(
    name=SECTION_NAME, parse=parse_section
)
