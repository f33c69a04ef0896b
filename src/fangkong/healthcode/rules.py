"""The health-code engine: facts + the pack's health-code section + ``now`` → a decision.

Pure: no database, no clock. Every rule of the section is evaluated; the most restrictive state
among the rules that apply decides (ties go to the rule listed first). A rule applies when all
its conditions hold and, if it has ``cleared_by``, the person has not yet taken the tests that
clear it. Facts dated after ``now`` are ignored, so a past decision can be re-evaluated from
today's facts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fangkong.healthcode.enums import ExitKind, SampleResult
from fangkong.healthcode.facts import PersonFacts, Sample
from fangkong.healthcode.schemas import (
    ClearByTests,
    CodeDecision,
    CodeRule,
    Condition,
    Fact,
    GreenCondition,
    HealthCodeSection,
)


@dataclass(frozen=True)
class _Outcome:
    """A condition's verdict: whether it holds, since when (its trigger time), and the moments
    after ``now`` at which it would flip by itself."""

    holds: bool
    since: datetime | None = None
    flips_at: tuple[datetime, ...] = ()


def _samples(facts: PersonFacts, now: datetime) -> list[Sample]:
    return sorted(
        (s for s in facts.testing.samples if s.sampled_at <= now), key=lambda s: s.sampled_at
    )


def _listed(value: str, since: datetime | None, condition: Condition) -> _Outcome:
    return _Outcome(value in condition.values, since)


def _visited(facts: PersonFacts, now: datetime, condition: Condition) -> _Outcome:
    assert condition.window is not None
    ends = [
        visit.left_at + condition.window
        for visit in facts.areas.visits
        if visit.level in condition.values
    ]
    # Only the latest visit matters: the condition holds until it lapses.
    end = max((end for end in ends if end > now), default=None)
    if end is None:
        return _Outcome(False)
    return _Outcome(True, end - condition.window, (end,))


def _skipped(facts: PersonFacts, now: datetime, condition: Condition) -> _Outcome:
    """Unexcused rounds with no test taken since they closed; any later test clears them."""
    assert condition.count is not None
    samples = _samples(facts, now)
    rounds = [r for r in facts.testing.skipped_rounds if not r.is_excused]
    outstanding = [
        r.closed_at
        for r in rounds
        if r.closed_at <= now and not any(s.sampled_at >= r.closed_at for s in samples)
    ]
    upcoming = tuple(r.closed_at for r in rounds if r.closed_at > now)
    holds = len(outstanding) >= condition.count
    return _Outcome(holds, max(outstanding) if holds else None, upcoming)


def _negative_older_than(facts: PersonFacts, now: datetime, condition: Condition) -> _Outcome:
    assert condition.window is not None
    negatives = [s for s in _samples(facts, now) if s.result is SampleResult.NEGATIVE]
    if not negatives:
        return _Outcome(True)
    stale_at = negatives[-1].sampled_at + condition.window
    return _Outcome(stale_at <= now, stale_at, (stale_at,) if stale_at > now else ())


def _companion(facts: PersonFacts, now: datetime, condition: Condition) -> _Outcome:
    assert condition.window is not None
    flagged = facts.tracing.companion_flagged_at
    if flagged is None or flagged > now:
        return _Outcome(False)
    end = flagged + condition.window
    return _Outcome(end > now, flagged, (end,) if end > now else ())


def _arrived_untested(facts: PersonFacts, now: datetime, condition: Condition) -> _Outcome:
    assert condition.window is not None
    arrived = facts.areas.arrived_at
    if arrived is None or arrived > now:
        return _Outcome(False)
    if any(s.sampled_at >= arrived for s in _samples(facts, now)):
        return _Outcome(False)
    due = arrived + condition.window
    return _Outcome(due <= now, arrived, (due,) if due > now else ())


CHECKS: dict[Fact, Callable[[PersonFacts, datetime, Condition], _Outcome]] = {
    Fact.CASE_STATUS: lambda f, _, c: _listed(
        f.tracing.case_status, f.tracing.case_status_since, c
    ),
    Fact.CONTACT: lambda f, _, c: _listed(f.tracing.contact, f.tracing.last_exposure_at, c),
    Fact.SUPERVISION: lambda f, _, c: _listed(
        f.isolation.supervision, f.isolation.supervision_since, c
    ),
    Fact.RESIDENCE_RISK: lambda f, _, c: _listed(
        f.areas.residence_risk, f.areas.residence_risk_since, c
    ),
    Fact.POSITIVE_POOL: lambda f, _, c: _Outcome(
        f.testing.is_in_positive_pool_awaiting_review, f.testing.pool_flagged_at
    ),
    Fact.KEY_POST_WORKER: lambda f, _, c: _Outcome(f.testing.is_key_post_worker),
    Fact.VISITED_RISK: _visited,
    Fact.SKIPPED_ROUNDS: _skipped,
    Fact.NEGATIVE_OLDER_THAN: _negative_older_than,
    Fact.COMPANION: _companion,
    Fact.ARRIVED_UNTESTED: _arrived_untested,
}

# What ends a rule, named after its first condition (its trigger), when it has no cleared_by.
EXITS: dict[Fact, ExitKind] = {
    Fact.CASE_STATUS: ExitKind.CASE_CLOSED,
    Fact.POSITIVE_POOL: ExitKind.POOL_RECHECK_NEGATIVE,
    Fact.CONTACT: ExitKind.CONTACT_RELEASED,
    Fact.SUPERVISION: ExitKind.SUPERVISION_ENDED,
    Fact.RESIDENCE_RISK: ExitKind.AREA_DOWNGRADED,
    Fact.VISITED_RISK: ExitKind.TIME_ELAPSES,
    Fact.COMPANION: ExitKind.TIME_ELAPSES,
    Fact.SKIPPED_ROUNDS: ExitKind.TAKE_TEST,
    Fact.ARRIVED_UNTESTED: ExitKind.TAKE_TEST,
    Fact.NEGATIVE_OLDER_THAN: ExitKind.NEGATIVE_TESTS,
    Fact.KEY_POST_WORKER: ExitKind.KEY_POST_CLEARED,
}
TEST_EXITS = frozenset({ExitKind.TAKE_TEST, ExitKind.NEGATIVE_TESTS})


def _clearing_tests(
    clear: ClearByTests, since: datetime | None, samples: list[Sample]
) -> list[datetime]:
    """The qualifying tests taken after ``since``, picked earliest first, ``min_gap`` apart."""
    picked: list[datetime] = []
    for sample in samples:
        if clear.negative_only and sample.result is not SampleResult.NEGATIVE:
            continue
        if since is not None and sample.sampled_at < since:
            continue
        if (
            since is not None
            and clear.within is not None
            and sample.sampled_at > since + clear.within
        ):
            continue
        if picked and clear.min_gap is not None and sample.sampled_at - picked[-1] < clear.min_gap:
            continue
        picked.append(sample.sampled_at)
    return picked


@dataclass(frozen=True)
class _RuleVerdict:
    applies: bool
    flips_at: tuple[datetime, ...]
    exit: GreenCondition | None


def _judge(rule: CodeRule, facts: PersonFacts, now: datetime) -> _RuleVerdict:
    outcomes = [CHECKS[condition.fact](facts, now, condition) for condition in rule.when]
    flips = tuple(t for o in outcomes for t in o.flips_at)
    if not all(o.holds for o in outcomes):
        return _RuleVerdict(False, flips, None)
    since = max((o.since for o in outcomes if o.since is not None), default=None)
    if rule.cleared_by is not None:
        clear = rule.cleared_by
        taken = len(_clearing_tests(clear, since, _samples(facts, now)))
        if taken >= clear.tests:
            return _RuleVerdict(False, flips, None)
        deadline = since + clear.within if since is not None and clear.within else None
        kind = ExitKind.NEGATIVE_TESTS if clear.negative_only else ExitKind.TAKE_TEST
        return _RuleVerdict(
            True, flips, GreenCondition(kind, rule.id, clear.tests - taken, deadline)
        )
    if not rule.when:
        return _RuleVerdict(True, flips, None)
    # A test the person can take beats waiting for an official to act, so a rule like
    # "key-post worker AND no recent negative" tells the person to test.
    kinds = [EXITS[condition.fact] for condition in rule.when]
    index = next((i for i, kind in enumerate(kinds) if kind in TEST_EXITS), 0)
    lapse = min(outcomes[index].flips_at, default=None)
    tests = 1 if kinds[index] in TEST_EXITS else None
    return _RuleVerdict(True, flips, GreenCondition(kinds[index], rule.id, tests, lapse))


def evaluate(*, facts: PersonFacts, now: datetime, pack: HealthCodeSection) -> CodeDecision:
    """Decide a person's code under ``pack`` at ``now`` (timezone-aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    severity = {state: rank for rank, state in enumerate(pack.states)}
    applying: list[tuple[int, int, CodeRule, _RuleVerdict]] = []
    flips: list[datetime] = []
    for order, rule in enumerate(pack.rules):
        verdict = _judge(rule, facts, now)
        flips.extend(verdict.flips_at)
        if verdict.applies:
            applying.append((severity[rule.colour], order, rule, verdict))
    applying.sort(key=lambda item: (item[0], item[1]))
    decider = applying[0][2]  # the section parser guarantees a default rule that always applies
    restricting = [item for item in applying if item[2].colour != pack.clear_state]
    return CodeDecision(
        colour=decider.colour,
        rule_id=decider.id,
        pack_id=pack.pack_id,
        pack_version=pack.pack_version,
        reasons=tuple(item[2].reason for item in restricting) or (decider.reason,),
        matched_rule_ids=tuple(item[2].id for item in applying),
        evaluated_at=now,
        valid_until=min(flips, default=None),
        to_green=tuple(item[3].exit for item in restricting if item[3].exit is not None),
        trigger_fact=str(decider.when[0].fact) if decider.when else None,
    )
