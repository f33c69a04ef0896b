"""The record of a code change: a change row and an audit event, in the caller's transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.healthcode.models import HealthCodeChange
from fangkong.healthcode.schemas import CodeDecision

ACTION_CHANGED = "healthcode.changed"


def code_changed(
    *,
    session: Session,
    person_id: int,
    old_colour: str | None,
    old_rule_ref: str | None,
    decision: CodeDecision,
) -> HealthCodeChange:
    """Record that ``person_id``'s code became ``decision`` (changed by a rule, not a person:
    the audit event has no actor and cites the rule)."""
    change = HealthCodeChange(
        person_id=person_id,
        changed_at=decision.evaluated_at,
        old_colour=old_colour,
        new_colour=decision.colour,
        old_rule_id=old_rule_ref.rsplit("#", 1)[-1] if old_rule_ref else None,
        rule_id=decision.rule_id,
        pack_id=decision.pack_id,
        pack_version=decision.pack_version,
        trigger_fact=decision.trigger_fact,
        reasons=list(decision.reasons),
    )
    session.add(change)
    audit.record(
        session=session,
        actor=None,
        action=ACTION_CHANGED,
        subject_type="person",
        subject_id=person_id,
        before=None if old_colour is None else {"colour": old_colour, "rule": old_rule_ref},
        after={
            "colour": decision.colour,
            "rule": decision.rule_ref,
            "reasons": list(decision.reasons),
        },
        reason=", ".join(decision.reasons),
        rule_ref=decision.rule_ref,
        occurred_at=decision.evaluated_at,
    )
    return change
