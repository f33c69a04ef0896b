"""The overdue-transfer job: raise each open transfer past its deadline on the command
dashboard once (an audit event and ``escalated_at``).

Idempotent: a second run finds nothing new, because each escalation is a conditional UPDATE on
``escalated_at IS NULL``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.core.errors import Conflict
from fangkong.db.transitions import transition
from fangkong.isolation import events
from fangkong.isolation.enums import TransferStatus
from fangkong.isolation.errors import IsolationErrorCode
from fangkong.isolation.models import TransferTask
from fangkong.isolation.rules import overdue_by


def escalate_overdue_transfers(*, session: Session) -> list[int]:
    """Mark every open, not yet escalated transfer past its deadline; the caller commits.
    Returns the ids escalated by this run."""
    now = clock.now()
    tasks = list(
        session.scalars(
            select(TransferTask)
            .where(
                TransferTask.status != str(TransferStatus.CHECKED_IN),
                TransferTask.deadline_at < now,
                TransferTask.escalated_at.is_(None),
            )
            .order_by(TransferTask.deadline_at, TransferTask.id)
        )
    )
    escalated = []
    for task in tasks:
        before = events.transfer_snapshot(task)
        try:
            transition(
                session,
                task,
                expect={"escalated_at": None, "status": task.status},
                conflict=Conflict(IsolationErrorCode.TRANSFER_STATUS_CONFLICT, "changed"),
                escalated_at=now,
            )
        except Conflict:
            continue  # checked in or escalated meanwhile
        events.transfer_changed(
            session=session,
            actor=None,
            action="isolation.transfer.overdue",
            task=task,
            before=before,
            reason=f"overdue by {overdue_by(deadline_at=task.deadline_at, now=now)}",
        )
        escalated.append(task.id)
    return escalated
