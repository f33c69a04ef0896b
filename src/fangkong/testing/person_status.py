"""Person statuses written outside a lab result's effects, and what tracing reads of them: the
``sampled`` status when tubes are sealed, and the positive single tubes (case candidates)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.testing import summary
from fangkong.testing.enums import LabResult, PersonTestState
from fangkong.testing.models import PersonTestStatus, Tube, TubeMember, TubeOutcome
from fangkong.testing.sql import insert_for


def record_sampled(*, session: Session, tube_ids: list[int]) -> None:
    """Give the members of these tubes (in a round) the status ``sampled`` where they have none
    in that round yet, in one ``INSERT … SELECT``; for the sampling side to call when tubes are
    sealed or gain members. A result already applied is never overwritten. The members' test
    summaries are recomputed too (their latest sample and round)."""
    now = clock.now()
    if not tube_ids:
        return
    summary.refresh_tubes(session=session, tube_ids=tube_ids)
    members = (
        select(
            TubeMember.person_id,
            Tube.campaign_id,
            literal(PersonTestState.SAMPLED.value),
            func.max(Tube.id),
            func.max(TubeMember.sampled_at),
            literal(now, type_=PersonTestStatus.__table__.c.updated_at.type),
        )
        .join(Tube, Tube.id == TubeMember.tube_id)
        .where(Tube.id.in_(tube_ids), Tube.campaign_id.is_not(None))
        .group_by(TubeMember.person_id, Tube.campaign_id)
    )
    statement = (
        insert_for(session)(PersonTestStatus.__table__)
        .from_select(
            ["person_id", "campaign_id", "status", "tube_id", "last_sampled_at", "updated_at"],
            members,
        )
        .on_conflict_do_nothing(index_elements=["person_id", "campaign_id"])
    )
    session.execute(statement)


# --- Hand-offs to other domains ---------------------------------------------------------------


@dataclass(frozen=True)
class PositivePerson:
    person_id: int
    tube_outcome_id: int
    campaign_id: int | None
    result_at: datetime


def list_positive_persons(*, session: Session, since: datetime) -> list[PositivePerson]:
    """People whose single tube tested positive, reported at or after ``since`` (the case
    candidates that tracing turns into cases), oldest first."""
    rows = session.execute(
        select(TubeMember.person_id, TubeOutcome.id, TubeOutcome.campaign_id, TubeOutcome.result_at)
        .join(TubeMember, TubeMember.tube_id == TubeOutcome.tube_id)
        .where(
            TubeOutcome.result == LabResult.DETECTED.value,
            TubeOutcome.member_count == 1,
            TubeOutcome.result_at >= since,
        )
        .order_by(TubeOutcome.result_at, TubeOutcome.id)
    ).tuples()
    return [PositivePerson(*row) for row in rows]
