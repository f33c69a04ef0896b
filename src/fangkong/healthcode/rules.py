"""The health-code engine: facts + the pack's health-code section + ``now`` → a decision.

Pure: no database, no clock. Every rule of the section is evaluated; the most restrictive state
among the rules that apply decides (ties go to the rule listed first). A rule applies when all
its conditions hold and, if it has ``cleared_by``, the person has not yet taken the tests that
clear it.

Tests, skipped rounds and flags (positive pool, companion, arrival) dated after ``now`` are
ignored, so a past decision can be re-evaluated from today's records; statuses (case, contact,
supervision, residence risk) are taken as given, so re-evaluating the past needs the statuses
as they were then.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from fangkong.healthcode.enums import ExitKind, SampleResult
from fangkong.healthcode.errors import HealthCodeErrorCode
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


@dataclass(frozen=True, slots=True)
class _Outcome:
    """A condition's verdict: whether it holds, since when (its trigger time), and the moments
    after ``now`` at which it would flip by itself."""

    holds: bool
    since: datetime | None = None
    flips_at: tuple[datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class _Person:
    """The facts at ``now``, with the samples taken by then sorted once for every rule."""

    facts: PersonFacts
    now: datetime
    samples: tuple[Sample, ...]
    latest_sample_at: datetime | None
    latest_negative_at: datetime | None

    @classmethod
    def at(cls, facts: PersonFacts, now: datetime) -> _Person:
        samples = tuple(
            sorted(
                (s for s in facts.testing.samples if s.sampled_at <= now),
                key=lambda s: s.sampled_at,
            )
        )
        negatives = [s.sampled_at for s in samples if s.result is SampleResult.NEGATIVE]
        return cls(
            facts=facts,
            now=now,
            samples=samples,
            latest_sample_at=samples[-1].sampled_at if samples else None,
            latest_negative_at=negatives[-1] if negatives else None,
        )


NOT_HELD = _Outcome(False)


def _listed(value: str, since: datetime | None, condition: Condition) -> _Outcome:
    return _Outcome(True, since) if value in condition.values else NOT_HELD


def _visited(person: _Person, condition: Condition) -> _Outcome:
    assert condition.window is not None
    # Only the latest visit matters: the condition holds until it lapses.
    end = max(
        (
            visit.left_at + condition.window
            for visit in person.facts.areas.visits
            if visit.level in condition.values
        ),
        default=None,
    )
    if end is None or end <= person.now:
        return NOT_HELD
    return _Outcome(True, end - condition.window, (end,))


def _skipped(person: _Person, condition: Condition) -> _Outcome:
    """Unexcused rounds with no test taken since they closed; any later test clears them."""
    assert condition.count is not None
    now, latest = person.now, person.latest_sample_at
    rounds = [r.closed_at for r in person.facts.testing.skipped_rounds if not r.is_excused]
    outstanding = [at for at in rounds if at <= now and (latest is None or latest < at)]
    upcoming = tuple(at for at in rounds if at > now)
    holds = len(outstanding) >= condition.count
    return _Outcome(holds, max(outstanding) if holds else None, upcoming)


def _negative_older_than(person: _Person, condition: Condition) -> _Outcome:
    assert condition.window is not None
    if person.latest_negative_at is None:
        return _Outcome(True)
    stale_at = person.latest_negative_at + condition.window
    if stale_at <= person.now:
        return _Outcome(True, stale_at)
    return _Outcome(False, None, (stale_at,))


def _companion(person: _Person, condition: Condition) -> _Outcome:
    assert condition.window is not None
    flagged = person.facts.tracing.companion_flagged_at
    if flagged is None or flagged > person.now or flagged + condition.window <= person.now:
        return NOT_HELD
    return _Outcome(True, flagged, (flagged + condition.window,))


def _arrived_untested(person: _Person, condition: Condition) -> _Outcome:
    assert condition.window is not None
    arrived = person.facts.areas.arrived_at
    if arrived is None or arrived > person.now:
        return NOT_HELD
    if person.latest_sample_at is not None and person.latest_sample_at >= arrived:
        return NOT_HELD
    due = arrived + condition.window
    if due <= person.now:
        return _Outcome(True, arrived)
    return _Outcome(False, None, (due,))


def _positive_pool(person: _Person, condition: Condition) -> _Outcome:
    testing = person.facts.testing
    flagged = testing.pool_flagged_at
    if not testing.is_in_positive_pool_awaiting_review or (flagged and flagged > person.now):
        return NOT_HELD
    return _Outcome(True, flagged)


CHECKS: dict[Fact, Callable[[_Person, Condition], _Outcome]] = {
    Fact.CASE_STATUS: lambda p, c: _listed(
        p.facts.tracing.case_status, p.facts.tracing.case_status_since, c
    ),
    Fact.CONTACT: lambda p, c: _listed(
        p.facts.tracing.contact, p.facts.tracing.last_exposure_at, c
    ),
    Fact.SUPERVISION: lambda p, c: _listed(
        p.facts.isolation.supervision, p.facts.isolation.supervision_since, c
    ),
    Fact.RESIDENCE_RISK: lambda p, c: _listed(
        p.facts.areas.residence_risk, p.facts.areas.residence_risk_since, c
    ),
    Fact.POSITIVE_POOL: _positive_pool,
    Fact.KEY_POST_WORKER: lambda p, c: (
        _Outcome(True) if p.facts.testing.is_key_post_worker else NOT_HELD
    ),
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
    clear: ClearByTests, since: datetime | None, samples: tuple[Sample, ...]
) -> int:
    """How many qualifying tests were taken after ``since``, picked earliest first,
    ``min_gap`` apart."""
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
    return len(picked)


@dataclass(frozen=True, slots=True)
class _RuleVerdict:
    applies: bool
    flips_at: tuple[datetime, ...]
    exit: GreenCondition | None


def _judge(rule: CodeRule, person: _Person) -> _RuleVerdict:
    """Conditions are checked in order and checking stops at the first that does not hold: the
    rule cannot apply before that one flips, so later conditions' flip times add nothing that
    ``valid_until`` needs."""
    outcomes: list[_Outcome] = []
    flips: list[datetime] = []
    for condition in rule.when:
        outcome = CHECKS[condition.fact](person, condition)
        flips.extend(outcome.flips_at)
        if not outcome.holds:
            return _RuleVerdict(False, tuple(flips), None)
        outcomes.append(outcome)
    since = max((o.since for o in outcomes if o.since is not None), default=None)
    if rule.cleared_by is not None:
        clear = rule.cleared_by
        taken = _clearing_tests(clear, since, person.samples)
        if taken >= clear.tests:
            return _RuleVerdict(False, tuple(flips), None)
        deadline = since + clear.within if since is not None and clear.within else None
        kind = ExitKind.NEGATIVE_TESTS if clear.negative_only else ExitKind.TAKE_TEST
        exit_ = GreenCondition(kind, rule.id, clear.tests - taken, deadline)
        return _RuleVerdict(True, tuple(flips), exit_)
    if not rule.when:
        return _RuleVerdict(True, (), None)
    # A test the person can take beats waiting for an official to act, so a rule like
    # "key-post worker AND no recent negative" tells the person to test.
    kinds = [EXITS[condition.fact] for condition in rule.when]
    index = next((i for i, kind in enumerate(kinds) if kind in TEST_EXITS), 0)
    lapse = min(outcomes[index].flips_at, default=None)
    tests = 1 if kinds[index] in TEST_EXITS else None
    return _RuleVerdict(True, tuple(flips), GreenCondition(kinds[index], rule.id, tests, lapse))


def evaluate(*, facts: PersonFacts, now: datetime, pack: HealthCodeSection) -> CodeDecision:
    """Decide a person's code under ``pack`` at ``now`` (timezone-aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    severity = {state: rank for rank, state in enumerate(pack.states)}
    applying: list[tuple[int, int, CodeRule, _RuleVerdict]] = []
    flips: list[datetime] = []
    person = _Person.at(facts, now)
    for order, rule in enumerate(pack.rules):
        verdict = _judge(rule, person)
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


OVERRIDE_RULE_PREFIX = "override."
OVERRIDE_REASON = "manual_override"
OVERRIDE_FACT = "override"


def override_rule_id(override_id: int) -> str:
    return f"{OVERRIDE_RULE_PREFIX}{override_id}"


def override_id_of(rule_id: str) -> int | None:
    """The override behind a stored code's ``rule_id``, None for a rule of the pack."""
    if not rule_id.startswith(OVERRIDE_RULE_PREFIX):
        return None
    tail = rule_id.removeprefix(OVERRIDE_RULE_PREFIX)
    return int(tail) if tail.isdigit() else None


def apply_override(
    decision: CodeDecision,
    *,
    override_id: int,
    colour: str,
    expires_at: datetime,
    clear_state: str,
) -> CodeDecision:
    """The rules' decision replaced by an approved override until ``expires_at``: the code
    cites the override, and is due for recompute when it expires."""
    if expires_at <= decision.evaluated_at:
        return decision
    valid_until = min(expires_at, decision.valid_until or expires_at)
    return dataclasses.replace(
        decision,
        colour=colour,
        rule_id=override_rule_id(override_id),
        reasons=(OVERRIDE_REASON,),
        valid_until=valid_until,
        to_green=()
        if colour == clear_state
        else (
            GreenCondition(ExitKind.OVERRIDE_ENDS, override_rule_id(override_id), None, expires_at),
        ),
        trigger_fact=OVERRIDE_FACT,
    )


# An override is a stopgap while facts are put right, not a second rule system: a month at most.
MAX_OVERRIDE_DURATION = timedelta(days=30)
# A reviewer answers an appeal within a day: Shanghai's code reverts "within 24 h" after a
# missed-round test (reference/protocols.md §5.2), and an appeal is the manual path to the same.
APPEAL_DEADLINE = timedelta(hours=24)

FIELD: dict[HealthCodeErrorCode, str] = {
    HealthCodeErrorCode.OVERRIDE_REASON_REQUIRED: "reason",
    HealthCodeErrorCode.OVERRIDE_EXPIRY_REQUIRED: "expires_at",
    HealthCodeErrorCode.OVERRIDE_EXPIRY_IN_PAST: "expires_at",
    HealthCodeErrorCode.OVERRIDE_EXPIRY_TOO_FAR: "expires_at",
    HealthCodeErrorCode.OVERRIDE_COLOUR_UNKNOWN: "colour",
}


def override_problem(
    *,
    reason: str,
    expires_at: datetime | None,
    colour: str,
    states: tuple[str, ...],
    now: datetime,
) -> HealthCodeErrorCode | None:
    """Why an override request is refused, or None when it may be recorded."""
    if not reason.strip():
        return HealthCodeErrorCode.OVERRIDE_REASON_REQUIRED
    if expires_at is None:
        return HealthCodeErrorCode.OVERRIDE_EXPIRY_REQUIRED
    if expires_at <= now:
        return HealthCodeErrorCode.OVERRIDE_EXPIRY_IN_PAST
    if expires_at > now + MAX_OVERRIDE_DURATION:
        return HealthCodeErrorCode.OVERRIDE_EXPIRY_TOO_FAR
    if colour not in states:
        return HealthCodeErrorCode.OVERRIDE_COLOUR_UNKNOWN
    return None


def needs_second_approver(
    *, from_colour: str | None, to_colour: str, states: tuple[str, ...], clear_state: str
) -> bool:
    """Lifting the most restrictive state straight to the clear state takes two people."""
    return from_colour == states[0] and to_colour == clear_state and from_colour != clear_state


def is_overdue(*, due_at: datetime, decided_at: datetime | None, now: datetime) -> bool:
    """An appeal not decided by its deadline (or decided after it)."""
    return (decided_at or now) > due_at


def tests_clearing(
    *, clear: ClearByTests, since: datetime | None, facts: PersonFacts, now: datetime
) -> int:
    """How many of the person's tests taken by ``now`` count towards ``clear`` (for the
    vectorised full recompute, which counts them only for the few people a rule holds for)."""
    return _clearing_tests(clear, since, _Person.at(facts, now).samples)
