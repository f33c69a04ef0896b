"""Audit events of the risk-areas domain (written in the caller's transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fangkong.areas.models import RiskDesignation
from fangkong.core import audit
from fangkong.core.scope import Actor

SUBJECT = "risk_designation"


def _rule_ref(designation: RiskDesignation) -> str | None:
    if designation.rule_id is None:
        return None
    return f"{designation.pack_id}@{designation.pack_version}#{designation.rule_id}"


def proposed(
    *, session: Session, actor: Actor | None, designation: RiskDesignation, reason: str | None
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action="areas.designation.proposed",
        subject_type=SUBJECT,
        subject_id=designation.id,
        after={**designation.snapshot(), "name": designation.name},
        reason=reason,
        rule_ref=_rule_ref(designation),
    )


def changed(
    *,
    session: Session,
    actor: Actor | None,
    action: str,
    designation: RiskDesignation,
    before: dict[str, Any],
    reason: str | None = None,
    rule_ref: str | None = None,
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=action,
        subject_type=SUBJECT,
        subject_id=designation.id,
        before=before,
        after=designation.snapshot(),
        reason=reason,
        rule_ref=rule_ref or _rule_ref(designation),
    )


def day_recorded(
    *, session: Session, actor: Actor, designation: RiskDesignation, facts: dict[str, Any]
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action="areas.day.recorded",
        subject_type=SUBJECT,
        subject_id=designation.id,
        after={key: str(value) for key, value in facts.items() if key != "recorded_at"},
    )
