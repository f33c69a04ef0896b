"""Codes set by hand (人工赋码/转码): guarded, audited and always ending.

Only holders of ``healthcode.override`` may request one, inside their jurisdiction, with a
reason and an expiry. An override that turns the most restrictive state (red) into the clear
state (green) waits for a second approver: a different user holding ``healthcode.approve``.
Every request, approval, refusal and revocation is an audit event; the code change it causes is
recorded by the engine like any other (its rule is ``override.<id>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.core import audit
from fangkong.core.scope import Actor, scope_to_jurisdiction
from fangkong.db.transitions import transition
from fangkong.healthcode import rules, service
from fangkong.healthcode.enums import OverrideStatus
from fangkong.healthcode.errors import (
    HealthCodeConflict,
    HealthCodeError,
    HealthCodeNotFound,
)
from fangkong.healthcode.errors import HealthCodeErrorCode as Code
from fangkong.healthcode.models import CodeOverride, HealthCode
from fangkong.healthcode.schemas import HealthCodeSection
from fangkong.registry import persons


@dataclass(frozen=True)
class OverrideRequest:
    person_id: int
    colour: str
    reason: str
    expires_at: datetime | None


def _snapshot(override: CodeOverride) -> dict[str, object]:
    return {
        "status": override.status,
        "colour": override.colour,
        "from_colour": override.from_colour,
        "expires_at": override.expires_at.isoformat(),
    }


def request_override(
    *,
    session: Session,
    actor: Actor,
    request: OverrideRequest,
    now: datetime,
    appeal_id: int | None = None,
    pack: HealthCodeSection | None = None,
) -> CodeOverride:
    """Record an override; it applies at once unless it needs a second approver."""
    actor.require(Permission.HEALTHCODE_OVERRIDE)
    person = persons.get_person_or_raise(session=session, actor=actor, person_id=request.person_id)
    section = pack or service.pack_in_force(now=now)
    problem = rules.override_problem(
        reason=request.reason,
        expires_at=request.expires_at,
        colour=request.colour,
        states=section.states,
        now=now,
    )
    if problem is not None:
        raise HealthCodeError(problem, f"override refused: {problem}", field=rules.FIELD[problem])
    assert request.expires_at is not None
    # The code the override replaces is the current one, brought up to date first.
    service.recompute_affected(session=session, person_ids=[person.id], now=now, pack=section)
    current = session.get(HealthCode, person.id)
    from_colour = current.colour if current is not None else None
    needs_second = rules.needs_second_approver(
        from_colour=from_colour,
        to_colour=request.colour,
        states=section.states,
        clear_state=section.clear_state,
    )
    override = CodeOverride(
        person_id=person.id,
        area_path=person.area_path,
        colour=request.colour,
        from_colour=from_colour,
        reason=request.reason.strip(),
        expires_at=request.expires_at,
        status=str(OverrideStatus.PENDING if needs_second else OverrideStatus.ACTIVE),
        requested_by_user_id=actor.user_id,
        requested_at=now,
        appeal_id=appeal_id,
        updated_at=now,
    )
    session.add(override)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="healthcode.override.requested",
        subject_type="person",
        subject_id=person.id,
        after={"override_id": override.id, **_snapshot(override)},
        reason=override.reason,
        occurred_at=now,
    )
    if not needs_second:
        service.recompute_affected(session=session, person_ids=[person.id], now=now, pack=section)
    return override


def _get_scoped(session: Session, actor: Actor, override_id: int) -> CodeOverride:
    stmt = scope_to_jurisdiction(
        select(CodeOverride).where(CodeOverride.id == override_id),
        actor=actor,
        path_column=CodeOverride.area_path,
    )
    override = session.scalars(stmt).first()
    if override is None:
        raise HealthCodeNotFound(
            Code.OVERRIDE_NOT_FOUND, f"no override {override_id} here", field="override_id"
        )
    return override


def _decide(
    session: Session,
    actor: Actor,
    override: CodeOverride,
    *,
    expect: OverrideStatus,
    conflict: HealthCodeConflict,
    action: str,
    reason: str | None,
    now: datetime,
    **values: object,
) -> None:
    """Move ``override`` out of ``expect`` atomically and record the decision on the person."""
    before = _snapshot(override)
    transition(session, override, expect={"status": str(expect)}, conflict=conflict, **values)
    audit.record(
        session=session,
        actor=actor,
        action=action,
        subject_type="person",
        subject_id=override.person_id,
        before={"override_id": override.id, **before},
        after={"override_id": override.id, **_snapshot(override)},
        reason=reason,
        occurred_at=now,
    )


def approve_override(
    *, session: Session, actor: Actor, override_id: int, now: datetime, note: str = ""
) -> CodeOverride:
    """The second approver's yes: a different user than the one who asked."""
    actor.require(Permission.HEALTHCODE_APPROVE)
    override = _get_scoped(session, actor, override_id)
    if override.requested_by_user_id == actor.user_id:
        raise HealthCodeError(
            Code.OVERRIDE_SAME_APPROVER,
            "the second approver must be someone other than the person who asked",
            status=403,
        )
    if override.expires_at <= now:
        raise HealthCodeError(
            Code.OVERRIDE_EXPIRY_IN_PAST, "this override has already expired", field="expires_at"
        )
    _decide(
        session,
        actor,
        override,
        expect=OverrideStatus.PENDING,
        conflict=HealthCodeConflict(Code.OVERRIDE_NOT_PENDING, "this override is not pending"),
        action="healthcode.override.approved",
        reason=note.strip() or override.reason,
        now=now,
        status=str(OverrideStatus.ACTIVE),
        approved_by_user_id=actor.user_id,
        approved_at=now,
        decision_note=note.strip() or None,
    )
    service.recompute_affected(session=session, person_ids=[override.person_id], now=now)
    return override


def refuse_override(
    *, session: Session, actor: Actor, override_id: int, now: datetime, note: str
) -> CodeOverride:
    actor.require(Permission.HEALTHCODE_APPROVE)
    if not note.strip():
        raise HealthCodeError(
            Code.OVERRIDE_REASON_REQUIRED, "say why the override is refused", field="note"
        )
    override = _get_scoped(session, actor, override_id)
    _decide(
        session,
        actor,
        override,
        expect=OverrideStatus.PENDING,
        conflict=HealthCodeConflict(Code.OVERRIDE_NOT_PENDING, "this override is not pending"),
        action="healthcode.override.refused",
        reason=note.strip(),
        now=now,
        status=str(OverrideStatus.REFUSED),
        approved_by_user_id=actor.user_id,
        approved_at=now,
        decision_note=note.strip(),
    )
    return override


def revoke_override(
    *, session: Session, actor: Actor, override_id: int, now: datetime, note: str
) -> CodeOverride:
    """End an active override before its expiry; the code goes back to what the rules say."""
    actor.require(Permission.HEALTHCODE_OVERRIDE)
    if not note.strip():
        raise HealthCodeError(
            Code.OVERRIDE_REASON_REQUIRED, "say why the override ends", field="note"
        )
    override = _get_scoped(session, actor, override_id)
    _decide(
        session,
        actor,
        override,
        expect=OverrideStatus.ACTIVE,
        conflict=HealthCodeConflict(Code.OVERRIDE_NOT_ACTIVE, "this override is not active"),
        action="healthcode.override.revoked",
        reason=note.strip(),
        now=now,
        status=str(OverrideStatus.REVOKED),
        decision_note=note.strip(),
    )
    service.recompute_affected(session=session, person_ids=[override.person_id], now=now)
    return override


def list_overrides(
    *, session: Session, actor: Actor, status: OverrideStatus | None = None, limit: int = 200
) -> list[CodeOverride]:
    actor.require(Permission.HEALTHCODE_VIEW)
    stmt = select(CodeOverride).order_by(CodeOverride.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(CodeOverride.status == str(status))
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=CodeOverride.area_path)
    return list(session.scalars(stmt))
