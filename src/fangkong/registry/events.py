"""Audit events of the registry: one constructor per kind of change, so every change of the
same kind is recorded with the same action name and the same fields."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.scope import Actor

AREA_CREATED = "area.create"
COMPOUND_CREATED = "compound.create"
BUILDING_CREATED = "building.create"
HOUSEHOLD_CREATED = "household.create"
PERSON_REGISTERED = "person.register"
PERSON_IDENTITY_REVEALED = "person.reveal_identity"
MERGE_PROPOSED = "person.merge_propose"
MERGE_ACCEPTED = "person.merge_accept"
MERGE_REJECTED = "person.merge_reject"
PERSON_MERGED = "person.merged"
RESIDENTS_IMPORTED = "residents.import"
RESIDENTS_EXPORTED = "residents.export"


def created(
    *,
    session: Session,
    actor: Actor | None,
    action: str,
    subject_type: str,
    subject_id: int | str,
    after: dict[str, Any],
    rule_ref: str | None = None,
) -> None:
    """A new row: there is no "before"."""
    audit.record(
        session=session,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        after=after,
        rule_ref=rule_ref,
    )


def changed(
    *,
    session: Session,
    actor: Actor | None,
    action: str,
    subject_type: str,
    subject_id: int | str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
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
