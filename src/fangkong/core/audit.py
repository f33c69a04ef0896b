"""Audit events: one row per state change, written in the same transaction as the change.

An event answers afterwards who did what to whom, what it was before and after, why, and under
which rule. Because the row is added to the caller's session, it commits or rolls back together
with the change it records: there is never a change without its event, nor an event without its
change.

The log is tamper-evident: each event stores the SHA-256 of its own content chained to the hash
of the event before it, so editing, deleting or reordering any committed row breaks the chain
from that row on (:func:`verify_chain`, ``fangkong audit verify``). Appends are serialised per
database (an advisory lock on PostgreSQL; SQLite has one writer anyway), which is what makes the
order of the chain the order of the ids.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from fangkong.core import clock
from fangkong.core.scope import Actor
from fangkong.db.base import Base, BigIntId

GENESIS_HASH = "0" * 64
# Any constant works; it names the lock that serialises appends to the audit chain.
AUDIT_CHAIN_LOCK_KEY = 0x66_6B_61_75  # "fkau"


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
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_event_subject", "subject_type", "subject_id", "occurred_at"),
        Index("ix_audit_event_actor", "actor_user_id", "occurred_at"),
    )


SYSTEM_LABEL = "system"


def content_hash(event: AuditEvent, prev_hash: str) -> str:
    """SHA-256 over the previous hash and a canonical encoding of every recorded field."""
    content = {
        "occurred_at": event.occurred_at.isoformat(),
        "actor_user_id": event.actor_user_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
        "rule_ref": event.rule_ref,
    }
    encoded = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}\n{encoded}".encode()).hexdigest()


def _chain_head(session: Session) -> str:
    """The hash to chain the next event to. Takes the append lock first (PostgreSQL releases it
    when the transaction ends; taking it again in the same transaction is free), so no other
    transaction can append between this read and our commit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_CHAIN_LOCK_KEY})
    last = session.scalar(select(AuditEvent.entry_hash).order_by(AuditEvent.id.desc()).limit(1))
    return last or GENESIS_HASH


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
    moment = occurred_at or clock.now()
    if moment.tzinfo is None:
        raise ValueError("naive datetime refused; pass a timezone-aware value")
    event = AuditEvent(
        occurred_at=moment,
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
    event.prev_hash = _chain_head(session)
    event.entry_hash = content_hash(event, event.prev_hash)
    session.add(event)
    # Flushed at once: the next event reads this one as the head of the chain.
    session.flush([event])
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


@dataclass(frozen=True)
class ChainBreak:
    """The first event at which the chain stops adding up, and why."""

    event_id: int
    problem: str  # "edited" (content changed) or "broken_link" (deleted or reordered before it)


@dataclass(frozen=True)
class ChainReport:
    events_checked: int
    first_break: ChainBreak | None

    @property
    def is_intact(self) -> bool:
        return self.first_break is None


def _in_id_order(session: Session, batch_size: int) -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        batch = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.id > last_id)
                .order_by(AuditEvent.id)
                .limit(batch_size)
            )
        )
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id
        session.expunge_all()


def verify_chain(*, session: Session, batch_size: int = 5000) -> ChainReport:
    """Walk the whole log in id order and report the first event that does not add up."""
    expected_prev = GENESIS_HASH
    checked = 0
    for event in _in_id_order(session, batch_size):
        checked += 1
        if event.prev_hash != expected_prev:
            return ChainReport(checked, ChainBreak(event.id, "broken_link"))
        if content_hash(event, event.prev_hash) != event.entry_hash:
            return ChainReport(checked, ChainBreak(event.id, "edited"))
        expected_prev = event.entry_hash
    return ChainReport(checked, None)
