"""Audit events of the isolation domain (written in the caller's transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fangkong.core import audit
from fangkong.core.scope import Actor
from fangkong.isolation.models import IsolationOrder, TransferTask


def order_snapshot(order: IsolationOrder) -> dict[str, Any]:
    return {
        "status": order.status,
        "kind": order.kind,
        "phase_index": order.phase_index,
        "facility_id": order.facility_id,
        "room_id": order.room_id,
        "planned_end_at": order.planned_end_at.isoformat(),
    }


def rule_ref(order: IsolationOrder) -> str:
    return f"{order.pack_id}@{order.pack_version}#{order.rule_id}"


def order_changed(
    *,
    session: Session,
    actor: Actor | None,
    action: str,
    order: IsolationOrder,
    before: dict[str, Any] | None,
    reason: str | None = None,
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=action,
        subject_type="isolation_order",
        subject_id=order.id,
        before=before,
        after=order_snapshot(order),
        reason=reason,
        rule_ref=rule_ref(order),
    )


def recorded(
    *,
    session: Session,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: int,
    after: dict[str, Any],
    before: dict[str, Any] | None = None,
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        before=before,
        after=after,
    )


def transfer_snapshot(task: TransferTask) -> dict[str, Any]:
    return {
        "status": task.status,
        "kind": task.kind,
        "destination": task.destination_name,
        "vehicle": task.vehicle,
        "team": task.team,
        "deadline_at": task.deadline_at.isoformat(),
    }


def transfer_changed(
    *,
    session: Session,
    actor: Actor | None,
    action: str,
    task: TransferTask,
    before: dict[str, Any] | None,
    people: list[int] | None = None,
    reason: str | None = None,
) -> None:
    after = transfer_snapshot(task)
    if people is not None:
        after["people"] = people
    audit.record(
        session=session,
        actor=actor,
        action=action,
        subject_type="transfer_task",
        subject_id=task.id,
        before=before,
        after=after,
        reason=reason,
        rule_ref=task.deadline_rule,
    )
