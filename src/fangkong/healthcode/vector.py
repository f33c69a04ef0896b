"""The health-code rule over columns: ``rules.evaluate`` for a whole population at once.

Each condition becomes three arrays (holds, since, the moment it flips by itself), each rule
the conjunction of its conditions in order (a condition after one that fails adds no flip
time, as in ``rules._judge``), and the decision the most restrictive applying rule, ties to
the rule listed first. Only the ``cleared_by`` count of tests is left to the pure engine, for
the few people a rule with such an exit holds for (it needs their samples one by one).

What it returns is what a stored code holds: the deciding rule, the reasons and
``valid_until``; it must equal ``rules.evaluate`` for every person (tests/healthcode/
test_vector.py checks it on the synthetic city under every pack).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy.orm import Session

from fangkong.healthcode.columns import (
    CASE_VALUES,
    CONTACT_VALUES,
    NO_TIME,
    RISK_VALUES,
    SUPERVISION_VALUES,
    Bools,
    FactColumns,
    Int64s,
    from_micros,
    micros,
)
from fangkong.healthcode.facts import PersonFacts
from fangkong.healthcode.rules import tests_clearing
from fangkong.healthcode.schemas import CodeDecision, CodeRule, Condition, Fact, HealthCodeSection

# "Never flips by itself": above every real time, so a minimum ignores it.
NEVER = np.int64(2**62)


@dataclass(frozen=True)
class _Verdicts:
    """``since`` and ``flips`` may be one scalar for everyone (``NO_TIME``, ``NEVER``): four
    million people's worth of a constant is memory traffic for nothing."""

    holds: Bools
    since: Int64s | np.int64
    flips: Int64s | np.int64


@dataclass
class Decisions:
    """Per person (in ``FactColumns.ids`` order): ``rule`` indexes ``pack.rules`` (the deciding
    rule), ``outcome`` indexes ``outcomes`` (deciding rule and reasons), ``valid_until`` is
    epoch microseconds or ``NEVER``."""

    pack: HealthCodeSection
    rule: Int64s
    outcome: Int64s
    outcomes: list[tuple[CodeRule, tuple[str, ...]]]
    valid_until: Int64s

    def decision(self, at: int, now: datetime) -> CodeDecision:
        """The stored part of a person's decision (what a code row and its event record)."""
        rule, reasons = self.outcomes[int(self.outcome[at])]
        until = int(self.valid_until[at])
        return CodeDecision(
            colour=rule.colour,
            rule_id=rule.id,
            pack_id=self.pack.pack_id,
            pack_version=self.pack.pack_version,
            reasons=reasons,
            matched_rule_ids=(),
            evaluated_at=now,
            valid_until=None if until == NEVER else from_micros(until),
            to_green=(),
            trigger_fact=str(rule.when[0].fact) if rule.when else None,
        )


def _codes(values: frozenset[str], known: tuple[str, ...]) -> list[int]:
    return [known.index(v) for v in known if v in values]


def _listed(code: Int64s, since: Int64s, known: tuple[str, ...]) -> Callable[..., _Verdicts]:
    def check(columns: FactColumns, condition: Condition, now: int) -> _Verdicts:
        holds = np.isin(code, _codes(condition.values, known))
        return _Verdicts(holds, np.where(holds, since, NO_TIME), NEVER)

    return check


def _never(size: int) -> Int64s:
    return np.full(size, NEVER, dtype=np.int64)


def _none(size: int) -> Int64s:
    return np.full(size, NO_TIME, dtype=np.int64)


def _not_held(columns: FactColumns, condition: Condition, now: int) -> _Verdicts:
    """Visits and arrivals: no provider feeds them yet, so they never hold."""
    return _Verdicts(np.zeros(len(columns), dtype=np.bool_), NO_TIME, NEVER)


def _pool(columns: FactColumns, condition: Condition, now: int) -> _Verdicts:
    later = (columns.pool_at != NO_TIME) & (columns.pool_at > now)
    holds = columns.pool & ~later
    return _Verdicts(holds, np.where(holds, columns.pool_at, NO_TIME), NEVER)


def _key_post(columns: FactColumns, condition: Condition, now: int) -> _Verdicts:
    return _Verdicts(columns.key_worker, NO_TIME, NEVER)


def _skipped(columns: FactColumns, condition: Condition, now: int) -> _Verdicts:
    assert condition.count is not None
    size = len(columns)
    latest = columns.latest_sample
    outstanding = np.zeros(size, dtype=np.int64)
    since = _none(size)
    flips: Int64s | np.int64 = NEVER
    for skipped, closed in zip(columns.skipped, columns.round_closed, strict=True):
        if closed > now:
            flips = np.where(skipped, np.minimum(flips, closed), flips)
            continue
        counts = skipped & ((latest == NO_TIME) | (latest < closed))
        outstanding += counts
        since = np.where(counts, np.maximum(since, closed), since)
    holds = outstanding >= condition.count
    return _Verdicts(holds, np.where(holds, since, NO_TIME), flips)


def _negative_older_than(columns: FactColumns, condition: Condition, now: int) -> _Verdicts:
    assert condition.window is not None
    latest = columns.latest_negative
    never_tested = latest == NO_TIME
    stale = latest + micros_of(condition)
    holds = never_tested | (stale <= now)
    since = np.where(holds & ~never_tested, stale, NO_TIME)
    return _Verdicts(holds, since, np.where(holds, NEVER, stale))


def _companion(columns: FactColumns, condition: Condition, now: int) -> _Verdicts:
    flagged = columns.companion_at
    ends = flagged + micros_of(condition)
    holds = (flagged != NO_TIME) & (flagged <= now) & (ends > now)
    return _Verdicts(holds, np.where(holds, flagged, NO_TIME), np.where(holds, ends, NEVER))


def micros_of(condition: Condition) -> int:
    assert condition.window is not None
    window = condition.window
    return (window.days * 86_400 + window.seconds) * 1_000_000 + window.microseconds


def _checks(columns: FactColumns) -> dict[Fact, Callable[[FactColumns, Condition, int], _Verdicts]]:
    return {
        Fact.CASE_STATUS: _listed(columns.case, columns.case_since, CASE_VALUES),
        Fact.CONTACT: _listed(columns.contact, columns.contact_since, CONTACT_VALUES),
        Fact.SUPERVISION: _listed(
            columns.supervision, columns.supervision_since, SUPERVISION_VALUES
        ),
        Fact.RESIDENCE_RISK: _listed(columns.residence, columns.residence_since, RISK_VALUES),
        Fact.POSITIVE_POOL: _pool,
        Fact.KEY_POST_WORKER: _key_post,
        Fact.VISITED_RISK: _not_held,
        Fact.SKIPPED_ROUNDS: _skipped,
        Fact.NEGATIVE_OLDER_THAN: _negative_older_than,
        Fact.COMPANION: _companion,
        Fact.ARRIVED_UNTESTED: _not_held,
    }


def _judge(
    rule: CodeRule,
    columns: FactColumns,
    now: datetime,
    session: Session,
    checks: dict[Fact, Callable[[FactColumns, Condition, int], _Verdicts]],
) -> tuple[Bools, Int64s]:
    """Which people ``rule`` applies to, and the earliest moment each verdict flips."""
    size, at = len(columns), micros(now)
    applies = np.ones(size, dtype=np.bool_)
    flips, since = _never(size), _none(size)
    for condition in rule.when:
        verdicts = checks[condition.fact](columns, condition, at)
        if not (np.isscalar(verdicts.flips) and verdicts.flips == NEVER):
            np.copyto(flips, np.minimum(flips, verdicts.flips), where=applies)
        if not (np.isscalar(verdicts.since) and verdicts.since == NO_TIME):
            np.maximum(since, verdicts.since, out=since)
        applies &= verdicts.holds
    clear = rule.cleared_by
    if clear is not None and applies.any():
        held = np.flatnonzero(applies)
        testing = columns.testing_of(
            session=session, person_ids=columns.ids[held].tolist(), now=now
        )
        for position in held:
            first = int(since[position])
            taken = tests_clearing(
                clear=clear,
                since=None if first == NO_TIME else from_micros(first),
                facts=PersonFacts(testing=testing[int(columns.ids[position])]),
                now=now,
            )
            if taken >= clear.tests:
                applies[position] = False
    return applies, flips


# Up to this many possible keys, distinct values are found by marking them in an array (one
# pass) rather than by sorting four million keys.
MARK_UP_TO = 1 << 24


def _distinct(keys: Int64s) -> tuple[Int64s, Int64s]:
    """``np.unique(keys, return_inverse=True)`` for non-negative keys."""
    top = int(keys.max()) + 1 if len(keys) else 0
    if top > MARK_UP_TO:
        unique, inverse = np.unique(keys, return_inverse=True)
        return unique, inverse.reshape(-1)
    present = np.zeros(top, dtype=np.bool_)
    present[keys] = True
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present), rank[keys]


def evaluate(
    *, session: Session, columns: FactColumns, now: datetime, pack: HealthCodeSection
) -> Decisions:
    """``rules.evaluate`` for every person of ``columns`` at ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    checks = _checks(columns)
    severity = {state: rank for rank, state in enumerate(pack.states)}
    # Most restrictive first, ties to the rule listed first: the order that decides.
    order = sorted(range(len(pack.rules)), key=lambda i: (severity[pack.rules[i].colour], i))
    size = len(columns)
    valid_until = _never(size)
    applying = np.zeros((len(order), size), dtype=np.bool_)
    for rank, index in enumerate(order):
        applies, flips = _judge(pack.rules[index], columns, now, session, checks)
        applying[rank] = applies
        valid_until = np.minimum(valid_until, flips)
    # The deciding rule: the first applying one in that order (some rule always applies).
    decider_rank = np.full(size, -1, dtype=np.int64)
    restricting = np.zeros(size, dtype=np.int64)
    for rank, index in enumerate(order):
        decider_rank[(decider_rank < 0) & applying[rank]] = rank
        if pack.rules[index].colour != pack.clear_state:
            restricting[applying[rank]] |= 1 << rank
    decider_rank[decider_rank < 0] = 0
    # One outcome per (deciding rule, set of restricting rules): few distinct ones.
    keys = restricting * len(order) + decider_rank
    unique, outcome = _distinct(keys)
    outcomes = []
    for key in unique.tolist():
        mask, decider = divmod(key, len(order))
        rule = pack.rules[order[decider]]
        reasons = tuple(
            pack.rules[order[r]].reason for r in range(len(order)) if mask >> r & 1
        ) or (rule.reason,)
        outcomes.append((rule, reasons))
    rules_of = np.array(order, dtype=np.int64)[decider_rank]
    return Decisions(pack, rules_of, outcome.astype(np.int64), outcomes, valid_until)
