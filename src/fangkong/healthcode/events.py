"""The record of a code change: a change row and an audit event, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from fangkong.core import audit
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


def _change_row(change: CodeChange) -> dict[str, Any]:
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
        "reasons": list(decision.reasons),
    }


def _audit_entry(change: CodeChange) -> audit.Entry:
    """Changed by a rule, not a person: the event has no actor and cites the rule."""
    decision = change.decision
    return audit.Entry.of(
        actor=None,
        action=ACTION_CHANGED,
        subject_type="person",
        subject_id=change.person_id,
        before=None
        if change.old_colour is None
        else {"colour": change.old_colour, "rule": change.old_rule_ref},
        after={
            "colour": decision.colour,
            "rule": decision.rule_ref,
            "reasons": list(decision.reasons),
        },
        reason=", ".join(decision.reasons),
        rule_ref=decision.rule_ref,
        occurred_at=decision.evaluated_at,
    )


def codes_changed(*, session: Session, changes: Sequence[CodeChange]) -> None:
    """Record a batch of changes: one insert of change rows, one chained insert of audit
    events (``audit.record_many``), in the order given."""
    if not changes:
        return
    session.connection().execute(insert(HealthCodeChange), [_change_row(c) for c in changes])
    audit.record_many(session=session, entries=[_audit_entry(c) for c in changes])


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
