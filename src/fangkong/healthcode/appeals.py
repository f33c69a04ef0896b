"""Appeals (申诉): a resident contests their code from the code page; a reviewer decides.

A person has at most one open appeal. The reviewer (``healthcode.appeal_review``, inside their
jurisdiction) accepts or rejects it with a reason before ``due_at``; an overdue appeal is listed
as such. Accepting may come with an override, which follows the normal rules (a reason, an
expiry, and a second approver from red to green). The resident sees the outcome on their page.
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
from fangkong.healthcode import overrides, rules
from fangkong.healthcode.enums import AppealDecision, AppealStatus
from fangkong.healthcode.errors import (
    HealthCodeConflict,
    HealthCodeError,
    HealthCodeNotFound,
)
from fangkong.healthcode.errors import HealthCodeErrorCode as Code
from fangkong.healthcode.models import CodeAppeal, CodeOverride, HealthCode
from fangkong.registry.models import Person

MAX_TEXT = 2000


@dataclass(frozen=True)
class AppealOutcome:
    appeal: CodeAppeal
    override: CodeOverride | None


def own_person(*, session: Session, actor: Actor) -> Person:
    """The resident behind a resident account."""
    person = session.get(Person, actor.person_id) if actor.person_id is not None else None
    if person is None:
        raise HealthCodeNotFound(Code.PERSON_NOT_FOUND, "this account is not linked to a person")
    return person


def submit_appeal(*, session: Session, actor: Actor, text: str, now: datetime) -> CodeAppeal:
    """A resident's appeal against their own current code."""
    actor.require(Permission.SELF_SERVICE)
    person = own_person(session=session, actor=actor)
    text = text.strip()
    if not text:
        raise HealthCodeError(Code.APPEAL_TEXT_REQUIRED, "say what is wrong", field="text")
    open_one = session.scalars(
        select(CodeAppeal.id).where(
            CodeAppeal.person_id == person.id, CodeAppeal.status == str(AppealStatus.OPEN)
        )
    ).first()
    if open_one is not None:
        raise HealthCodeConflict(
            Code.APPEAL_ALREADY_OPEN, "your earlier appeal is still being reviewed"
        )
    code = session.get(HealthCode, person.id)
    appeal = CodeAppeal(
        person_id=person.id,
        area_path=person.area_path,
        text=text[:MAX_TEXT],
        colour=code.colour if code else None,
        rule_id=code.rule_id if code else None,
        status=str(AppealStatus.OPEN),
        submitted_by_user_id=actor.user_id,
        submitted_at=now,
        due_at=now + rules.APPEAL_DEADLINE,
        updated_at=now,
    )
    session.add(appeal)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="healthcode.appeal.submitted",
        subject_type="person",
        subject_id=person.id,
        after={"appeal_id": appeal.id, "colour": appeal.colour, "rule": appeal.rule_id},
        reason=appeal.text,
        occurred_at=now,
    )
    return appeal


def decide_appeal(
    *,
    session: Session,
    actor: Actor,
    appeal_id: int,
    decision: AppealDecision,
    reason: str,
    now: datetime,
    override: overrides.OverrideRequest | None = None,
) -> AppealOutcome:
    actor.require(Permission.HEALTHCODE_APPEAL_REVIEW)
    if not reason.strip():
        raise HealthCodeError(Code.APPEAL_REASON_REQUIRED, "say why", field="reason")
    appeal = _get_scoped(session, actor, appeal_id)
    status = AppealStatus.ACCEPTED if decision is AppealDecision.ACCEPT else AppealStatus.REJECTED
    transition(
        session,
        appeal,
        expect={"status": str(AppealStatus.OPEN)},
        conflict=HealthCodeConflict(Code.APPEAL_NOT_OPEN, "this appeal was already decided"),
        status=str(status),
        decided_by_user_id=actor.user_id,
        decided_at=now,
        decision_reason=reason.strip(),
    )
    audit.record(
        session=session,
        actor=actor,
        action="healthcode.appeal.decided",
        subject_type="person",
        subject_id=appeal.person_id,
        before={"appeal_id": appeal.id, "status": str(AppealStatus.OPEN)},
        after={"appeal_id": appeal.id, "status": str(status)},
        reason=reason.strip(),
        occurred_at=now,
    )
    made = None
    if status is AppealStatus.ACCEPTED and override is not None:
        made = overrides.request_override(
            session=session,
            actor=actor,
            request=override,
            now=now,
            appeal_id=appeal.id,
        )
    return AppealOutcome(appeal, made)


def _get_scoped(session: Session, actor: Actor, appeal_id: int) -> CodeAppeal:
    stmt = scope_to_jurisdiction(
        select(CodeAppeal).where(CodeAppeal.id == appeal_id),
        actor=actor,
        path_column=CodeAppeal.area_path,
    )
    appeal = session.scalars(stmt).first()
    if appeal is None:
        raise HealthCodeNotFound(
            Code.APPEAL_NOT_FOUND, f"no appeal {appeal_id} here", field="appeal_id"
        )
    return appeal


def list_appeals(
    *, session: Session, actor: Actor, status: AppealStatus | None = AppealStatus.OPEN
) -> list[CodeAppeal]:
    """Appeals inside the reviewer's jurisdiction, oldest deadline first."""
    actor.require(Permission.HEALTHCODE_APPEAL_REVIEW)
    stmt = select(CodeAppeal).order_by(CodeAppeal.due_at, CodeAppeal.id).limit(500)
    if status is not None:
        stmt = stmt.where(CodeAppeal.status == str(status))
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=CodeAppeal.area_path)
    return list(session.scalars(stmt))


def appeals_of(*, session: Session, person_id: int, limit: int = 5) -> list[CodeAppeal]:
    stmt = (
        select(CodeAppeal)
        .where(CodeAppeal.person_id == person_id)
        .order_by(CodeAppeal.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))
