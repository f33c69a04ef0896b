"""Storing an investigation's contact findings: one live contact per person across
investigations, each finding a link with its own evidence, and merges that stay correct when
two investigations find the same person at the same moment."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import case as when
from sqlalchemy import delete, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fangkong.core.scope import Actor
from fangkong.tracing import events
from fangkong.tracing.enums import ContactCategory, ContactStatus
from fangkong.tracing.models import Case, Contact, ContactEvidence, ContactLink, Investigation
from fangkong.tracing.rules import ContactFinding
from fangkong.tracing.section import TracingSection

ACTIVE = "active"
WITHDRAWN = "withdrawn"
CLOSE = str(ContactCategory.CLOSE_CONTACT)


def live_contact_of(*, session: Session, person_id: int) -> Contact | None:
    return session.scalars(
        select(Contact).where(Contact.active_person_id == person_id)
    ).one_or_none()


def _insert_contact(session: Session, contact: Contact) -> bool:
    """Insert ``contact``; False when another investigation inserted the person's live contact
    first (the unique ``active_person_id``): the caller merges into that one instead."""
    try:
        with session.begin_nested():
            session.add(contact)
            session.flush()
    except IntegrityError:
        return False
    return True


def merge_finding(
    session: Session, contact: Contact, finding: ContactFinding, rule_ref: str, now: datetime
) -> None:
    """Fold one more investigation's finding into a live contact with one conditional UPDATE
    whose values are computed from the row as it is when the update runs: a close finding
    outranks a secondary one, the latest exposure and the earliest deadline win. Run by two
    investigations at once, both findings end up in the row whichever commits first."""
    exposure = literal(finding.last_exposure_at, Contact.__table__.c.last_exposure_at.type)
    due = literal(finding.due_at, Contact.__table__.c.due_at.type)
    values: dict[str, object] = {
        "last_exposure_at": when(
            (Contact.last_exposure_at < exposure, exposure), else_=Contact.last_exposure_at
        ),
        "due_at": when((Contact.due_at > due, due), else_=Contact.due_at),
        "updated_at": now,
    }
    if str(finding.category) == CLOSE:
        values["category"] = CLOSE
        values["rule_ref"] = when((Contact.category == CLOSE, Contact.rule_ref), else_=rule_ref)
        values["via_contact_person_id"] = when(
            (Contact.category == CLOSE, Contact.via_contact_person_id), else_=None
        )
    session.execute(
        update(Contact)
        .where(Contact.id == contact.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(contact)


def recompute(session: Session, contact: Contact, now: datetime) -> list[ContactLink]:
    """Set a contact's category, rule, exposure and deadline from its live links (after one
    was withdrawn); returns those links."""
    links = list(
        session.scalars(
            select(ContactLink).where(
                ContactLink.contact_id == contact.id, ContactLink.status == ACTIVE
            )
        )
    )
    if links:
        strongest = min(
            links, key=lambda link: (link.category != CLOSE, -link.last_exposure_at.timestamp())
        )
        contact.category = strongest.category
        contact.rule_ref = strongest.rule_ref
        contact.via_contact_person_id = strongest.via_contact_person_id
        contact.last_exposure_at = max(link.last_exposure_at for link in links)
        contact.due_at = min(link.due_at for link in links)
        contact.updated_at = now
    return links


def _evidence(contact: Contact, case: Case, finding: ContactFinding) -> list[ContactEvidence]:
    return [
        ContactEvidence(
            contact_id=contact.id,
            case_id=case.id,
            basis=str(item.basis),
            venue_id=item.venue_id,
            household_id=item.household_id,
            workplace_id=item.workplace_id,
            via_person_id=item.via_person_id,
            journey_id=item.journey_id,
            detail=item.detail,
            at=item.at,
            minutes=item.minutes,
        )
        for item in finding.evidence
    ]


def store_findings(
    *,
    session: Session,
    actor: Actor | None,
    investigation: Investigation,
    case: Case,
    section: TracingSection,
    findings: Mapping[int, ContactFinding],
    paths: Mapping[int, str],
    cases: Mapping[int | None, int],
    now: datetime,
) -> None:
    """Store what one run of contact finding found (see :func:`actions.find_contacts`)."""
    linked = {
        contact.person_id: (contact, link)
        for link, contact in session.execute(
            select(ContactLink, Contact)
            .join(Contact, Contact.id == ContactLink.contact_id)
            .where(ContactLink.investigation_id == investigation.id)
        ).tuples()
    }
    for person_id, finding in sorted(findings.items()):
        rule_ref = section.rule_ref(finding.rule_id)
        if person_id in linked:
            known, link = linked[person_id]
            if known.status == str(ContactStatus.IDENTIFIED):
                _refresh(session, actor, known, link, case, finding, rule_ref, now)
            continue  # handed over or closed: left as it is
        already = cases.get(person_id)
        contact = None if already else live_contact_of(session=session, person_id=person_id)
        if contact is None:
            fresh = Contact(
                investigation_id=investigation.id,
                case_id=case.id,
                person_id=person_id,
                active_person_id=None if already else person_id,
                area_path=paths[person_id],
                category=str(finding.category),
                status=str(ContactStatus.CLOSED if already else ContactStatus.IDENTIFIED),
                closed_reason="already_case" if already else None,
                already_case_id=already,
                rule_ref=rule_ref,
                last_exposure_at=finding.last_exposure_at,
                due_at=finding.due_at,
                via_contact_person_id=finding.via_person_id,
                identified_at=now,
                updated_at=now,
            )
            if _insert_contact(session, fresh):
                contact = fresh
                events.recorded(
                    session=session,
                    actor=actor,
                    action="tracing.contact.identified",
                    subject_type="tracing_contact",
                    subject_id=contact.id,
                    after=events.contact_snapshot(contact),
                    rule_ref=rule_ref,
                )
            else:
                contact = live_contact_of(session=session, person_id=person_id)
                assert contact is not None
                _merge(session, actor, contact, investigation, finding, rule_ref, now)
        else:
            _merge(session, actor, contact, investigation, finding, rule_ref, now)
        session.add(
            ContactLink(
                contact_id=contact.id,
                investigation_id=investigation.id,
                case_id=case.id,
                category=str(finding.category),
                rule_ref=rule_ref,
                status=ACTIVE,
                last_exposure_at=finding.last_exposure_at,
                due_at=finding.due_at,
                via_contact_person_id=finding.via_person_id,
                identified_at=now,
                updated_at=now,
            )
        )
        session.add_all(_evidence(contact, case, finding))
    for person_id, (known, link) in linked.items():
        if (
            person_id not in findings
            and link.status == ACTIVE
            and known.status == str(ContactStatus.IDENTIFIED)
        ):
            _withdraw(session, actor, known, link, now)
    session.flush()


def _merge(
    session: Session,
    actor: Actor | None,
    contact: Contact,
    investigation: Investigation,
    finding: ContactFinding,
    rule_ref: str,
    now: datetime,
) -> None:
    before = events.contact_snapshot(contact)
    previous = contact.last_exposure_at
    merge_finding(session, contact, finding, rule_ref, now)
    if contact.status == str(ContactStatus.HANDED_OVER) and contact.last_exposure_at > previous:
        # Exposed again after isolation took them: back to the isolation queue, which moves
        # the person's order to the later exposure rather than opening a second one.
        session.execute(
            update(Contact)
            .where(Contact.id == contact.id, Contact.status == str(ContactStatus.HANDED_OVER))
            .values(status=str(ContactStatus.IDENTIFIED), updated_at=now)
            .execution_options(synchronize_session=False)
        )
        session.refresh(contact)
    events.recorded(
        session=session,
        actor=actor,
        action="tracing.contact.merged",
        subject_type="tracing_contact",
        subject_id=contact.id,
        before=before,
        after={**events.contact_snapshot(contact), "investigation_id": investigation.id},
        rule_ref=rule_ref,
    )


def _refresh(
    session: Session,
    actor: Actor | None,
    contact: Contact,
    link: ContactLink,
    case: Case,
    finding: ContactFinding,
    rule_ref: str,
    now: datetime,
) -> None:
    """The same investigation found the person again: its link and evidence are replaced."""
    before = events.contact_snapshot(contact)
    link.category = str(finding.category)
    link.rule_ref = rule_ref
    link.status = ACTIVE
    link.last_exposure_at = finding.last_exposure_at
    link.due_at = finding.due_at
    link.via_contact_person_id = finding.via_person_id
    link.updated_at = now
    session.execute(
        delete(ContactEvidence).where(
            ContactEvidence.contact_id == contact.id, ContactEvidence.case_id == case.id
        )
    )
    session.flush()
    recompute(session, contact, now)
    session.add_all(_evidence(contact, case, finding))
    if before != events.contact_snapshot(contact):
        events.recorded(
            session=session,
            actor=actor,
            action="tracing.contact.reclassified",
            subject_type="tracing_contact",
            subject_id=contact.id,
            before=before,
            after=events.contact_snapshot(contact),
            rule_ref=rule_ref,
        )


def _withdraw(
    session: Session, actor: Actor | None, contact: Contact, link: ContactLink, now: datetime
) -> None:
    """This investigation no longer finds the person: its link is withdrawn, and the contact
    closed when no other investigation still finds them."""
    before = events.contact_snapshot(contact)
    link.status = WITHDRAWN
    link.updated_at = now
    session.flush()
    if recompute(session, contact, now):
        action = "tracing.contact.link_withdrawn"
    else:
        action = "tracing.contact.withdrawn"
        contact.status = str(ContactStatus.CLOSED)
        contact.closed_reason = "withdrawn"
        contact.active_person_id = None
        contact.updated_at = now
    events.recorded(
        session=session,
        actor=actor,
        action=action,
        subject_type="tracing_contact",
        subject_id=contact.id,
        before=before,
        after={**events.contact_snapshot(contact), "investigation_id": link.investigation_id},
        rule_ref=contact.rule_ref,
    )
