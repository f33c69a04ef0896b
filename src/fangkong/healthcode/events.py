"""The record of a code change: a change row and an audit event, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.db import bulk
from fangkong.healthcode.models import HealthCodeChange
from fangkong.healthcode.schemas import CodeDecision

ACTION_CHANGED = "healthcode.changed"


@dataclass(frozen=True)
class CodeChange:
    """``person_id``'s code moved from ``old_colour`` under ``old_rule_ref`` (None for a first
    code) to ``decision``."""

    person_id: int
    old_colour: str | None
    old_rule_ref: str | None
    decision: CodeDecision


def _change_row(change: CodeChange, reasons: list[str]) -> dict[str, Any]:
    decision = change.decision
    return {
        "person_id": change.person_id,
        "changed_at": decision.evaluated_at,
        "old_colour": change.old_colour,
        "new_colour": decision.colour,
        "old_rule_id": change.old_rule_ref.rsplit("#", 1)[-1] if change.old_rule_ref else None,
        "rule_id": decision.rule_id,
        "pack_id": decision.pack_id,
        "pack_version": decision.pack_version,
        "trigger_fact": decision.trigger_fact,
        "reasons": reasons,
    }


def _audit_entry(change: CodeChange, shared: _Shared) -> audit.Entry:
    """Changed by a rule, not a person: the event has no actor and cites the rule."""
    decision = change.decision
    return audit.Entry.of(
        actor=None,
        action=ACTION_CHANGED,
        subject_type="person",
        subject_id=change.person_id,
        before=shared.before(change.old_colour, change.old_rule_ref),
        after=shared.after(decision),
        reason=shared.reason(decision),
        rule_ref=decision.rule_ref,
        occurred_at=decision.evaluated_at,
    )


class _Shared:
    """One ``before``/``after`` document (and reason list) per distinct value in a batch: a
    batch of thousands of changes has a handful, and ``bulk`` encodes each object once. The
    documents are never mutated once built."""

    def __init__(self) -> None:
        self._before: dict[tuple[str, str | None], dict[str, Any]] = {}
        self._after: dict[tuple[str, str, tuple[str, ...]], dict[str, Any]] = {}
        self._reasons: dict[tuple[str, ...], list[str]] = {}
        self._reason: dict[tuple[str, ...], str] = {}

    def before(self, colour: str | None, rule_ref: str | None) -> dict[str, Any] | None:
        if colour is None:
            return None
        key = (colour, rule_ref)
        if key not in self._before:
            self._before[key] = {"colour": colour, "rule": rule_ref}
        return self._before[key]

    def after(self, decision: CodeDecision) -> dict[str, Any]:
        key = (decision.colour, decision.rule_ref, tuple(decision.reasons))
        if key not in self._after:
            self._after[key] = {
                "colour": decision.colour,
                "rule": decision.rule_ref,
                "reasons": self.reasons(decision),
            }
        return self._after[key]

    def reasons(self, decision: CodeDecision) -> list[str]:
        key = tuple(decision.reasons)
        if key not in self._reasons:
            self._reasons[key] = list(key)
        return self._reasons[key]

    def reason(self, decision: CodeDecision) -> str:
        key = tuple(decision.reasons)
        if key not in self._reason:
            self._reason[key] = ", ".join(key)
        return self._reason[key]


_INSERT = insert(HealthCodeChange)
_INSERT_KEYS = (
    "person_id",
    "changed_at",
    "old_colour",
    "new_colour",
    "old_rule_id",
    "rule_id",
    "pack_id",
    "pack_version",
    "trigger_fact",
    "reasons",
)


def codes_changed(*, session: Session, changes: Sequence[CodeChange]) -> None:
    """Record a batch of changes: one insert of change rows, one chained insert of audit
    events (``audit.record_many``), in the order given."""
    if not changes:
        return
    shared = _Shared()
    rows = [_change_row(c, shared.reasons(c.decision)) for c in changes]
    bulk.execute_many(session.connection(), _INSERT, rows, insert_keys=_INSERT_KEYS)
    audit.record_many(session=session, entries=[_audit_entry(c, shared) for c in changes])


def code_changed(
    *,
    session: Session,
    person_id: int,
    old_colour: str | None,
    old_rule_ref: str | None,
    decision: CodeDecision,
) -> None:
    """Record that ``person_id``'s code became ``decision``."""
    codes_changed(
        session=session,
        changes=[CodeChange(person_id, old_colour, old_rule_ref, decision)],
    )
