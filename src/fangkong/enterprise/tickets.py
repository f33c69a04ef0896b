"""Problem tickets: an enterprise reports a problem, it is routed to the owning department with
a deadline, climbs a level for every day it stays overdue, and is closed with a resolution."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.core import audit, clock
from fangkong.core.errors import Conflict, FangkongError, NotFound
from fangkong.core.scope import Actor, scope_to_jurisdiction
from fangkong.enterprise import events, rules
from fangkong.enterprise.enums import TicketStatus
from fangkong.enterprise.errors import EnterpriseErrorCode as E
from fangkong.enterprise.models import Enterprise, ProblemTicket
from fangkong.enterprise.schemas import OpenTicketSummary, TicketCreate
from fangkong.enterprise.service import get_for_actor

ESCALATION_RULE = "fangkong.enterprise.rules.escalation_level"
UNRESOLVED = (TicketStatus.OPEN, TicketStatus.ESCALATED)


def open_ticket(*, session: Session, actor: Actor, ticket_in: TicketCreate) -> ProblemTicket:
    get_for_actor(session=session, actor=actor, enterprise_id=ticket_in.enterprise_id)
    now = clock.now()
    ticket = ProblemTicket(
        enterprise_id=ticket_in.enterprise_id,
        category=ticket_in.category,
        department=rules.TICKET_OWNERS[ticket_in.category],
        description=ticket_in.description,
        status=TicketStatus.OPEN,
        escalation_level=0,
        opened_at=now,
        due_at=rules.ticket_due_at(category=ticket_in.category, opened_at=now),
    )
    session.add(ticket)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action=events.TICKET_OPENED,
        subject_type=events.SUBJECT_TICKET,
        subject_id=ticket.id,
        after={"department": ticket.department, "due_at": ticket.due_at.isoformat()},
    )
    return ticket


def escalate_overdue(*, session: Session, now: datetime) -> int:
    """Raise the level of every unresolved ticket past its deadline (the scheduler calls this
    with ``now``). Idempotent: calling it twice at the same moment escalates nothing more.
    Returns how many tickets moved."""
    candidates = session.execute(
        select(ProblemTicket.id, ProblemTicket.escalation_level, ProblemTicket.due_at).where(
            ProblemTicket.status.in_(UNRESOLVED), ProblemTicket.due_at <= now
        )
    ).tuples()
    moved = 0
    for ticket_id, level, due_at in list(candidates):
        new_level = rules.escalation_level(due_at=due_at, now=now)
        if new_level <= level:
            continue
        result = session.execute(
            update(ProblemTicket)
            .where(
                ProblemTicket.id == ticket_id,
                ProblemTicket.escalation_level == level,
                ProblemTicket.status.in_(UNRESOLVED),
            )
            .values(escalation_level=new_level, status=TicketStatus.ESCALATED)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            continue  # closed or escalated by someone else meanwhile
        moved += 1
        audit.record(
            session=session,
            actor=None,
            action=events.TICKET_ESCALATED,
            subject_type=events.SUBJECT_TICKET,
            subject_id=ticket_id,
            before={"escalation_level": level},
            after={"escalation_level": new_level},
            rule_ref=ESCALATION_RULE,
            occurred_at=now,
        )
    return moved


def _get(session: Session, actor: Actor, ticket_id: int) -> ProblemTicket:
    ticket = session.get(ProblemTicket, ticket_id)
    if ticket is None:
        raise NotFound(E.TICKET_NOT_FOUND, "no such ticket", field="ticket_id")
    get_for_actor(session=session, actor=actor, enterprise_id=ticket.enterprise_id)
    return ticket


def close_ticket(
    *, session: Session, actor: Actor, ticket_id: int, resolution: str
) -> ProblemTicket:
    """Close a ticket with what was done about it (the bureau, for the owning department)."""
    actor.require(Permission.ENTERPRISE_REVIEW)
    ticket = _get(session, actor, ticket_id)
    if not resolution.strip():
        raise FangkongError(E.RESOLUTION_REQUIRED, "say how it was resolved", field="resolution")
    before = ticket.status
    result = session.execute(
        update(ProblemTicket)
        .where(ProblemTicket.id == ticket_id, ProblemTicket.status.in_(UNRESOLVED))
        .values(status=TicketStatus.CLOSED, closed_at=clock.now(), resolution=resolution.strip())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(E.TICKET_CLOSED, "the ticket is already closed")
    audit.record(
        session=session,
        actor=actor,
        action=events.TICKET_CLOSED,
        subject_type=events.SUBJECT_TICKET,
        subject_id=ticket_id,
        before={"status": before},
        after={"status": TicketStatus.CLOSED},
        reason=resolution.strip(),
    )
    session.refresh(ticket)
    return ticket


def list_tickets(*, session: Session, actor: Actor, enterprise_id: int) -> list[ProblemTicket]:
    get_for_actor(session=session, actor=actor, enterprise_id=enterprise_id)
    return list(
        session.scalars(
            select(ProblemTicket)
            .where(ProblemTicket.enterprise_id == enterprise_id)
            .order_by(ProblemTicket.id)
        )
    )


def open_summary(*, session: Session, actor: Actor, now: datetime) -> list[OpenTicketSummary]:
    """Unresolved tickets in the caller's jurisdiction by department and age bucket."""
    actor.require(Permission.ENTERPRISE_REVIEW)
    stmt = (
        select(ProblemTicket.department, ProblemTicket.opened_at)
        .join(Enterprise, Enterprise.id == ProblemTicket.enterprise_id)
        .where(ProblemTicket.status.in_(UNRESOLVED))
    )
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=Enterprise.area_path)
    counts: dict[tuple[str, str], int] = {}
    for department, opened_at in session.execute(stmt).tuples():
        key = (department, rules.age_bucket(opened_at=opened_at, now=now))
        counts[key] = counts.get(key, 0) + 1
    return [
        OpenTicketSummary(department=department, age=age, open_tickets=count)
        for (department, age), count in sorted(counts.items())
    ]


def queue(
    *, session: Session, actor: Actor, department: str | None = None
) -> list[tuple[ProblemTicket, str]]:
    """Unresolved tickets in the caller's jurisdiction (optionally one department's), with the
    enterprise's name, most escalated and then most overdue first."""
    actor.require(Permission.ENTERPRISE_REVIEW)
    stmt = (
        select(ProblemTicket, Enterprise.name)
        .join(Enterprise, Enterprise.id == ProblemTicket.enterprise_id)
        .where(ProblemTicket.status.in_(UNRESOLVED))
        .order_by(ProblemTicket.escalation_level.desc(), ProblemTicket.due_at, ProblemTicket.id)
        # Status and level move by bulk UPDATEs: read them fresh, not from the identity map.
        .execution_options(populate_existing=True)
    )
    if department:
        stmt = stmt.where(ProblemTicket.department == department)
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=Enterprise.area_path)
    return [(ticket, name) for ticket, name in session.execute(stmt).tuples()]
