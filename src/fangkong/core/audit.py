"""Audit events: one row per state change, written in the same transaction as the change.

An event answers afterwards who did what to whom, what it was before and after, why, and under
which rule. Because the row is added to the caller's session, it commits or rolls back together
with the change it records: there is never a change without its event, nor an event without its
change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from fangkong.core import clock
from fangkong.core.scope import Actor
from fangkong.db.base import Base

# Integer on SQLite so the column is a rowid alias (autoincrement); bigint on PostgreSQL.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    occurred_at: Mapped[datetime]
    actor_user_id: Mapped[int | None]
    actor_label: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80))
    subject_type: Mapped[str] = mapped_column(String(60))
    subject_id: Mapped[str] = mapped_column(String(80))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    rule_ref: Mapped[str | None] = mapped_column(String(160))

    __table_args__ = (
        Index("ix_audit_event_subject", "subject_type", "subject_id", "occurred_at"),
        Index("ix_audit_event_actor", "actor_user_id", "occurred_at"),
    )


SYSTEM_LABEL = "system"


def record(
    *,
    session: Session,
    actor: Actor | None,
    action: str,
    subject_type: str,
    subject_id: str | int,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    rule_ref: str | None = None,
    occurred_at: datetime | None = None,
) -> AuditEvent:
    """Add an audit event to ``session`` (it commits with the caller's transaction).

    ``actor`` is ``None`` for changes made by the platform itself under a rule; such changes
    must name the rule in ``rule_ref``.
    """
    if actor is None and not rule_ref:
        raise ValueError("a change made by the system must cite the rule that made it")
    event = AuditEvent(
        occurred_at=occurred_at or clock.now(),
        actor_user_id=actor.user_id if actor else None,
        actor_label=actor.username if actor else SYSTEM_LABEL,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        before=before,
        after=after,
        reason=reason,
        rule_ref=rule_ref,
    )
    session.add(event)
    return event


def events_for(*, session: Session, subject_type: str, subject_id: str | int) -> list[AuditEvent]:
    """The history of one subject, oldest first."""
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == str(subject_id))
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    )
    return list(session.scalars(stmt))


def latest(
    *,
    session: Session,
    subject_type: str | None = None,
    subject_id: str | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """The most recent events, newest first, optionally for one subject type or subject."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if subject_type:
        stmt = stmt.where(AuditEvent.subject_type == subject_type)
    if subject_id:
        stmt = stmt.where(AuditEvent.subject_id == subject_id)
    return list(session.scalars(stmt))
