"""Cases: intake from positive results, investigations, transfer to care."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from fangkong.core.scope import Actor
from fangkong.isolation import actions as isolation_actions
from fangkong.isolation import service as isolation_service
from fangkong.isolation.enums import (
    DestinationKind,
    TransferKind,
    TransferStatus,
)
from fangkong.isolation.schemas import StopIn
from fangkong.tracing import actions as tracing_actions
from fangkong.tracing import service as tracing_service
from fangkong.tracing.enums import CaseStatus, InvestigationStatus, Severity
from fangkong.tracing.models import Contact


@dataclass(frozen=True)
class Case:
    """A case the platform opened (a ``tracing_case`` row), as the drill follows it."""

    case_id: int
    person_id: int
    sampled_at: datetime


def open_cases(*, session: Session, since: datetime, pack_id: str) -> list[Case]:
    """The platform's case intake: a case (with its investigation, under the drill's pack) for
    every person with a single-person positive result stored from ``since`` on, through
    ``tracing.actions.open_cases_from_positive_results``."""
    opened = tracing_actions.open_cases_from_positive_results(
        session=session, actor=None, since=since, pack_id=pack_id
    )
    return [Case(c.id, c.person_id, c.sampled_at or c.reported_at) for c in opened]


def confirm_investigations(
    *, session: Session, epidemiologist: Actor, cases: Sequence[Case]
) -> list[Contact]:
    """The epidemiologist confirms each new case's investigation as the platform drafted it
    (trajectory from scans, home and workplace; nothing added): tracing finds and classifies the
    contacts under the pack. Returns the contact rows of these investigations."""
    found: list[Contact] = []
    for case in cases:
        investigation = tracing_service.investigation_of_case(session=session, case_id=case.case_id)
        if investigation is None or investigation.status != InvestigationStatus.DRAFT.value:
            continue
        _, contacts = tracing_actions.confirm_investigation(
            session=session, actor=epidemiologist, investigation_id=investigation.id
        )
        found.extend(contacts)
    return found


SHELTER_HOSPITAL = "株洲市方舱医院 (drill)"


def transfer_cases(
    *,
    session: Session,
    dispatcher: Actor,
    team: Actor,
    epidemiologist: Actor,
    cases: Sequence[Case],
) -> int | None:
    """The day's new cases go to the shelter hospital in one transfer: the isolation officer
    plans it, the transfer team dispatches, picks up and checks in, and the epidemiologist moves
    each case to ``transferred`` at pick-up and ``in_shelter_hospital`` at check-in. Returns the
    transfer's id (None without cases)."""
    if not cases:
        return None
    task = isolation_service.create_transfer(
        session=session,
        actor=dispatcher,
        kind=TransferKind.POSITIVE,
        destination_kind=DestinationKind.SHELTER_HOSPITAL,
        facility_id=None,
        destination_name=SHELTER_HOSPITAL,
        vehicle="drill ambulance",
        team="drill transfer team",
        stops=[StopIn(person_id=case.person_id) for case in cases],
    )
    steps = (
        (TransferStatus.DISPATCHED, None),
        (TransferStatus.PICKED_UP, CaseStatus.TRANSFERRED),
        (TransferStatus.CHECKED_IN, CaseStatus.IN_SHELTER_HOSPITAL),
    )
    for step, case_status in steps:
        isolation_actions.advance_transfer(
            session=session, actor=team, transfer_id=task.id, to=step
        )
        if case_status is None:
            continue
        for case in cases:
            tracing_service.advance_status(
                session=session,
                actor=epidemiologist,
                case_id=case.case_id,
                to=case_status,
                reason=f"transfer {task.id}",
            )
    return task.id


def record_care(
    *,
    session: Session,
    epidemiologist: Actor,
    case_id: int,
    severity: Severity | None,
    to: CaseStatus | None,
    reason: str,
) -> None:
    """The epidemiologist records what the hospital reports on a case: the reclassification of
    an asymptomatic infection as confirmed with its clinical type (``tracing.service.reclassify``)
    and a move along the case's course (``advance_status``: to the designated hospital,
    discharged, died)."""
    if severity is not None:
        tracing_service.reclassify(
            session=session, actor=epidemiologist, case_id=case_id, severity=severity, reason=reason
        )
    if to is not None:
        tracing_service.advance_status(
            session=session, actor=epidemiologist, case_id=case_id, to=to, reason=reason
        )
