"""Risk-area rules (pure): the daily evaluation of a designated area, the same evaluation
vectorised over many areas, and designation proposals from where cases live and spent time.

Nothing here reads the database or the clock: callers pass the facts, ``now`` and the pack
section, and get back a decision naming the rule and pack version that took it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from fangkong.areas.enums import DrawUnit, RiskLevel, Scope, TargetKind
from fangkong.areas.schemas import (
    AreaDecision,
    AreaHistory,
    AreasSection,
    CasePlace,
    DayFacts,
    DesignationProposal,
    LiftRule,
)


@dataclass(frozen=True)
class _Progress:
    rule: LiftRule
    streak: int  # consecutive days without a (counting) new infection
    window_rounds: int  # all-negative rounds within the last ``days_without_case`` days
    final_negative: bool
    higher_ok: bool

    @property
    def days_needed(self) -> int:
        return max(0, self.rule.days_without_case - self.streak)

    @property
    def rounds_needed(self) -> int:
        return max(0, self.rule.min_negative_rounds - self.window_rounds)

    @property
    def is_met(self) -> bool:
        return (
            self.days_needed == 0
            and self.rounds_needed == 0
            and (self.final_negative or not self.rule.final_round_all_negative)
            and self.higher_ok
        )


def applicable_rules(*, history: AreaHistory, section: AreasSection) -> list[LiftRule]:
    """The lifting rules that apply to an area at its level, scope and designation origin."""
    return [
        rule
        for rule in section.lift
        if rule.from_level == history.level
        and history.scope in rule.scope
        and (rule.designated is None or rule.designated == history.designated_level)
    ]


def _recorded_days(history: AreaHistory, today: date) -> dict[date, DayFacts]:
    return {facts.day: facts for facts in history.days if facts.day <= today}


def _progress(rule: LiftRule, days: Mapping[date, DayFacts], history: AreaHistory) -> _Progress:
    streak: list[DayFacts] = []
    if days:
        day = max(days)
        # Count back from the latest recorded day; a day without facts or with a new infection
        # ends the count, and so does the day the area entered its level.
        while day > history.level_since and day in days:
            facts = days[day]
            counted = facts.new_infections - (
                0 if rule.isolated_infections_reset else facts.new_infections_isolated
            )
            if counted > 0:
                break
            streak.append(facts)
            day -= timedelta(days=1)
    window = streak[: rule.days_without_case] if rule.days_without_case else streak[:1]
    return _Progress(
        rule=rule,
        streak=len(streak),
        window_rounds=sum(facts.negative_rounds for facts in window),
        final_negative=bool(streak) and streak[0].negative_rounds > 0,
        higher_ok=not rule.no_higher_areas_inside or history.higher_areas_inside == 0,
    )


def _plural(count: int, word: str) -> str:
    return f"{count} more {word}{'' if count == 1 else 's'}"


def _needs(progress: _Progress, open_cases: int) -> str:
    rule = progress.rule
    parts = []
    if progress.days_needed:
        parts.append(_plural(progress.days_needed, "day") + " without a new infection")
    if progress.rounds_needed:
        parts.append(_plural(progress.rounds_needed, "all-negative round") + " of all residents")
    if rule.final_round_all_negative and (progress.days_needed or not progress.final_negative):
        parts.append(f"an all-negative round on day {rule.days_without_case}")
    if not progress.higher_ok:
        parts.append("no high or medium area left inside")
    if open_cases:
        parts.append(f"no open case (now {open_cases})")
    needs = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    is_plural = len(parts) > 1 or progress.days_needed > 1 or progress.rounds_needed > 1
    verb = "lift" if is_plural else "lifts"
    return f"{needs} {verb} this area to {rule.to_level} ({rule.id})"


def evaluate_area(*, history: AreaHistory, now: datetime, section: AreasSection) -> AreaDecision:
    """Today's level for a designated area under ``section``.

    Days are the area's local calendar days; facts dated after ``now``'s date are ignored. The
    first applicable rule (in pack order) whose conditions all hold lowers the level, unless a
    case is still open in the area. Otherwise the decision keeps the level and explains what the
    nearest rule still needs.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    days = _recorded_days(history, now.date())
    open_cases = days[max(days)].open_cases if days else 0
    progresses = [
        _progress(rule, days, history)
        for rule in applicable_rules(history=history, section=section)
    ]
    for progress in progresses:
        if progress.is_met and open_cases == 0:
            rule = progress.rule
            return AreaDecision(
                level=rule.to_level,
                is_changed=True,
                is_lifted=rule.to_level in (section.lifted_level, RiskLevel.NORMAL),
                requires_confirmation=rule.requires_confirmation,
                rule_id=rule.id,
                pack_id=section.pack_id,
                pack_version=section.pack_version,
                controls=rule.controls,
                explanation=(
                    f"{progress.streak} days without a new infection: {rule.from_level} → "
                    f"{rule.to_level} ({rule.id})"
                    + (
                        ", once an officer confirms the risk assessment"
                        if rule.requires_confirmation
                        else ""
                    )
                ),
            )
    if not progresses:
        return AreaDecision(
            level=history.level,
            is_changed=False,
            is_lifted=False,
            requires_confirmation=False,
            rule_id=None,
            pack_id=section.pack_id,
            pack_version=section.pack_version,
            controls=(),
            explanation=f"no rule of {section.pack_ref} lowers a {history.level} area",
        )
    nearest = min(progresses, key=lambda p: (p.days_needed, p.rounds_needed))
    return AreaDecision(
        level=history.level,
        is_changed=False,
        is_lifted=False,
        requires_confirmation=False,
        rule_id=nearest.rule.id,
        pack_id=section.pack_id,
        pack_version=section.pack_version,
        controls=(),
        explanation=_needs(nearest, open_cases),
    )


def propose_designations(
    *, places: Iterable[CasePlace], section: AreasSection
) -> list[DesignationProposal]:
    """Designations the pack draws from case places: one per target, at the most severe level
    any rule gives it, citing every case behind it. Places without a compound are skipped (an
    investigator draws those by hand)."""
    best: dict[tuple[TargetKind, int, int | None], DesignationProposal] = {}
    for rule in section.designate:
        for place in places:
            if place.basis not in rule.basis or place.compound_id is None:
                continue
            target = _target(place, rule.unit)
            current = best.get(target)
            cases = tuple(sorted({*(current.case_ids if current else ()), place.case_id}))
            if current is not None and section.levels.index(current.level) <= section.levels.index(
                rule.level
            ):
                # Already drawn at this level or a more severe one: only the case is added.
                best[target] = replace(current, case_ids=cases)
                continue
            best[target] = DesignationProposal(
                target_kind=target[0],
                target_id=target[1],
                unit=target[2],
                area_path=place.area_path,
                level=rule.level,
                controls=rule.controls,
                rule_id=rule.id,
                case_ids=cases,
            )
    return sorted(best.values(), key=lambda p: (section.levels.index(p.level), p.target_id))


def _target(place: CasePlace, unit: DrawUnit) -> tuple[TargetKind, int, int | None]:
    assert place.compound_id is not None
    if unit is DrawUnit.UNIT and place.building_id is not None and place.unit is not None:
        return (TargetKind.UNIT, place.building_id, place.unit)
    if unit in (DrawUnit.BUILDING, DrawUnit.UNIT) and place.building_id is not None:
        return (TargetKind.BUILDING, place.building_id, None)
    return (TargetKind.COMPOUND, place.compound_id, None)


IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class AreaMatrix:
    """Many areas' facts as arrays: rows are areas, columns days from ``first_day``.

    ``level`` and ``designated`` are indexes into the section's levels; ``level_since`` a column
    index (counting starts after it); ``recorded`` says which days have facts.
    """

    first_day: date
    level: IntArray
    designated: IntArray
    level_since: IntArray
    infections: IntArray
    infections_isolated: IntArray
    negative_rounds: IntArray
    recorded: npt.NDArray[np.bool_]
    open_cases: IntArray
    higher_inside: IntArray
    scope: Scope


def evaluate_areas_batch(
    *, matrix: AreaMatrix, now: datetime, section: AreasSection
) -> tuple[IntArray, IntArray]:
    """:func:`evaluate_area` for every row at once: the new level index of each area and the
    index in ``section.lift`` of the rule that changed it (-1: unchanged). Same decisions as
    the per-area function (the benchmark checks it)."""
    n_areas, n_days = matrix.infections.shape
    today = min((now.date() - matrix.first_day).days, n_days - 1)
    columns = np.arange(n_days)
    recorded = matrix.recorded & (columns <= today)
    has_day = recorded.any(axis=1)
    last = np.where(has_day, n_days - 1 - np.argmax(recorded[:, ::-1], axis=1), 0)
    rows = np.arange(n_areas)
    rounds_cum = np.concatenate(
        [np.zeros((n_areas, 1), np.int64), np.cumsum(matrix.negative_rounds, axis=1)], axis=1
    )
    open_cases = np.where(has_day, matrix.open_cases, 0)
    new_level = matrix.level.copy()
    decided_by = np.full(n_areas, -1, np.int64)
    for index, rule in enumerate(section.lift):
        if matrix.scope not in rule.scope:
            continue
        counted = matrix.infections - (
            0 if rule.isolated_infections_reset else matrix.infections_isolated
        )
        stops = (counted > 0) | ~recorded | (columns <= matrix.level_since[:, None])
        last_stop = np.maximum.accumulate(np.where(stops, columns, -1), axis=1)[rows, last]
        streak = np.where(has_day, last - last_stop, 0)
        width = rule.days_without_case or 1
        start = np.maximum(last + 1 - np.minimum(streak, width), 0)
        window_rounds = rounds_cum[rows, last + 1] - rounds_cum[rows, start]
        final = (streak > 0) & (matrix.negative_rounds[rows, last] > 0)
        met = (
            (decided_by == -1)
            & (matrix.level == section.levels.index(rule.from_level))
            & (streak >= rule.days_without_case)
            & (window_rounds >= rule.min_negative_rounds)
            & (open_cases == 0)
        )
        if rule.designated is not None:
            met &= matrix.designated == section.levels.index(rule.designated)
        if rule.final_round_all_negative:
            met &= final
        if rule.no_higher_areas_inside:
            met &= matrix.higher_inside == 0
        new_level[met] = section.levels.index(rule.to_level)
        decided_by[met] = index
    return new_level, decided_by


def history_rows(matrix: AreaMatrix, section: AreasSection) -> Sequence[AreaHistory]:
    """The per-area histories a matrix holds (the benchmark's per-row baseline reads them)."""
    histories = []
    for row in range(matrix.infections.shape[0]):
        days = tuple(
            DayFacts(
                day=matrix.first_day + timedelta(days=column),
                new_infections=int(matrix.infections[row, column]),
                new_infections_isolated=int(matrix.infections_isolated[row, column]),
                rounds=int(matrix.negative_rounds[row, column]),
                negative_rounds=int(matrix.negative_rounds[row, column]),
                open_cases=int(matrix.open_cases[row]),
            )
            for column in np.flatnonzero(matrix.recorded[row]).tolist()
        )
        histories.append(
            AreaHistory(
                level=section.levels[int(matrix.level[row])],
                designated_level=section.levels[int(matrix.designated[row])],
                level_since=matrix.first_day + timedelta(days=int(matrix.level_since[row])),
                scope=matrix.scope,
                days=days,
                higher_areas_inside=int(matrix.higher_inside[row]),
            )
        )
    return histories
