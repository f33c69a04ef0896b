"""Epidemic-free certification (无疫小区/楼栋/企业): the optional ``certification.yaml`` section of
a rule pack and the daily decision per unit (pure).

A rule gives one kind of unit its standard::

    - id: cert.compound
      unit: compound
      title: 无疫小区
      when:
        days_without_case: {value: 14, unit: day}
        all_negative_round_on_day: {value: 13, unit: day}
      source: shanghai-347

On day T a unit is ``certified`` when no new infection was found among its people on the
``days_without_case`` days ending with T, and, if the rule names ``all_negative_round_on_day``
n, a test round of everyone in it was all negative on day n of those days (T - days + n). A unit
certified the day before that has a new infection today is ``revoked``; any other unit is
``not_yet``, with what it still needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from fangkong.areas.schemas import DayFacts
from fangkong.rulepacks.errors import RulePackErrorCode
from fangkong.rulepacks.schemas import SectionContext, SectionSchema

SECTION_NAME = "certification"
SECTION_KEYS = frozenset({"rules", "note"})
RULE_KEYS = frozenset({"id", "unit", "title", "when", "source", "note"})
WHEN_KEYS = frozenset({"days_without_case", "all_negative_round_on_day"})


class CertUnit(StrEnum):
    COMPOUND = "compound"  # 小区
    BUILDING = "building"  # 楼栋
    ENTERPRISE = "enterprise"  # 企业


class CertStatus(StrEnum):
    CERTIFIED = "certified"
    NOT_YET = "not_yet"
    REVOKED = "revoked"


@dataclass(frozen=True)
class CertificationRule:
    id: str
    unit: CertUnit
    title: str
    days_without_case: int
    round_on_day: int | None
    sources: tuple[str, ...]


@dataclass(frozen=True)
class CertificationSection:
    pack_id: str
    pack_version: int
    rules: tuple[CertificationRule, ...]

    def rule_for(self, unit: CertUnit) -> CertificationRule | None:
        return next((rule for rule in self.rules if rule.unit is unit), None)


@dataclass(frozen=True)
class CertificationDecision:
    status: CertStatus
    rule_id: str
    days_without_case: int  # consecutive days up to today with no new infection
    explanation: str


def parse_section(raw: Mapping[str, Any], context: SectionContext) -> CertificationSection:
    unknown = sorted(set(raw) - SECTION_KEYS)
    if unknown:
        raise context.error(RulePackErrorCode.FIELD_UNKNOWN, f"unknown keys {unknown}", path="")
    rules = tuple(_rule(rule, context) for rule in raw.get("rules", []))
    units = [rule.unit for rule in rules]
    if len(set(units)) != len(units):
        raise context.error(
            RulePackErrorCode.FIELD_INVALID, "one rule per kind of unit", path="rules"
        )
    return CertificationSection(context.manifest.id, context.manifest.version, rules)


def _rule(raw: Mapping[str, Any], context: SectionContext) -> CertificationRule:
    rule_id = str(raw["id"])
    path = f"rules[{rule_id}]"
    unknown = sorted(set(raw) - RULE_KEYS)
    when = raw.get("when")
    if unknown or not isinstance(when, Mapping) or set(when) - WHEN_KEYS:
        raise context.error(
            RulePackErrorCode.FIELD_UNKNOWN,
            f"unknown keys {sorted(unknown or set(when or {}) - WHEN_KEYS)} or no 'when'",
            path=path,
            rule_id=rule_id,
        )
    try:
        unit = CertUnit(str(raw.get("unit")))
    except ValueError:
        raise context.error(
            RulePackErrorCode.REFERENCE_UNKNOWN,
            f"{raw.get('unit')!r} is not one of {[str(u) for u in CertUnit]}",
            path=f"{path}.unit",
            rule_id=rule_id,
        ) from None
    days = int(
        context.quantity(
            when.get("days_without_case"),
            path=f"{path}.when.days_without_case",
            rule_id=rule_id,
            units=("day",),
        ).value
    )
    round_raw = when.get("all_negative_round_on_day")
    round_day = (
        None
        if round_raw is None
        else int(
            context.quantity(
                round_raw,
                path=f"{path}.when.all_negative_round_on_day",
                rule_id=rule_id,
                units=("day",),
            ).value
        )
    )
    if days < 1 or (round_day is not None and not 1 <= round_day <= days):
        raise context.error(
            RulePackErrorCode.FIELD_INVALID,
            f"the round day must fall within the {days} days without a case",
            path=f"{path}.when",
            rule_id=rule_id,
        )
    sources = raw["source"] if isinstance(raw["source"], list) else [raw["source"]]
    return CertificationRule(
        id=rule_id,
        unit=unit,
        title=str(raw.get("title", rule_id)),
        days_without_case=days,
        round_on_day=round_day,
        sources=tuple(str(s) for s in sources),
    )


def _meets(rule: CertificationRule, by_day: Mapping[date, DayFacts], today: date) -> bool:
    first = today - timedelta(days=rule.days_without_case - 1)
    if any(facts.new_infections for day, facts in by_day.items() if first <= day <= today):
        return False
    if rule.round_on_day is None:
        return True
    facts = by_day.get(first + timedelta(days=rule.round_on_day - 1))
    return facts is not None and facts.rounds > 0 and facts.negative_rounds == facts.rounds


def evaluate(
    *, rule: CertificationRule, days: Sequence[DayFacts], today: date, known_since: date
) -> CertificationDecision:
    """The unit's status on ``today`` from its day facts (days without a record had no new
    infection and no round). Days before ``known_since`` (when the platform's records start)
    count as unknown: a unit cannot be certified on days it has no record for."""
    by_day = {facts.day: facts for facts in days if facts.day <= today}
    streak = 0
    day = today
    while day >= known_since and not (by_day.get(day) and by_day[day].new_infections):
        streak += 1
        day -= timedelta(days=1)
    window_start = today - timedelta(days=rule.days_without_case - 1)
    if window_start >= known_since and _meets(rule, by_day, today):
        return CertificationDecision(
            CertStatus.CERTIFIED,
            rule.id,
            streak,
            f"{rule.title}: no new infection for {rule.days_without_case} days"
            + (
                ""
                if rule.round_on_day is None
                else f" and everyone negative on day {rule.round_on_day}"
            )
            + f" ({rule.id})",
        )
    yesterday = today - timedelta(days=1)
    if (
        streak == 0
        and yesterday - timedelta(days=rule.days_without_case - 1) >= known_since
        and _meets(rule, by_day, yesterday)
    ):
        return CertificationDecision(
            CertStatus.REVOKED,
            rule.id,
            0,
            f"{rule.title} revoked: a new infection on {today.isoformat()} ({rule.id})",
        )
    needs = []
    left = rule.days_without_case - streak
    if left > 0:
        needs.append(f"{left} more days without a new infection")
    if rule.round_on_day is not None:
        # the first day the standard can be met, and its round day
        end = today + timedelta(days=left if left > 0 else 1)
        due = end - timedelta(days=rule.days_without_case - rule.round_on_day)
        needs.append(f"everyone negative in a round on {due.isoformat()}")
    return CertificationDecision(
        CertStatus.NOT_YET, rule.id, streak, f"{rule.title}: needs " + " and ".join(needs)
    )


CERTIFICATION_SECTION: SectionSchema[CertificationSection] = SectionSchema(
    name=SECTION_NAME, parse=parse_section
)
