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

Within one transaction the head of the chain is read once and then kept in ``session.info``
(:func:`_chain_head`); :func:`record_many` chains a batch in Python and inserts it in one
statement. Both exist because bulk jobs (health-code recomputes, drills) write thousands of
events per transaction, and a head query plus a flush per event dominated their time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import JSON, Index, String, Text, insert, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from fangkong.core import clock
from fangkong.core.scope import Actor
from fangkong.db import bulk
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


class _Content(Protocol):
    """The recorded fields of an event, stored (``AuditEvent``) or about to be (``Entry``)."""

    @property
    def occurred_at(self) -> datetime: ...
    @property
    def actor_user_id(self) -> int | None: ...
    @property
    def actor_label(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def subject_type(self) -> str: ...
    @property
    def subject_id(self) -> str: ...
    @property
    def before(self) -> dict[str, Any] | None: ...
    @property
    def after(self) -> dict[str, Any] | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def rule_ref(self) -> str | None: ...


def content_hash(event: _Content, prev_hash: str) -> str:
    """SHA-256 over the previous hash and a canonical encoding of every recorded field."""
    content = {
        # In UTC, as the column gives it back: a time recorded with another offset must hash
        # the same when it is read again.
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
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


# session.info key of the hash the next event of the current transaction chains to.
HEAD_KEY = "fangkong.audit.chain_head"


def _chain_head(session: Session) -> str:
    """The hash to chain the next event to.

    The first call in a transaction takes the append lock and reads the head; later calls in the
    same transaction return the hash of the event recorded last, kept in ``session.info``. That
    is sound because no other transaction can append until ours ends:

    - PostgreSQL: the advisory lock is held until commit or rollback, so every other appender
      waits at its own first ``_chain_head``, and then reads our committed events as its head.
    - SQLite: each transaction opens with a deferred BEGIN in WAL mode (``db.session``). Two
      writers may both read the same head, but only one can write: the other's first write
      fails (SQLITE_BUSY_SNAPSHOT, as its snapshot is no longer the latest) and it rolls back
      whole, so the chain never forks; it is retried as any failed transaction is.

    The cached head is dropped whenever a transaction or savepoint ends
    (``_forget_head``): after a rollback the cached event may no longer exist, and re-reading
    is the simple way to be right after a savepoint too. Pending events are flushed before that
    re-read so that it sees this transaction's own unflushed events.
    """
    cached: str | None = session.info.get(HEAD_KEY)
    if cached is not None:
        return cached
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_CHAIN_LOCK_KEY})
    if any(isinstance(obj, AuditEvent) for obj in session.new):
        session.flush([obj for obj in session.new if isinstance(obj, AuditEvent)])
    with session.no_autoflush:
        last = session.scalar(select(AuditEvent.entry_hash).order_by(AuditEvent.id.desc()).limit(1))
    head = last or GENESIS_HASH
    session.info[HEAD_KEY] = head
    return head


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, _transaction: SessionTransaction) -> None:
    session.info.pop(HEAD_KEY, None)


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
    # Not flushed here: the unit of work inserts pending objects of one class in the order they
    # were added, so ids follow the chain; a caller that needs ``event.id`` flushes.
    session.add(event)
    session.info[HEAD_KEY] = event.entry_hash
    return event


@dataclass(frozen=True)
class Entry:
    """One event for :func:`record_many`, with the same meaning as :func:`record`'s arguments
    (built with :meth:`Entry.of`, which applies the same checks)."""

    action: str
    subject_type: str
    subject_id: str
    occurred_at: datetime
    actor_user_id: int | None = None
    actor_label: str = SYSTEM_LABEL
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reason: str | None = None
    rule_ref: str | None = None

    @classmethod
    def of(
        cls,
        *,
        actor: Actor | None,
        action: str,
        subject_type: str,
        subject_id: str | int,
        occurred_at: datetime,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        reason: str | None = None,
        rule_ref: str | None = None,
    ) -> Entry:
        if actor is None and not rule_ref:
            raise ValueError("a change made by the system must cite the rule that made it")
        if occurred_at.tzinfo is None:
            raise ValueError("naive datetime refused; pass a timezone-aware value")
        return cls(
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id),
            occurred_at=occurred_at,
            actor_user_id=actor.user_id if actor else None,
            actor_label=actor.username if actor else SYSTEM_LABEL,
            before=before,
            after=after,
            reason=reason,
            rule_ref=rule_ref,
        )


def record_many(*, session: Session, entries: Sequence[Entry]) -> int:
    """Chain ``entries`` in order after the current head and insert them in one statement (in
    the caller's transaction). Returns how many were written."""
    if not entries:
        return 0
    head = _chain_head(session)
    # Events added by ``record`` and not yet flushed would otherwise be inserted after these
    # and take larger ids than the events chained to them.
    pending = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if pending:
        session.flush(pending)
    rows = []
    for entry in entries:
        entry_hash = content_hash(entry, head)
        rows.append(
            {
                "occurred_at": entry.occurred_at,
                "actor_user_id": entry.actor_user_id,
                "actor_label": entry.actor_label,
                "action": entry.action,
                "subject_type": entry.subject_type,
                "subject_id": entry.subject_id,
                "before": entry.before,
                "after": entry.after,
                "reason": entry.reason,
                "rule_ref": entry.rule_ref,
                "prev_hash": head,
                "entry_hash": entry_hash,
            }
        )
        head = entry_hash
    # One driver executemany: rows go in in list order, so their ids follow the chain. The
    # values are encoded once per distinct value (``bulk``): a batch of code changes shares a
    # few ``after`` documents and one time.
    bulk.execute_many(session.connection(), _INSERT, rows, insert_keys=_INSERT_KEYS)
    session.info[HEAD_KEY] = head
    return len(rows)


_INSERT = insert(AuditEvent)
_INSERT_KEYS = (
    "occurred_at",
    "actor_user_id",
    "actor_label",
    "action",
    "subject_type",
    "subject_id",
    "before",
    "after",
    "reason",
    "rule_ref",
    "prev_hash",
    "entry_hash",
)


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
