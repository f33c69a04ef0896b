"""Parsing and validating the ``isolation.yaml`` section of a rule pack (pure).

A rule gives one person category its phases::

    - id: iso.close_contact
      category: close_contact
      clock: last_exposure
      phases:
        - kind: centralised
          duration: {value: 7, unit: day}
          test_days: [{value: 1, unit: day}, {value: 7, unit: day}]
      source: nhc-9th-edition

``cannot_move`` (a setting) names who is never moved to a facility: registry tags and infants
under an age given in days.

``tests_before_order`` (optional) says whether test days whose 24 hours were over before the
order was made are still required::

    tests_before_order: {required: false, source: [nhc-9th-edition]}

Absent, every test day is required. With ``required: false`` the last test day of each phase
must be the phase's last day, so that a release always rests on a test taken at its end.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fangkong.isolation.enums import Category, Clock, PhaseKind
from fangkong.isolation.schemas import CategoryRule, IsolationSection, PhaseRule
from fangkong.registry.enums import PersonTag
from fangkong.rulepacks.errors import RulePackErrorCode
from fangkong.rulepacks.schemas import SectionContext, SectionSchema

SECTION_NAME = "isolation"
SECTION_KEYS = frozenset({"rules", "cannot_move", "tests_before_order", "note"})
BEFORE_ORDER_KEYS = frozenset({"required", "source", "note"})
RULE_KEYS = frozenset({"id", "category", "clock", "phases", "source", "note"})
PHASE_KEYS = frozenset({"kind", "duration", "test_days", "release_ct_at_least"})
CANNOT_MOVE_KEYS = frozenset({"tags", "infant_under"})
TAG_NAMES = frozenset(str(tag.name).lower() for tag in PersonTag)


def parse_section(raw: Mapping[str, Any], context: SectionContext) -> IsolationSection:
    unknown = sorted(set(raw) - SECTION_KEYS)
    if unknown:
        raise context.error(RulePackErrorCode.FIELD_UNKNOWN, f"unknown keys {unknown}", path="")
    rules = tuple(_rule(rule, context) for rule in raw.get("rules", []))
    categories = [rule.category for rule in rules]
    for category in set(categories):
        if categories.count(category) > 1:
            raise context.error(
                RulePackErrorCode.FIELD_INVALID,
                f"category {category} has two rules",
                path="rules",
            )
    cannot_move = _mapping(raw.get("cannot_move", {}), context, None, "cannot_move")
    unknown = sorted(set(cannot_move) - CANNOT_MOVE_KEYS)
    if unknown:
        raise context.error(
            RulePackErrorCode.FIELD_UNKNOWN, f"unknown keys {unknown}", path="cannot_move"
        )
    tags = cannot_move.get("tags", [])
    for tag in tags:
        if tag not in TAG_NAMES:
            raise context.error(
                RulePackErrorCode.REFERENCE_UNKNOWN,
                f"{tag!r} is not a registry tag ({sorted(TAG_NAMES)})",
                path="cannot_move.tags",
            )
    infant = cannot_move.get("infant_under")
    required, before_sources = _tests_before_order(raw.get("tests_before_order"), rules, context)
    return IsolationSection(
        pack_id=context.manifest.id,
        pack_version=context.manifest.version,
        rules=rules,
        unmovable_tags=frozenset(str(tag) for tag in tags),
        infant_under=None
        if infant is None
        else context.quantity(
            infant, path="cannot_move.infant_under", rule_id=None, units=("day",)
        ).as_timedelta(),
        tests_before_order_required=required,
        tests_before_order_sources=before_sources,
    )


def _tests_before_order(
    raw: Any, rules: tuple[CategoryRule, ...], context: SectionContext
) -> tuple[bool, tuple[str, ...]]:
    if raw is None:
        return True, ()
    path = "tests_before_order"
    spec = _mapping(raw, context, None, path)
    unknown = sorted(set(spec) - BEFORE_ORDER_KEYS)
    if unknown:
        raise context.error(RulePackErrorCode.FIELD_UNKNOWN, f"unknown keys {unknown}", path=path)
    required = spec.get("required")
    if not isinstance(required, bool):
        raise context.error(
            RulePackErrorCode.FIELD_INVALID, "required: true or false", path=f"{path}.required"
        )
    source = spec.get("source")
    if not source:
        raise context.error(
            RulePackErrorCode.FIELD_MISSING, "a source is required", path=f"{path}.source"
        )
    sources = tuple(str(s) for s in (source if isinstance(source, list) else [source]))
    for name in sources:
        if name not in context.manifest.sources:
            raise context.error(
                RulePackErrorCode.REFERENCE_UNKNOWN,
                f"source {name!r} is not listed in the pack",
                path=f"{path}.source",
            )
    if not required:
        # skipping passed days must never leave a phase released without a test at its end
        for rule in rules:
            for phase in rule.phases:
                if phase.test_days and phase.test_days[-1] != phase.duration.days:
                    raise context.error(
                        RulePackErrorCode.FIELD_INVALID,
                        f"{rule.id}: the last test day must be the phase's last day when "
                        "passed test days are not required",
                        path=path,
                        rule_id=rule.id,
                    )
    return required, sources


def _rule(raw: Mapping[str, Any], context: SectionContext) -> CategoryRule:
    rule_id = str(raw["id"])
    path = f"rules[{rule_id}]"
    unknown = sorted(set(raw) - RULE_KEYS)
    if unknown:
        raise context.error(
            RulePackErrorCode.FIELD_UNKNOWN, f"unknown keys {unknown}", path=path, rule_id=rule_id
        )
    phases_raw = raw.get("phases")
    if not isinstance(phases_raw, list) or not phases_raw:
        raise context.error(
            RulePackErrorCode.FIELD_MISSING,
            "phases: at least one phase",
            path=f"{path}.phases",
            rule_id=rule_id,
        )
    sources = raw["source"] if isinstance(raw["source"], list) else [raw["source"]]
    return CategoryRule(
        id=rule_id,
        category=_enum(Category, raw.get("category"), context, rule_id, f"{path}.category"),
        clock=_enum(Clock, raw.get("clock"), context, rule_id, f"{path}.clock"),
        phases=tuple(
            _phase(phase, context, rule_id, f"{path}.phases[{index}]")
            for index, phase in enumerate(phases_raw)
        ),
        sources=tuple(str(s) for s in sources),
    )


def _phase(raw: Any, context: SectionContext, rule_id: str, path: str) -> PhaseRule:
    spec = _mapping(raw, context, rule_id, path)
    unknown = sorted(set(spec) - PHASE_KEYS)
    if unknown:
        raise context.error(
            RulePackErrorCode.FIELD_UNKNOWN, f"unknown keys {unknown}", path=path, rule_id=rule_id
        )
    duration = context.quantity(
        spec.get("duration"), path=f"{path}.duration", rule_id=rule_id, units=("day",)
    )
    days = tuple(
        context.quantity(
            day, path=f"{path}.test_days[{index}]", rule_id=rule_id, units=("day",)
        ).as_count()
        for index, day in enumerate(spec.get("test_days", []))
    )
    if any(day < 1 or day > duration.value for day in days) or list(days) != sorted(set(days)):
        raise context.error(
            RulePackErrorCode.FIELD_INVALID,
            f"test days {list(days)} must rise from 1 to the phase's {duration.as_count()} days",
            path=f"{path}.test_days",
            rule_id=rule_id,
        )
    ct = spec.get("release_ct_at_least")
    return PhaseRule(
        kind=_enum(PhaseKind, spec.get("kind"), context, rule_id, f"{path}.kind"),
        duration=duration.as_timedelta(),
        test_days=days,
        release_ct_at_least=None
        if ct is None
        else context.quantity(
            ct, path=f"{path}.release_ct_at_least", rule_id=rule_id, units=("ct",)
        ).value,
    )


def _mapping(
    value: Any, context: SectionContext, rule_id: str | None, path: str
) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise context.error(
            RulePackErrorCode.FIELD_INVALID, "expected a mapping", path=path, rule_id=rule_id
        )
    return value


def _enum(kind: Any, value: Any, context: SectionContext, rule_id: str, path: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise context.error(
            RulePackErrorCode.REFERENCE_UNKNOWN,
            f"{value!r} is not one of {[str(item) for item in kind]}",
            path=path,
            rule_id=rule_id,
        ) from None


ISOLATION_SECTION: SectionSchema[IsolationSection] = SectionSchema(
    name=SECTION_NAME, parse=parse_section
)
