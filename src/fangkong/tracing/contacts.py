"""Contacts: listing them with their evidence, handing them to isolation, closing them."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.core.errors import Conflict, NotFound
from fangkong.core.scope import Actor, scope_to_jurisdiction
from fangkong.db.transitions import transition
from fangkong.tracing import events
from fangkong.tracing.enums import (
    ContactCategory,
    ContactStatus,
)
from fangkong.tracing.errors import TracingErrorCode
from fangkong.tracing.models import Contact, ContactEvidence, ContactLink


def contacts_of(*, session: Session, investigation_id: int) -> list[Contact]:
    """The contacts an investigation found (also those another investigation found first)."""
    return list(
        session.scalars(
            select(Contact)
            .join(ContactLink, ContactLink.contact_id == Contact.id)
            .where(ContactLink.investigation_id == investigation_id)
            .order_by(Contact.category, Contact.person_id)
        )
    )


def links_of(*, session: Session, contact_ids: Collection[int]) -> dict[int, list[ContactLink]]:
    """Which investigations found each contact, first finding first."""
    rows: dict[int, list[ContactLink]] = {contact_id: [] for contact_id in contact_ids}
    if not contact_ids:
        return rows
    for link in session.scalars(
        select(ContactLink)
        .where(ContactLink.contact_id.in_(list(contact_ids)))
        .order_by(ContactLink.contact_id, ContactLink.id)
    ):
        rows[link.contact_id].append(link)
    return rows


def evidence_of(
    *, session: Session, contact_ids: Collection[int]
) -> dict[int, list[ContactEvidence]]:
    rows: dict[int, list[ContactEvidence]] = {contact_id: [] for contact_id in contact_ids}
    if not contact_ids:
        return rows
    for row in session.scalars(
        select(ContactEvidence)
        .where(ContactEvidence.contact_id.in_(list(contact_ids)))
        .order_by(ContactEvidence.contact_id, ContactEvidence.at, ContactEvidence.id)
    ):
        rows[row.contact_id].append(row)
    return rows


def list_contacts(
    *,
    session: Session,
    actor: Actor,
    status: ContactStatus | None = None,
    category: ContactCategory | None = None,
    limit: int = 1000,
) -> list[Contact]:
    """Contacts living in ``actor``'s jurisdiction, earliest deadline first."""
    stmt = scope_to_jurisdiction(select(Contact), actor=actor, path_column=Contact.area_path)
    if status is not None:
        stmt = stmt.where(Contact.status == str(status))
    if category is not None:
        stmt = stmt.where(Contact.category == str(category))
    return list(session.scalars(stmt.order_by(Contact.due_at, Contact.id).limit(limit)))


def list_contacts_due_for_isolation(*, session: Session, actor: Actor) -> list[Contact]:
    """What the isolation domain picks up: identified contacts living in ``actor``'s
    jurisdiction, earliest deadline first. ``category`` is the isolation category to apply and
    ``last_exposure_at`` the clock's anchor."""
    return list_contacts(session=session, actor=actor, status=ContactStatus.IDENTIFIED)


def get_contact_or_raise(*, session: Session, actor: Actor, contact_id: int) -> Contact:
    stmt = scope_to_jurisdiction(
        select(Contact).where(Contact.id == contact_id), actor=actor, path_column=Contact.area_path
    )
    contact = session.scalars(stmt).one_or_none()
    if contact is None:
        raise NotFound(TracingErrorCode.CONTACT_NOT_FOUND, "no such contact", field="contact_id")
    return contact


def mark_handed_over(
    *, session: Session, actor: Actor, contact_id: int, isolation_ref: str | None = None
) -> Contact:
    """Isolation has taken the contact (``isolation_ref``: its order id, for instance). Only an
    identified contact can be handed over; twice is refused with ``contact.status_conflict``."""
    contact = get_contact_or_raise(session=session, actor=actor, contact_id=contact_id)
    before = events.contact_snapshot(contact)
    transition(
        session,
        contact,
        expect={"status": str(ContactStatus.IDENTIFIED)},
        conflict=Conflict(
            TracingErrorCode.CONTACT_STATUS_CONFLICT,
            f"the contact is {contact.status}, not identified",
            field="status",
        ),
        status=str(ContactStatus.HANDED_OVER),
        handed_over_at=clock.now(),
        handed_over_by_user_id=actor.user_id,
        isolation_ref=(isolation_ref or "").strip()[:80] or None,
    )
    events.recorded(
        session=session,
        actor=actor,
        action="tracing.contact.handed_over",
        subject_type="tracing_contact",
        subject_id=contact.id,
        before=before,
        after=events.contact_snapshot(contact),
        rule_ref=contact.rule_ref,
    )
    return contact


def close_contact(*, session: Session, actor: Actor, contact_id: int, reason: str) -> Contact:
    """Close a contact (isolation over, or judged not a contact after all)."""
    contact = get_contact_or_raise(session=session, actor=actor, contact_id=contact_id)
    current = ContactStatus(contact.status)
    if current is ContactStatus.CLOSED:
        raise Conflict(
            TracingErrorCode.CONTACT_STATUS_CONFLICT,
            "the contact is closed already",
            field="status",
        )
    before = events.contact_snapshot(contact)
    transition(
        session,
        contact,
        expect={"status": str(current)},
        conflict=Conflict(
            TracingErrorCode.CONTACT_STATUS_CONFLICT, "the contact changed meanwhile"
        ),
        status=str(ContactStatus.CLOSED),
        active_person_id=None,
        closed_reason=reason.strip()[:32] or "closed",
    )
    events.recorded(
        session=session,
        actor=actor,
        action="tracing.contact.closed",
        subject_type="tracing_contact",
        subject_id=contact.id,
        before=before,
        after=events.contact_snapshot(contact),
        reason=reason,
    )
    return contact
