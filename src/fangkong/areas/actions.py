"""State transitions of risk designations: confirming, recording day facts, lifting, and
confirming a change the rules proposed.

Each is a conditional UPDATE on the expected old state (checked by rowcount) and writes an audit
event in the same transaction; the caller commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from fangkong.areas import events
from fangkong.areas.enums import DesignationStatus, RiskLevel
from fangkong.areas.errors import AreasErrorCode
from fangkong.areas.models import RiskAreaDay, RiskDesignation
from fangkong.areas.schemas import DayFactsIn
from fangkong.areas.service import get_or_raise, open_cases
from fangkong.core import clock
from fangkong.core.errors import Conflict, FangkongError
from fangkong.core.scope import Actor
from fangkong.db.transitions import transition as db_transition


def transition(
    session: Session, designation: RiskDesignation, *, expect: dict[str, Any], **values: Any
) -> None:
    """Conditional UPDATE: applies only if the row still has the ``expect`` values."""
    conflict = Conflict(
        AreasErrorCode.STATUS_CONFLICT,
        f"risk area {designation.id} changed meanwhile or is not {expect}",
    )
    db_transition(session, designation, expect=expect, conflict=conflict, **values)


def confirm(*, session: Session, actor: Actor, designation_id: int) -> RiskDesignation:
    designation = get_or_raise(session=session, actor=actor, designation_id=designation_id)
    before = designation.snapshot()
    transition(
        session,
        designation,
        expect={"status": DesignationStatus.PROPOSED},
        status=str(DesignationStatus.CONFIRMED),
        since=clock.now(),
        level_since=clock.now().date(),
    )
    events.changed(
        session=session,
        actor=actor,
        action="areas.designation.confirmed",
        designation=designation,
        before=before,
    )
    return designation


def record_day(
    *, session: Session, actor: Actor, designation_id: int, facts: DayFactsIn
) -> RiskAreaDay:
    """Record (or correct) one day's facts of a designated area."""
    designation = get_or_raise(session=session, actor=actor, designation_id=designation_id)
    if facts.day > clock.now().date():
        raise FangkongError(AreasErrorCode.DAY_IN_FUTURE, "that day has not come yet", field="day")
    values = {**facts.model_dump(), "designation_id": designation.id, "recorded_at": clock.now()}
    dialect_insert = (
        postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    )
    insert = dialect_insert(RiskAreaDay).values(**values)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["designation_id", "day"],
            set_={key: insert.excluded[key] for key in values if key not in ("designation_id",)},
        )
    )
    row = session.scalars(
        select(RiskAreaDay).where(
            RiskAreaDay.designation_id == designation.id, RiskAreaDay.day == facts.day
        )
    ).one()
    session.refresh(row)
    events.day_recorded(session=session, actor=actor, designation=designation, facts=values)
    return row


def lift(*, session: Session, actor: Actor, designation_id: int, reason: str) -> RiskDesignation:
    """Lift a confirmed risk area by an officer's decision; refused while a case is open."""
    designation = get_or_raise(session=session, actor=actor, designation_id=designation_id)
    if not reason.strip():
        raise FangkongError(AreasErrorCode.REASON_REQUIRED, "give a reason", field="reason")
    cases = open_cases(session=session, designation_id=designation.id)
    if cases:
        raise Conflict(
            AreasErrorCode.CASE_OPEN,
            f"{cases} case(s) still open in {designation.name}: it cannot be lifted",
        )
    before = designation.snapshot()
    transition(
        session,
        designation,
        expect={"status": DesignationStatus.CONFIRMED},
        status=str(DesignationStatus.LIFTED),
        pending_level=None,
    )
    events.changed(
        session=session,
        actor=actor,
        action="areas.designation.lifted",
        designation=designation,
        before=before,
        reason=reason,
    )
    return designation


def confirm_pending(*, session: Session, actor: Actor, designation_id: int) -> RiskDesignation:
    """An officer confirms the change the rules proposed after a risk assessment."""
    designation = get_or_raise(session=session, actor=actor, designation_id=designation_id)
    pending = designation.pending_level
    if pending is None:
        raise Conflict(AreasErrorCode.NO_PENDING_CHANGE, "no change is waiting for confirmation")
    before = designation.snapshot()
    lifted = pending == RiskLevel.NORMAL
    transition(
        session,
        designation,
        expect={"status": DesignationStatus.CONFIRMED, "pending_level": pending},
        level=pending,
        pending_level=None,
        level_since=clock.now().date(),
        status=str(DesignationStatus.LIFTED if lifted else DesignationStatus.CONFIRMED),
    )
    events.changed(
        session=session,
        actor=actor,
        action="areas.designation.change_confirmed",
        designation=designation,
        before=before,
        rule_ref=f"{designation.pack_id}@{designation.pack_version}#{designation.rule_id}",
    )
    return designation
