"""Parsing and validating the ``areas.yaml`` section of a rule pack (pure).

A section names its ``levels`` (most severe first), the ``lifted_level`` at which a place stops
being a risk area of its own, and two kinds of rules::

    - id: area.high.designate
      designate: {level: high, basis: [residence], unit: compound}
      controls: [stay_home]
      source: nhc-9th-risk-areas
    - id: area.high_to_medium
      lift: {from: high, to: medium, scope: [place]}
      when: {days_without_case: {value: 7, unit: day}, final_round_all_negative: true}
      source: nhc-9th-risk-areas
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from fangkong.areas.enums import Basis, DrawUnit, RiskLevel, Scope
from fangkong.areas.schemas import AreasSection, DesignateRule, Fact, LiftRule
from fangkong.rulepacks.errors import RulePackErrorCode
from fangkong.rulepacks.schemas import SectionContext, SectionSchema

E = TypeVar("E", RiskLevel, Basis, DrawUnit, Scope)

SECTION_NAME = "areas"
SECTION_KEYS = frozenset({"levels", "lifted_level", "rules", "note"})
RULE_KEYS = frozenset({"id", "designate", "lift", "when", "controls", "source", "note"})
DESIGNATE_KEYS = frozenset({"level", "basis", "unit"})
LIFT_KEYS = frozenset(
    {"from", "to", "scope", "designated", "requires_confirmation", "isolated_infections_reset"}
)


def parse_section(raw: Mapping[str, Any], context: SectionContext) -> AreasSection:
    """Validate a composed areas section; refuses with the rule id of the first problem."""
    unknown = sorted(set(raw) - SECTION_KEYS)
    if unknown:
        raise context.error(RulePackErrorCode.FIELD_UNKNOWN, f"unknown keys {unknown}", path="")
    levels_raw = raw.get("levels")
    if not isinstance(levels_raw, list) or not levels_raw:
        raise context.error(RulePackErrorCode.FIELD_MISSING, "levels: a list", path="levels")
    levels = tuple(_enum(RiskLevel, item, context, None, "levels") for item in levels_raw)
    lifted = _enum(RiskLevel, raw.get("lifted_level"), context, None, "lifted_level")
    if lifted not in levels:
        raise context.error(
            RulePackErrorCode.REFERENCE_UNKNOWN,
            f"lifted_level {lifted} is not one of the levels",
            path="lifted_level",
        )
    designate: list[DesignateRule] = []
    lift: list[LiftRule] = []
    for rule in raw.get("rules", []):
        rule_id = str(rule["id"])
        path = f"rules[{rule_id}]"
        unknown = sorted(set(rule) - RULE_KEYS)
        if unknown or ("designate" in rule) == ("lift" in rule):
            raise context.error(
                RulePackErrorCode.FIELD_UNKNOWN if unknown else RulePackErrorCode.FIELD_MISSING,
                f"unknown keys {unknown}" if unknown else "exactly one of designate or lift",
                path=path,
                rule_id=rule_id,
            )
        sources = tuple(str(s) for s in _listed(rule["source"]))
        controls = tuple(str(c) for c in rule.get("controls", []))
        if "designate" in rule:
            designate.append(_designate(rule, context, rule_id, path, levels, controls, sources))
        else:
            lift.append(_lift(rule, context, rule_id, path, levels, controls, sources))
    return AreasSection(
        pack_id=context.manifest.id,
        pack_version=context.manifest.version,
        levels=levels,
        lifted_level=lifted,
        designate=tuple(designate),
        lift=tuple(lift),
    )


def _designate(
    rule: Mapping[str, Any],
    context: SectionContext,
    rule_id: str,
    path: str,
    levels: tuple[RiskLevel, ...],
    controls: tuple[str, ...],
    sources: tuple[str, ...],
) -> DesignateRule:
    spec = _mapping(rule["designate"], context, rule_id, f"{path}.designate", DESIGNATE_KEYS)
    level = _level(spec.get("level"), levels, context, rule_id, f"{path}.designate.level")
    basis = frozenset(
        _enum(Basis, item, context, rule_id, f"{path}.designate.basis")
        for item in _listed(spec.get("basis"))
    )
    unit = _enum(DrawUnit, spec.get("unit"), context, rule_id, f"{path}.designate.unit")
    return DesignateRule(rule_id, level, basis, unit, controls, sources)


def _lift(
    rule: Mapping[str, Any],
    context: SectionContext,
    rule_id: str,
    path: str,
    levels: tuple[RiskLevel, ...],
    controls: tuple[str, ...],
    sources: tuple[str, ...],
) -> LiftRule:
    spec = _mapping(rule["lift"], context, rule_id, f"{path}.lift", LIFT_KEYS)
    from_level = _level(spec.get("from"), levels, context, rule_id, f"{path}.lift.from")
    to_level = _level(spec.get("to"), levels, context, rule_id, f"{path}.lift.to")
    if levels.index(to_level) <= levels.index(from_level):
        raise context.error(
            RulePackErrorCode.FIELD_INVALID,
            f"a lift must lower the level ({from_level} → {to_level})",
            path=f"{path}.lift",
            rule_id=rule_id,
        )
    designated = spec.get("designated")
    when = _mapping(rule.get("when", {}), context, rule_id, f"{path}.when", None)
    facts: dict[Fact, Any] = {}
    for name, value in when.items():
        try:
            facts[Fact(name)] = value
        except ValueError:
            raise context.error(
                RulePackErrorCode.FACT_UNKNOWN,
                f"unknown fact {name!r} (known: {', '.join(Fact)})",
                path=f"{path}.when.{name}",
                rule_id=rule_id,
            ) from None
    days = rounds = 0
    if Fact.DAYS_WITHOUT_CASE in facts:
        days = context.quantity(
            facts[Fact.DAYS_WITHOUT_CASE], path=f"{path}.when", rule_id=rule_id, units=("day",)
        ).as_count()
    if Fact.MIN_NEGATIVE_ROUNDS in facts:
        rounds = context.quantity(
            facts[Fact.MIN_NEGATIVE_ROUNDS], path=f"{path}.when", rule_id=rule_id, units=("round",)
        ).as_count()
    for flag in (Fact.FINAL_ROUND_ALL_NEGATIVE, Fact.NO_HIGHER_AREAS_INSIDE):
        if flag in facts and facts[flag] is not True:
            raise context.error(
                RulePackErrorCode.FIELD_INVALID,
                "expected true",
                path=f"{path}.when.{flag}",
                rule_id=rule_id,
            )
    if (rounds or Fact.FINAL_ROUND_ALL_NEGATIVE in facts) and not days:
        raise context.error(
            RulePackErrorCode.FIELD_MISSING,
            "rounds are counted over days_without_case: give it",
            path=f"{path}.when",
            rule_id=rule_id,
        )
    return LiftRule(
        id=rule_id,
        from_level=from_level,
        to_level=to_level,
        scope=frozenset(
            _enum(Scope, item, context, rule_id, f"{path}.lift.scope")
            for item in _listed(spec.get("scope", ["place"]))
        ),
        designated=None
        if designated is None
        else _level(designated, levels, context, rule_id, f"{path}.lift.designated"),
        days_without_case=days,
        min_negative_rounds=rounds,
        final_round_all_negative=Fact.FINAL_ROUND_ALL_NEGATIVE in facts,
        no_higher_areas_inside=Fact.NO_HIGHER_AREAS_INSIDE in facts,
        requires_confirmation=spec.get("requires_confirmation") is True,
        isolated_infections_reset=spec.get("isolated_infections_reset", True) is not False,
        controls=controls,
        sources=sources,
    )


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _mapping(
    value: Any, context: SectionContext, rule_id: str, path: str, keys: frozenset[str] | None
) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise context.error(
            RulePackErrorCode.FIELD_INVALID, "expected a mapping", path=path, rule_id=rule_id
        )
    unknown = sorted(set(value) - keys) if keys is not None else []
    if unknown:
        raise context.error(
            RulePackErrorCode.FIELD_UNKNOWN, f"unknown keys {unknown}", path=path, rule_id=rule_id
        )
    return value


def _enum(kind: type[E], value: Any, context: SectionContext, rule_id: str | None, path: str) -> E:
    try:
        return kind(value)
    except ValueError:
        raise context.error(
            RulePackErrorCode.REFERENCE_UNKNOWN,
            f"{value!r} is not one of {[str(item) for item in kind]}",
            path=path,
            rule_id=rule_id,
        ) from None


def _level(
    value: Any, levels: tuple[RiskLevel, ...], context: SectionContext, rule_id: str, path: str
) -> RiskLevel:
    level = _enum(RiskLevel, value, context, rule_id, path)
    if level not in levels:
        raise context.error(
            RulePackErrorCode.REFERENCE_UNKNOWN,
            f"level {level} is not one of this pack's levels",
            path=path,
            rule_id=rule_id,
        )
    return level


AREAS_SECTION: SectionSchema[AreasSection] = SectionSchema(name=SECTION_NAME, parse=parse_section)
