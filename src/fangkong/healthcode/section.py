"""Parsing and validating the ``healthcode.yaml`` section of a rule pack (pure).

A rule reads::

    - id: hc.visited_medium
      colour: yellow
      reason: visited_medium_risk_area
      when: {visited_risk: {levels: [medium], within: {value: 7, unit: day}}}
      cleared_by: {tests: {value: 2, unit: test}, result: negative,
                   within: {value: 3, unit: day}, min_gap: {value: 24, unit: hour}}
      source: [hunan-cdc-2022]

Every condition in ``when`` must hold (an empty ``when`` always holds: the default rule).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fangkong.healthcode.enums import CaseStatus, ContactKind, RiskLevel, Supervision
from fangkong.healthcode.schemas import (
    ClearByTests,
    CodeRule,
    Condition,
    Fact,
    HealthCodeSection,
)
from fangkong.rulepacks.errors import RulePackErrorCode
from fangkong.rulepacks.schemas import (
    IDENTIFIER,
    TIME_UNITS,
    SectionContext,
    SectionSchema,
)

SECTION_NAME = "healthcode"
SECTION_KEYS = frozenset({"states", "clear_state", "rules"})
RULE_KEYS = frozenset({"id", "colour", "reason", "when", "cleared_by", "source", "note"})
CLEAR_KEYS = frozenset({"tests", "result", "within", "min_gap"})
TIME = tuple(TIME_UNITS)

# Facts tested against a list of statuses or levels, with the values each may name.
LISTED_VALUES: Mapping[Fact, frozenset[str]] = {
    Fact.CASE_STATUS: frozenset(CaseStatus) - {CaseStatus.NONE},
    Fact.CONTACT: frozenset(ContactKind) - {ContactKind.NONE},
    Fact.SUPERVISION: frozenset(Supervision) - {Supervision.NONE},
    Fact.RESIDENCE_RISK: frozenset(RiskLevel) - {RiskLevel.NONE},
}
FLAG_FACTS = frozenset({Fact.POSITIVE_POOL, Fact.KEY_POST_WORKER})
# Facts taking one duration, under the key named here (None: the quantity itself).
WINDOW_FACTS: Mapping[Fact, str | None] = {
    Fact.NEGATIVE_OLDER_THAN: None,
    Fact.COMPANION: "within",
    Fact.ARRIVED_UNTESTED: "after",
}


def parse_section(raw: Mapping[str, Any], context: SectionContext) -> HealthCodeSection:
    """Validate a composed health-code section; refuses with the rule id of the first problem."""
    unknown = sorted(set(raw) - SECTION_KEYS)
    if unknown:
        raise context.error(RulePackErrorCode.FIELD_UNKNOWN, f"unknown keys {unknown}", path="")
    states = raw.get("states")
    if not isinstance(states, list) or not states or not all(isinstance(s, str) for s in states):
        raise context.error(
            RulePackErrorCode.FIELD_MISSING, "states: a list of state ids", path="states"
        )
    clear_state = raw.get("clear_state")
    if clear_state not in states:
        raise context.error(
            RulePackErrorCode.REFERENCE_UNKNOWN,
            f"clear_state {clear_state!r} is not one of the states",
            path="clear_state",
        )
    rules = tuple(_rule(rule, context, set(states)) for rule in raw.get("rules", []))
    if not any(not rule.when for rule in rules):
        raise context.error(
            RulePackErrorCode.FIELD_MISSING,
            "a default rule (empty when) is needed so every person gets a decision",
            path="rules",
        )
    return HealthCodeSection(
        pack_id=context.manifest.id,
        pack_version=context.manifest.version,
        states=tuple(states),
        clear_state=str(clear_state),
        rules=rules,
    )


def _rule(raw: Mapping[str, Any], context: SectionContext, states: set[str]) -> CodeRule:
    rule_id = str(raw["id"])
    path = f"rules[{rule_id}]"
    unknown = sorted(set(raw) - RULE_KEYS)
    if unknown:
        raise context.error(
            RulePackErrorCode.FIELD_UNKNOWN, f"unknown keys {unknown}", path=path, rule_id=rule_id
        )
    colour = raw.get("colour")
    if colour not in states:
        raise context.error(
            RulePackErrorCode.REFERENCE_UNKNOWN,
            f"colour {colour!r} is not one of the states {sorted(states)}",
            path=f"{path}.colour",
            rule_id=rule_id,
        )
    reason = raw.get("reason")
    if not isinstance(reason, str) or not IDENTIFIER.match(reason):
        raise context.error(
            RulePackErrorCode.FIELD_MISSING,
            "reason: a reason code is required",
            path=f"{path}.reason",
            rule_id=rule_id,
        )
    when = raw.get("when")
    if not isinstance(when, Mapping):
        raise context.error(
            RulePackErrorCode.FIELD_MISSING,
            "when: a mapping of facts ({} for the default rule)",
            path=f"{path}.when",
            rule_id=rule_id,
        )
    conditions = tuple(
        _condition(str(name), value, context, rule_id, f"{path}.when.{name}")
        for name, value in when.items()
    )
    cleared_by = raw.get("cleared_by")
    sources = raw["source"] if isinstance(raw["source"], list) else [raw["source"]]
    return CodeRule(
        id=rule_id,
        colour=str(colour),
        reason=reason,
        when=conditions,
        cleared_by=None
        if cleared_by is None
        else _clear(cleared_by, context, rule_id, f"{path}.cleared_by"),
        sources=tuple(str(s) for s in sources),
    )


def _condition(
    name: str, value: Any, context: SectionContext, rule_id: str, path: str
) -> Condition:
    try:
        fact = Fact(name)
    except ValueError:
        raise context.error(
            RulePackErrorCode.FACT_UNKNOWN,
            f"unknown fact {name!r} (known: {', '.join(Fact)})",
            path=path,
            rule_id=rule_id,
        ) from None
    if fact in LISTED_VALUES:
        return Condition(fact, values=_values(value, LISTED_VALUES[fact], context, rule_id, path))
    if fact in FLAG_FACTS:
        if value is not True:
            raise context.error(
                RulePackErrorCode.FIELD_INVALID, "expected true", path=path, rule_id=rule_id
            )
        return Condition(fact)
    if fact in WINDOW_FACTS:
        key = WINDOW_FACTS[fact]
        quantity_raw = value if key is None else _mapping(value, context, rule_id, path).get(key)
        quantity = context.quantity(quantity_raw, path=path, rule_id=rule_id, units=TIME)
        return Condition(fact, window=quantity.as_timedelta())
    if fact is Fact.VISITED_RISK:
        spec = _mapping(value, context, rule_id, path)
        levels = _values(
            spec.get("levels"), LISTED_VALUES[Fact.RESIDENCE_RISK], context, rule_id, path
        )
        within = context.quantity(
            spec.get("within"), path=f"{path}.within", rule_id=rule_id, units=TIME
        )
        return Condition(fact, values=levels, window=within.as_timedelta())
    spec = _mapping(value, context, rule_id, path)  # Fact.SKIPPED_ROUNDS
    at_least = context.quantity(
        spec.get("at_least"), path=f"{path}.at_least", rule_id=rule_id, units=("round",)
    )
    return Condition(fact, count=at_least.as_count())


def _clear(raw: Any, context: SectionContext, rule_id: str, path: str) -> ClearByTests:
    spec = _mapping(raw, context, rule_id, path)
    unknown = sorted(set(spec) - CLEAR_KEYS)
    if unknown:
        raise context.error(
            RulePackErrorCode.FIELD_UNKNOWN, f"unknown keys {unknown}", path=path, rule_id=rule_id
        )
    tests = context.quantity(
        spec.get("tests"), path=f"{path}.tests", rule_id=rule_id, units=("test",)
    )
    result = spec.get("result")
    if result not in ("negative", "any"):
        raise context.error(
            RulePackErrorCode.FIELD_INVALID,
            "result: negative or any",
            path=f"{path}.result",
            rule_id=rule_id,
        )
    within = spec.get("within")
    min_gap = spec.get("min_gap")
    return ClearByTests(
        tests=tests.as_count(),
        negative_only=result == "negative",
        within=None
        if within is None
        else context.quantity(
            within, path=f"{path}.within", rule_id=rule_id, units=TIME
        ).as_timedelta(),
        min_gap=None
        if min_gap is None
        else context.quantity(
            min_gap, path=f"{path}.min_gap", rule_id=rule_id, units=TIME
        ).as_timedelta(),
    )


def _mapping(value: Any, context: SectionContext, rule_id: str, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise context.error(
            RulePackErrorCode.FIELD_INVALID, "expected a mapping", path=path, rule_id=rule_id
        )
    return value


def _values(
    value: Any, allowed: frozenset[str], context: SectionContext, rule_id: str, path: str
) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        raise context.error(
            RulePackErrorCode.FIELD_INVALID, "expected a list", path=path, rule_id=rule_id
        )
    for item in value:
        if item not in allowed:
            raise context.error(
                RulePackErrorCode.REFERENCE_UNKNOWN,
                f"{item!r} is not one of {sorted(allowed)}",
                path=path,
                rule_id=rule_id,
            )
    return frozenset(str(item) for item in value)


HEALTHCODE_SECTION: SectionSchema[HealthCodeSection] = SectionSchema(
    name=SECTION_NAME, parse=parse_section
)
