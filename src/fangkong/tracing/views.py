"""Tracing API: place scans, cases, investigations, contacts and the case line list."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.core import clock
from fangkong.core.scope import Actor
from fangkong.healthcode import jobs as healthcode_jobs
from fangkong.tracing import actions, selfcheck, service
from fangkong.tracing.enums import CaseKind, CaseStatus, ContactCategory, ContactStatus
from fangkong.tracing.models import Contact, Investigation
from fangkong.tracing.schemas import (
    CaseCreate,
    CaseRead,
    ContactRead,
    EntryCreate,
    EntryRead,
    EntryRemoval,
    EvidenceRead,
    HandOver,
    InvestigationRead,
    Reclassification,
    ScanBatchIn,
    ScanBatchRead,
    ScanRejectionRead,
    SelfCheckIn,
    SelfCheckMatchRead,
    SelfCheckRead,
    StatusChange,
)
from fangkong.web.deps import ActorDep, SessionDep, requires

router = APIRouter(prefix="/api/v1", tags=["tracing"])

ScanRecorder = Annotated[Actor, Depends(requires(Permission.TRACING_RECORD_SCANS))]
TracingViewer = Annotated[Actor, Depends(requires(Permission.TRACING_VIEW))]
Resident = Annotated[Actor, Depends(requires(Permission.SELF_SERVICE))]
Investigator = Annotated[Actor, Depends(requires(Permission.TRACING_INVESTIGATE))]
Format = Literal["xlsx", "csv"]


def _hand_over_party(actor: ActorDep) -> Actor:
    """Contacts are handed over by the isolation side or by the epidemiologist who found them."""
    if not actor.can(Permission.ISOLATION_MANAGE):
        actor.require(Permission.TRACING_INVESTIGATE)
    return actor


HandOverParty = Annotated[Actor, Depends(_hand_over_party)]


@router.post("/scans")
def record_scans(body: ScanBatchIn, session: SessionDep, actor: ScanRecorder) -> ScanBatchRead:
    """Store a batch of place scans (at most 1,000). Good records are stored, each bad one is
    reported with its position and code; the answer comes after the commit."""
    result = service.record_scans(session=session, scans=body.scans, actor=actor)
    session.commit()
    return ScanBatchRead(
        stored=result.stored,
        rejected=[
            ScanRejectionRead(
                index=problem.index,
                code=str(problem.code),
                field=problem.field,
                message=problem.message,
            )
            for problem in result.rejected
        ],
    )


def contacts_read(session: Session, contacts: list[Contact]) -> list[ContactRead]:
    evidence = service.evidence_of(session=session, contact_ids=[c.id for c in contacts])
    return [
        ContactRead.model_validate(contact).model_copy(
            update={"evidence": [EvidenceRead.model_validate(e) for e in evidence[contact.id]]}
        )
        for contact in contacts
    ]


def investigation_read(session: Session, investigation: Investigation) -> InvestigationRead:
    return InvestigationRead.model_validate(investigation).model_copy(
        update={
            "trajectory": [
                EntryRead.model_validate(entry)
                for entry in service.trajectory(session=session, investigation_id=investigation.id)
            ],
            "contacts": contacts_read(
                session, service.contacts_of(session=session, investigation_id=investigation.id)
            ),
        }
    )


@router.get("/cases")
def list_cases(
    session: SessionDep,
    actor: TracingViewer,
    status: CaseStatus | None = None,
    kind: CaseKind | None = None,
) -> list[CaseRead]:
    """Cases in your jurisdiction, newest first."""
    cases = service.list_cases(session=session, actor=actor, status=status, kind=kind)
    return [CaseRead.model_validate(case) for case in cases]


@router.post("/cases", status_code=201)
def create_case(body: CaseCreate, session: SessionDep, actor: Investigator) -> CaseRead:
    """Open a case by hand; its investigation opens with it. A person who is already a live
    case is refused with ``case.person_already_case``."""
    case = service.create_case(
        session=session,
        actor=actor,
        person_id=body.person_id,
        kind=body.kind,
        detection_route=body.detection_route,
        onset_date=body.onset_date,
        sampled_at=body.sampled_at,
        reported_at=body.reported_at,
        severity=body.severity,
        source_ref=body.source_ref,
        note=body.note,
    )
    session.commit()
    return CaseRead.model_validate(case)


@router.post("/cases/from-positive-results")
def cases_from_positive_results(session: SessionDep, actor: Investigator) -> list[CaseRead]:
    """Open a case for every single-person positive result in your jurisdiction that has none."""
    cases = actions.open_cases_from_positive_results(session=session, actor=actor)
    session.commit()
    return [CaseRead.model_validate(case) for case in cases]


@router.get("/cases/{case_id}")
def get_case(case_id: int, session: SessionDep, actor: TracingViewer) -> CaseRead:
    return CaseRead.model_validate(
        service.get_case_or_raise(session=session, actor=actor, case_id=case_id)
    )


@router.post("/cases/{case_id}/status")
def change_status(
    case_id: int, body: StatusChange, session: SessionDep, actor: Investigator
) -> CaseRead:
    case = service.advance_status(
        session=session, actor=actor, case_id=case_id, to=body.status, reason=body.reason
    )
    session.commit()
    return CaseRead.model_validate(case)


@router.post("/cases/{case_id}/reclassify")
def reclassify(
    case_id: int, body: Reclassification, session: SessionDep, actor: Investigator
) -> CaseRead:
    """Asymptomatic → confirmed (recorded with its time; bulletins count these)."""
    case = service.reclassify(
        session=session, actor=actor, case_id=case_id, severity=body.severity, reason=body.reason
    )
    session.commit()
    return CaseRead.model_validate(case)


@router.get("/cases/{case_id}/investigation")
def get_investigation(case_id: int, session: SessionDep, actor: TracingViewer) -> InvestigationRead:
    case = service.get_case_or_raise(session=session, actor=actor, case_id=case_id)
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None  # every case opens one
    return investigation_read(session, investigation)


@router.post("/investigations/{investigation_id}/entries", status_code=201)
def add_entry(
    investigation_id: int, body: EntryCreate, session: SessionDep, actor: Investigator
) -> EntryRead:
    entry = service.add_trajectory_entry(
        session=session,
        actor=actor,
        investigation_id=investigation_id,
        kind=body.kind,
        started_at=body.started_at,
        ended_at=body.ended_at,
        venue_id=body.venue_id,
        description=body.description,
        journey=body.journey.model_dump(mode="json") if body.journey else None,
    )
    session.commit()
    return EntryRead.model_validate(entry)


@router.post("/investigations/{investigation_id}/entries/{entry_id}/removal")
def remove_entry(
    investigation_id: int,
    entry_id: int,
    body: EntryRemoval,
    session: SessionDep,
    actor: Investigator,
) -> EntryRead:
    entry = service.set_entry_removed(
        session=session,
        actor=actor,
        investigation_id=investigation_id,
        entry_id=entry_id,
        removed=body.removed,
        reason=body.reason,
    )
    session.commit()
    return EntryRead.model_validate(entry)


@router.post("/investigations/{investigation_id}/confirm")
def confirm(investigation_id: int, session: SessionDep, actor: Investigator) -> InvestigationRead:
    """Confirm the trajectory and find the contacts from it (their health codes follow)."""
    started = clock.now()
    investigation, _ = actions.confirm_investigation(
        session=session, actor=actor, investigation_id=investigation_id
    )
    session.commit()
    healthcode_jobs.recompute_inline(session=session, since=started)
    return investigation_read(session, investigation)


@router.post("/investigations/{investigation_id}/find-contacts")
def find_contacts(
    investigation_id: int, session: SessionDep, actor: Investigator
) -> list[ContactRead]:
    contacts = actions.find_contacts(
        session=session, actor=actor, investigation_id=investigation_id
    )
    session.commit()
    return contacts_read(session, contacts)


@router.get("/contacts")
def list_contacts(
    session: SessionDep,
    actor: TracingViewer,
    status: ContactStatus | None = None,
    category: ContactCategory | None = None,
) -> list[ContactRead]:
    """Contacts living in your jurisdiction, earliest hand-over deadline first."""
    contacts = service.list_contacts(session=session, actor=actor, status=status, category=category)
    return contacts_read(session, contacts)


@router.get("/contacts/due-for-isolation")
def contacts_due_for_isolation(session: SessionDep, actor: HandOverParty) -> list[ContactRead]:
    """Identified contacts living in your area, earliest hand-over deadline first: what the
    isolation side picks up (``category`` is the isolation category, ``last_exposure_at`` the
    anchor of the isolation clock)."""
    contacts = service.list_contacts_due_for_isolation(session=session, actor=actor)
    return contacts_read(session, contacts)


@router.post("/contacts/{contact_id}/handed-over")
def handed_over(
    contact_id: int, body: HandOver, session: SessionDep, actor: HandOverParty
) -> ContactRead:
    contact = service.mark_handed_over(
        session=session, actor=actor, contact_id=contact_id, isolation_ref=body.isolation_ref
    )
    session.commit()
    return contacts_read(session, [contact])[0]


@router.get("/exports/cases")
def export_cases(
    session: SessionDep,
    actor: TracingViewer,
    format: Format = "xlsx",
    status: CaseStatus | None = None,
    kind: CaseKind | None = None,
) -> Response:
    """The case line list of your jurisdiction (.xlsx or CSV)."""
    export = service.export_line_list(
        session=session, actor=actor, fmt=format, status=status, kind=kind
    )
    session.commit()  # the export's audit event
    disposition = f'attachment; filename="cases.{format}"; '
    disposition += f"filename*=UTF-8''{quote(export.filename)}"
    return Response(
        export.content, media_type=export.media_type, headers={"content-disposition": disposition}
    )


def self_check_read(answer: selfcheck.SelfCheckAnswer) -> SelfCheckRead:
    return SelfCheckRead(
        overlap=answer.overlap,
        matches=[SelfCheckMatchRead(place=place, day=day) for place, day in answer.matches],
        advice=answer.advice,
        message=selfcheck.ADVICE_TEXT[answer.advice],
    )


@router.post("/tracing/self-check")
def self_check(
    body: SelfCheckIn, request: Request, session: SessionDep, actor: Resident
) -> SelfCheckRead:
    """A resident's self-check (自查) against confirmed case trajectories: their own scans of
    the last 14 days plus up to 5 places or areas they enter. 10 checks an hour per account,
    30 per address; a refusal (``selfcheck.throttled``, 429) stores nothing."""
    answer = selfcheck.self_check(
        session=session,
        actor=actor,
        venues=[selfcheck.VenueStay(v.venue_id, v.start, v.end) for v in body.venues],
        areas=[selfcheck.AreaDay(a.area_id, a.day) for a in body.areas],
        ip=request.client.host if request.client else None,
        now=clock.now(),
    )
    session.commit()
    return self_check_read(answer)
