"""Cases: opening one (and its investigation), its course and reclassification, transmission
links to earlier cases, the line list, and the tracing section of the pack in force."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fangkong.core import audit, clock
from fangkong.core.errors import Conflict, FangkongError, NotFound
from fangkong.core.scope import Actor, scope_to_jurisdiction, within_path
from fangkong.db.transitions import transition
from fangkong.registry import service as registry_service
from fangkong.registry.models import Person
from fangkong.rulepacks.catalog import Catalog, load_catalog
from fangkong.tracing import events, linelist
from fangkong.tracing.contacts import evidence_of
from fangkong.tracing.enums import (
    CaseKind,
    CaseStatus,
    ContactBasis,
    ContactCategory,
    DetectionRoute,
    Severity,
)
from fangkong.tracing.errors import TracingErrorCode
from fangkong.tracing.investigations import open_investigation
from fangkong.tracing.models import (
    Case,
    Contact,
    ContactLink,
    TransmissionLink,
)
from fangkong.tracing.rules import (
    BASIS_STRENGTH,
    CLOCK_SKEW_ALLOWANCE,
    can_move,
    can_reclassify,
    link_confidence,
)
from fangkong.tracing.section import TRACING_SECTION, TracingSection

DEFAULT_SERIES = "cn"


@lru_cache(maxsize=1)
def tracing_catalog() -> Catalog:
    return load_catalog(schemas=[TRACING_SECTION])


def section_for(*, pack_id: str | None, version: int | None, now: datetime) -> TracingSection:
    """The tracing section of a pack, or of the national pack in force at ``now``."""
    packs = tracing_catalog()
    pack = (
        packs.in_force(series=DEFAULT_SERIES, at=now)
        if pack_id is None
        else packs.get(pack_id, version)
    )
    return pack.section(TRACING_SECTION)


def _aware(value: datetime | None, field_name: str) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise FangkongError(
            TracingErrorCode.CASE_TIME_NAIVE, f"{field_name} needs a time zone", field=field_name
        )
    return value


def active_case_of(*, session: Session, person_id: int) -> Case | None:
    return session.scalars(select(Case).where(Case.active_person_id == person_id)).one_or_none()


def create_case(
    *,
    session: Session,
    actor: Actor | None,
    person_id: int,
    kind: CaseKind,
    detection_route: DetectionRoute,
    reported_at: datetime | None = None,
    onset_date: date | None = None,
    sampled_at: datetime | None = None,
    severity: Severity | None = None,
    source_ref: str | None = None,
    lab_result_id: int | None = None,
    note: str | None = None,
    pack_id: str | None = None,
    rule_ref: str | None = None,
) -> Case:
    """Open a case and its investigation; the caller commits.

    Refused: an unknown person (or one outside ``actor``'s jurisdiction), a naive time, a date
    in the future, a severity on an asymptomatic infection, and a person who already has a live
    case (``case.person_already_case``). ``actor`` is None when the platform opens the case
    from a positive result; ``rule_ref`` then names why.
    """
    now = clock.now()
    person = registry_service.get_person(session=session, person_id=person_id)
    if person is None or (actor is not None and not _covers(actor, person.area_path)):
        raise NotFound(
            TracingErrorCode.CASE_UNKNOWN_PERSON, "no such person in your area", field="person_id"
        )
    reported = _aware(reported_at, "reported_at") or now
    sampled = _aware(sampled_at, "sampled_at")
    for field_name, moment in (("reported_at", reported), ("sampled_at", sampled)):
        if moment is not None and moment > now + CLOCK_SKEW_ALLOWANCE:
            raise FangkongError(
                TracingErrorCode.CASE_DATE_IN_FUTURE,
                f"{field_name} is in the future",
                field=field_name,
            )
    if onset_date is not None and onset_date > now.date():
        raise FangkongError(
            TracingErrorCode.CASE_DATE_IN_FUTURE, "onset_date is in the future", field="onset_date"
        )
    if severity is not None and kind is CaseKind.ASYMPTOMATIC:
        raise FangkongError(
            TracingErrorCode.CASE_SEVERITY_INVALID,
            "an asymptomatic infection has no clinical severity",
            field="severity",
        )
    existing = active_case_of(session=session, person_id=person_id)
    if existing is not None:
        raise Conflict(
            TracingErrorCode.CASE_PERSON_ALREADY_CASE,
            f"this person is already case {existing.id}",
            field="person_id",
        )
    case = Case(
        person_id=person_id,
        active_person_id=person_id,
        area_path=person.area_path,
        kind=str(kind),
        status=str(CaseStatus.REPORTED),
        severity=str(severity) if severity else None,
        detection_route=str(detection_route),
        onset_date=onset_date,
        sampled_at=sampled.astimezone(UTC) if sampled else None,
        reported_at=reported.astimezone(UTC),
        source_ref=source_ref,
        lab_result_id=lab_result_id,
        note=note,
        created_by_user_id=actor.user_id if actor else None,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(case)
            session.flush()
    except IntegrityError:
        # Another request opened a case for the same person between our check and our insert.
        raise Conflict(
            TracingErrorCode.CASE_PERSON_ALREADY_CASE,
            "this person is already a case",
            field="person_id",
        ) from None
    events.recorded(
        session=session,
        actor=actor,
        action="tracing.case.created",
        subject_type="tracing_case",
        subject_id=case.id,
        after=events.case_snapshot(case),
        rule_ref=rule_ref,
    )
    section = section_for(pack_id=pack_id, version=None, now=now)
    open_investigation(session=session, actor=actor, case=case, section=section, person=person)
    link_to_infectors(session=session, actor=actor, case=case)
    return case


def link_to_infectors(
    *, session: Session, actor: Actor | None, case: Case
) -> list[TransmissionLink]:
    """When a contact of earlier cases becomes a case, link each of those cases to it, with the
    strongest evidence of the contact as the link's basis."""
    found = list(
        session.execute(
            select(ContactLink, Contact)
            .join(Contact, Contact.id == ContactLink.contact_id)
            .where(
                Contact.person_id == case.person_id,
                ContactLink.case_id != case.id,
                # a finding withdrawn after the trajectory was corrected is no evidence
                ContactLink.status == "active",
                Contact.already_case_id.is_(None),
                or_(Contact.closed_reason.is_(None), Contact.closed_reason != "withdrawn"),
            )
            .order_by(ContactLink.id)
        ).tuples()
    )
    if not found:
        return []
    evidence = evidence_of(session=session, contact_ids={contact.id for _, contact in found})
    links = []
    seen: set[int] = set()
    for finding, contact in found:
        if finding.case_id in seen:
            continue
        seen.add(finding.case_id)
        rows = [row for row in evidence[contact.id] if row.case_id == finding.case_id]
        best = max(
            rows,
            key=lambda row: (BASIS_STRENGTH[ContactBasis(row.basis)], row.minutes or 0),
            default=None,
        )
        basis = ContactBasis(best.basis) if best else ContactBasis.VENUE
        link = TransmissionLink(
            infector_case_id=finding.case_id,
            infectee_case_id=case.id,
            contact_id=contact.id,
            area_path=case.area_path,
            basis=str(basis),
            confidence=link_confidence(basis, best.minutes if best else None),
            exposure_at=finding.last_exposure_at,
            created_at=clock.now(),
        )
        session.add(link)
        session.flush()
        events.recorded(
            session=session,
            actor=actor,
            action="tracing.link.created",
            subject_type="tracing_case",
            subject_id=case.id,
            after={
                "infector_case_id": link.infector_case_id,
                "basis": link.basis,
                "confidence": link.confidence,
            },
            rule_ref=finding.rule_ref,
        )
        links.append(link)
    return links


def _covers(actor: Actor, path: str) -> bool:
    return actor.covers_path(path)


def get_case_or_raise(*, session: Session, actor: Actor, case_id: int) -> Case:
    """A case inside ``actor``'s jurisdiction; outside it, the case does not exist for them."""
    stmt = scope_to_jurisdiction(
        select(Case).where(Case.id == case_id), actor=actor, path_column=Case.area_path
    )
    case = session.scalars(stmt).one_or_none()
    if case is None:
        raise NotFound(TracingErrorCode.CASE_NOT_FOUND, "no such case", field="case_id")
    return case


def list_cases(
    *,
    session: Session,
    actor: Actor,
    status: CaseStatus | None = None,
    kind: CaseKind | None = None,
    area_path: str | None = None,
    limit: int = 500,
) -> list[Case]:
    """Cases in ``actor``'s jurisdiction, newest first; ``area_path`` narrows to a district."""
    stmt = scope_to_jurisdiction(select(Case), actor=actor, path_column=Case.area_path)
    if status is not None:
        stmt = stmt.where(Case.status == str(status))
    if kind is not None:
        stmt = stmt.where(Case.kind == str(kind))
    if area_path is not None:
        stmt = stmt.where(within_path(Case.area_path, area_path))
    return list(
        session.scalars(stmt.order_by(Case.reported_at.desc(), Case.id.desc()).limit(limit))
    )


def advance_status(
    *,
    session: Session,
    actor: Actor,
    case_id: int,
    to: CaseStatus,
    reason: str | None = None,
) -> Case:
    """Move a case along its course (reported → transferred → hospital or shelter hospital →
    discharged; died; void). An impossible move is refused with ``case.status_transition``; a
    move raced by someone else with ``case.conflict``."""
    case = get_case_or_raise(session=session, actor=actor, case_id=case_id)
    current = CaseStatus(case.status)
    if not can_move(current, to):
        raise Conflict(
            TracingErrorCode.CASE_STATUS_TRANSITION,
            f"a case cannot go from {current} to {to}",
            field="status",
        )
    before = events.case_snapshot(case)
    values: dict[str, Any] = {"status": str(to)}
    if to is CaseStatus.VOID:
        values["active_person_id"] = None
    if to in (CaseStatus.DISCHARGED, CaseStatus.DIED):
        values["outcome_at"] = clock.now()
    transition(
        session,
        case,
        expect={"status": str(current)},
        conflict=Conflict(TracingErrorCode.CASE_CONFLICT, "the case changed meanwhile"),
        **values,
    )
    events.recorded(
        session=session,
        actor=actor,
        action="tracing.case.status_changed",
        subject_type="tracing_case",
        subject_id=case.id,
        before=before,
        after=events.case_snapshot(case),
        reason=reason,
    )
    return case


def reclassify(
    *,
    session: Session,
    actor: Actor,
    case_id: int,
    severity: Severity | None = None,
    reason: str | None = None,
) -> Case:
    """An asymptomatic infection becomes a confirmed case (订正); the moment is kept in
    ``reclassified_at`` because bulletins count these separately."""
    case = get_case_or_raise(session=session, actor=actor, case_id=case_id)
    if not can_reclassify(CaseKind(case.kind), CaseStatus(case.status)):
        raise Conflict(
            TracingErrorCode.CASE_RECLASSIFY_INVALID,
            "only a live asymptomatic infection can be reclassified as confirmed",
            field="kind",
        )
    before = events.case_snapshot(case)
    transition(
        session,
        case,
        expect={"kind": str(CaseKind.ASYMPTOMATIC), "status": case.status},
        conflict=Conflict(TracingErrorCode.CASE_CONFLICT, "the case changed meanwhile"),
        kind=str(CaseKind.CONFIRMED),
        severity=str(severity) if severity else None,
        reclassified_at=clock.now(),
    )
    events.recorded(
        session=session,
        actor=actor,
        action="tracing.case.reclassified",
        subject_type="tracing_case",
        subject_id=case.id,
        before=before,
        after=events.case_snapshot(case),
        reason=reason,
    )
    return case


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Export:
    content: bytes
    media_type: str
    filename: str


def export_line_list(
    *,
    session: Session,
    actor: Actor,
    fmt: str,
    status: CaseStatus | None = None,
    kind: CaseKind | None = None,
    area_path: str | None = None,
) -> Export:
    """The line list of the cases ``actor`` may see, as .xlsx or CSV; one audit event."""
    cases = list_cases(
        session=session, actor=actor, status=status, kind=kind, area_path=area_path, limit=100_000
    )
    people = (
        {
            person.id: person
            for person in session.scalars(
                select(Person).where(Person.id.in_([case.person_id for case in cases]))
            )
        }
        if cases
        else {}
    )
    counts: dict[tuple[int, str], int] = {}
    if cases:
        for case_id, category, number in session.execute(
            select(ContactLink.case_id, ContactLink.category, func.count(ContactLink.id))
            .where(
                ContactLink.case_id.in_([case.id for case in cases]),
                ContactLink.status == "active",
            )
            .group_by(ContactLink.case_id, ContactLink.category)
        ).tuples():
            counts[(case_id, category)] = number
    rows = [
        linelist.LineListRow(
            case_id=case.id,
            name=people[case.person_id].name if case.person_id in people else "",
            document_masked=people[case.person_id].id_number_masked
            if case.person_id in people
            else None,
            area_path=case.area_path,
            kind=case.kind,
            status=case.status,
            severity=case.severity,
            detection_route=case.detection_route,
            onset_date=case.onset_date,
            sampled_at=case.sampled_at,
            reported_at=case.reported_at,
            reclassified_at=case.reclassified_at,
            source_ref=case.source_ref,
            close_contacts=counts.get((case.id, str(ContactCategory.CLOSE_CONTACT)), 0),
            secondary_contacts=counts.get((case.id, str(ContactCategory.SECONDARY_CONTACT)), 0),
        )
        for case in sorted(cases, key=lambda case: case.id)
    ]
    audit.record(
        session=session,
        actor=actor,
        action="tracing.cases.exported",
        subject_type="tracing_case",
        subject_id="line_list",
        after={"rows": len(rows), "format": fmt},
    )
    stamp = clock.now().strftime("%Y%m%d")
    if fmt == "csv":
        return Export(linelist.write_csv(rows), "text/csv", f"病例一览表-{stamp}.csv")
    return Export(linelist.write_xlsx(rows), XLSX_MEDIA_TYPE, f"病例一览表-{stamp}.xlsx")


def links_in_scope(*, session: Session, actor: Actor) -> list[TransmissionLink]:
    """Transmission links whose infectee lives in ``actor``'s jurisdiction."""
    stmt = scope_to_jurisdiction(
        select(TransmissionLink), actor=actor, path_column=TransmissionLink.area_path
    )
    return list(session.scalars(stmt.order_by(TransmissionLink.id)))


def people_by_id(*, session: Session, ids: Collection[int]) -> dict[int, Person]:
    if not ids:
        return {}
    return {
        person.id: person
        for person in session.scalars(select(Person).where(Person.id.in_(list(ids))))
    }
