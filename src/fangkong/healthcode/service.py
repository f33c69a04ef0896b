"""Stored health codes: recompute a batch of people and write only what changed.

Facts come from providers, one per domain that knows something about people (testing, tracing,
isolation, areas); each returns its own group of facts per person and the groups are combined
into ``PersonFacts``. Until a domain registers its provider, its group keeps the defaults
("nothing known against the person").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, Row, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fangkong.healthcode import events
from fangkong.healthcode.facts import (
    AreaFacts,
    IsolationFacts,
    PersonFacts,
    TestingFacts,
    TracingFacts,
)
from fangkong.healthcode.models import HealthCode
from fangkong.healthcode.rules import evaluate
from fangkong.healthcode.schemas import CodeDecision, HealthCodeSection

FactGroup = TestingFacts | TracingFacts | IsolationFacts | AreaFacts
GROUP_FIELD: Mapping[type[Any], str] = {
    TestingFacts: "testing",
    TracingFacts: "tracing",
    IsolationFacts: "isolation",
    AreaFacts: "areas",
}
# Bounded IN lists keep every statement well under SQLite's bound-parameter limit.
CHUNK = 500


class FactsProvider(Protocol):
    def __call__(
        self, *, session: Session, person_ids: Sequence[int], now: datetime
    ) -> Mapping[int, FactGroup]: ...


# Each domain appends its provider here when it starts feeding facts.
DEFAULT_PROVIDERS: tuple[FactsProvider, ...] = ()


@dataclass(frozen=True)
class RecomputeResult:
    """``changed``: colour or deciding rule changed (a change row and an audit event each);
    ``refreshed``: same colour and rule, but the stored pack version, reasons or validity moved
    on (the row is updated, no event);
    ``conflicted``: someone else wrote the row meanwhile, so recompute those again."""

    changed: tuple[int, ...]
    refreshed: tuple[int, ...]
    unchanged: int
    conflicted: tuple[int, ...]


def get(*, session: Session, person_id: int) -> HealthCode | None:
    return session.get(HealthCode, person_id)


def gather_facts(
    *,
    session: Session,
    person_ids: Sequence[int],
    now: datetime,
    providers: Sequence[FactsProvider],
) -> dict[int, PersonFacts]:
    facts = {person_id: PersonFacts() for person_id in person_ids}
    for provider in providers:
        for person_id, group in provider(session=session, person_ids=person_ids, now=now).items():
            if person_id in facts:
                changes: dict[str, Any] = {GROUP_FIELD[type(group)]: group}
                facts[person_id] = dataclasses.replace(facts[person_id], **changes)
    return facts


class Stored(StrEnum):
    CHANGED = "changed"
    REFRESHED = "refreshed"
    UNCHANGED = "unchanged"
    CONFLICTED = "conflicted"


def recompute_for(
    *,
    session: Session,
    person_ids: Sequence[int],
    now: datetime,
    pack: HealthCodeSection,
    providers: Sequence[FactsProvider] = DEFAULT_PROVIDERS,
) -> RecomputeResult:
    """Evaluate every person in ``person_ids`` and store the codes that differ from the stored
    ones. Writes go in the caller's transaction (the caller commits)."""
    outcomes: dict[Stored, list[int]] = {kind: [] for kind in Stored}
    ids = sorted(set(person_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        # Stored rows are read before the facts: a write that lands while facts are gathered
        # moves the revision, and the conditional update then refuses to overwrite it.
        stored = {
            row.person_id: row
            for row in session.execute(
                select(
                    HealthCode.person_id,
                    HealthCode.colour,
                    HealthCode.rule_id,
                    HealthCode.pack_id,
                    HealthCode.pack_version,
                    HealthCode.reasons,
                    HealthCode.valid_until,
                    HealthCode.revision,
                ).where(HealthCode.person_id.in_(chunk))
            )
        }
        facts = gather_facts(session=session, person_ids=chunk, now=now, providers=providers)
        decisions = {pid: evaluate(facts=facts[pid], now=now, pack=pack) for pid in chunk}
        # Change rows and audit events are flushed once per chunk, not before every statement.
        with session.no_autoflush:
            first = [pid for pid in chunk if pid not in stored]
            inserted = _insert_absent(session, {pid: decisions[pid] for pid in first})
            for person_id in first:
                if person_id not in inserted:
                    outcomes[Stored.CONFLICTED].append(person_id)
                    continue
                events.code_changed(
                    session=session,
                    person_id=person_id,
                    old_colour=None,
                    old_rule_ref=None,
                    decision=decisions[person_id],
                )
                outcomes[Stored.CHANGED].append(person_id)
            for person_id, row in stored.items():
                outcome = _store(session, person_id, row, decisions[person_id])
                outcomes[outcome].append(person_id)
        session.flush()
    return RecomputeResult(
        changed=tuple(sorted(outcomes[Stored.CHANGED])),
        refreshed=tuple(sorted(outcomes[Stored.REFRESHED])),
        unchanged=len(outcomes[Stored.UNCHANGED]),
        conflicted=tuple(sorted(outcomes[Stored.CONFLICTED])),
    )


def _store(session: Session, person_id: int, row: Row[Any], decision: CodeDecision) -> Stored:
    """Write one stored code that differs from its decision, by conditional update."""
    old_ref = f"{row.pack_id}@{row.pack_version}#{row.rule_id}"
    # A new pack version that keeps the colour and the rule (hc.no_risk under cn-9, then under
    # cn-20) is not a new code: it would otherwise write an event for every person at once.
    is_new_code = row.colour != decision.colour or row.rule_id != decision.rule_id
    is_same_explanation = (
        old_ref == decision.rule_ref
        and list(row.reasons) == list(decision.reasons)
        and row.valid_until == decision.valid_until
    )
    if not is_new_code and is_same_explanation:
        return Stored.UNCHANGED
    if not _update(session, person_id, row.revision, decision, is_new_code=is_new_code):
        return Stored.CONFLICTED
    if not is_new_code:
        return Stored.REFRESHED
    events.code_changed(
        session=session,
        person_id=person_id,
        old_colour=row.colour,
        old_rule_ref=old_ref,
        decision=decision,
    )
    return Stored.CHANGED


def _values(decision: CodeDecision) -> dict[str, Any]:
    return {
        "colour": decision.colour,
        "rule_id": decision.rule_id,
        "pack_id": decision.pack_id,
        "pack_version": decision.pack_version,
        "reasons": list(decision.reasons),
        "valid_until": decision.valid_until,
    }


def _insert_absent(session: Session, decisions: Mapping[int, CodeDecision]) -> set[int]:
    """Insert first codes in one statement, skipping rows a concurrent recompute inserted
    first; returns the person ids actually inserted (RETURNING works the same on both
    dialects, where rowcount of a skipped row does not)."""
    if not decisions:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [
        {"person_id": pid, "decided_at": d.evaluated_at, "revision": 1, **_values(d)}
        for pid, d in decisions.items()
    ]
    stmt = (
        insert(HealthCode)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["person_id"])
        .returning(HealthCode.person_id)
    )
    return set(session.execute(stmt).scalars())


def _update(
    session: Session,
    person_id: int,
    seen_revision: int,
    decision: CodeDecision,
    *,
    is_new_code: bool,
) -> bool:
    """Conditional update: False when the row's revision moved since it was read."""
    values = _values(decision)
    if is_new_code:
        values["decided_at"] = decision.evaluated_at
    stmt = (
        update(HealthCode)
        .where(HealthCode.person_id == person_id, HealthCode.revision == seen_revision)
        .values(revision=HealthCode.revision + 1, **values)
        .execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[Any], session.execute(stmt))
    return result.rowcount == 1
