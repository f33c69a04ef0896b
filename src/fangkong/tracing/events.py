"""Audit events of the tracing domain (written in the caller's transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.scope import Actor
from fangkong.tracing.models import Case, Contact, Investigation


def case_snapshot(case: Case) -> dict[str, Any]:
    return {
        "person_id": case.person_id,
        "kind": case.kind,
        "status": case.status,
        "severity": case.severity,
        "detection_route": case.detection_route,
        "onset_date": case.onset_date.isoformat() if case.onset_date else None,
        "sampled_at": case.sampled_at.isoformat() if case.sampled_at else None,
        "reported_at": case.reported_at.isoformat(),
        "source_ref": case.source_ref,
        "reclassified_at": case.reclassified_at.isoformat() if case.reclassified_at else None,
    }


def investigation_snapshot(investigation: Investigation) -> dict[str, Any]:
    return {
        "case_id": investigation.case_id,
        "status": investigation.status,
        "window_start": investigation.window_start.isoformat(),
        "window_end": investigation.window_end.isoformat(),
        "due_at": investigation.due_at.isoformat(),
    }


def contact_snapshot(contact: Contact) -> dict[str, Any]:
    return {
        "person_id": contact.person_id,
        "case_id": contact.case_id,
        "category": contact.category,
        "status": contact.status,
        "last_exposure_at": contact.last_exposure_at.isoformat(),
        "due_at": contact.due_at.isoformat(),
        "closed_reason": contact.closed_reason,
        "isolation_ref": contact.isolation_ref,
    }


def recorded(
    *,
    session: Session,
    actor: Actor | None,
    action: str,
    subject_type: str,
    subject_id: int,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    rule_ref: str | None = None,
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        before=before,
        after=after,
        reason=reason,
        rule_ref=rule_ref,
    )
