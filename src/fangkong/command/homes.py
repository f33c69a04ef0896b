"""What each role sees first on ``/``: its work for today as a short list of counts with links.
Every count is one aggregate query scoped to the actor's jurisdiction (or to the actor's own
person, enterprise or volunteer record)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.command import service
from fangkong.command.enums import ListKind
from fangkong.core.scope import Actor, scope_to_jurisdiction
from fangkong.enterprise.enums import ApplicationStatus, TicketStatus
from fangkong.enterprise.models import (
    Enterprise,
    EnterpriseAccount,
    ProblemTicket,
    ResumptionApplication,
)
from fangkong.healthcode.models import HealthCode
from fangkong.isolation.enums import OrderStatus, PhaseKind, TransferStatus
from fangkong.isolation.models import HomeCheckIn, IsolationOrder, TransferTask
from fangkong.logistics.enums import TaskStatus
from fangkong.logistics.models import DeliveryTask, Volunteer
from fangkong.testing.enums import CampaignStatus
from fangkong.testing.models import Tube, TubeResult
from fangkong.testing.monitoring import list_campaigns
from fangkong.tracing.enums import ContactStatus, InvestigationStatus
from fangkong.tracing.models import Contact, Investigation

LIST_LABELS = {
    ListKind.TEST: "Should be tested, not yet",
    ListKind.ISOLATE: "Should be isolated, not yet",
    ListKind.ADMIT: "Should be admitted, not yet",
    ListKind.TREAT: "Under treatment",
}


@dataclass(frozen=True)
class HomeItem:
    key: str  # stable, for tests and styling
    label: str  # an English message id
    href: str
    count: int | None = None  # None: a link without a figure
    value: str | None = None  # a word instead of a count (a code colour, a status)


def _count(session: Session, stmt: Select[Any], actor: Actor, column: Any) -> int:
    scoped = scope_to_jurisdiction(stmt, actor=actor, path_column=column)
    return int(session.scalar(scoped) or 0)


def _list_total(session: Session, actor: Actor, kind: ListKind, now: datetime) -> int:
    return service.list_total(session=session, actor=actor, kind=kind, now=now)


def _lists(session: Session, actor: Actor, now: datetime) -> list[HomeItem]:
    return [
        HomeItem(
            f"list_{kind.value}",
            LIST_LABELS[kind],
            f"/command/lists/{kind.value}",
            _list_total(session, actor, kind, now),
        )
        for kind in ListKind
    ]


def _missed_checkins(session: Session, actor: Actor, today: Any) -> int:
    checked = (
        select(HomeCheckIn.id)
        .where(HomeCheckIn.order_id == IsolationOrder.id, HomeCheckIn.day == today)
        .exists()
    )
    stmt = select(func.count()).where(
        IsolationOrder.status == OrderStatus.ACTIVE.value,
        IsolationOrder.kind.in_([PhaseKind.HOME_ISOLATION.value, PhaseKind.HOME_MONITORING.value]),
        ~checked,
    )
    return _count(session, stmt, actor, IsolationOrder.area_path)


def _open_transfers(session: Session, actor: Actor, now: datetime, *, overdue: bool) -> int:
    stmt = select(func.count()).where(TransferTask.status != TransferStatus.CHECKED_IN.value)
    if overdue:
        stmt = stmt.where(TransferTask.deadline_at < now)
    return _count(session, stmt, actor, TransferTask.area_path)


def _open_rounds(session: Session, actor: Actor) -> int:
    return sum(
        1
        for c in list_campaigns(session=session, actor=actor)
        if c.status == CampaignStatus.OPEN.value
    )


def home_items(*, session: Session, actor: Actor, now: datetime, today: Any) -> list[HomeItem]:
    """The actor's work for today, by role (``today`` is the local date)."""
    role = actor.role
    if role in (Role.COMMAND_CENTRE, Role.DISTRICT_OFFICER):
        return [
            *_lists(session, actor, now),
            HomeItem("bulletins", "Daily bulletins", "/command/bulletins"),
            HomeItem("map", "Schematic map", "/command/map"),
            HomeItem("ledger", "Work ledger", "/command/ledger"),
        ]
    if role == Role.GRID_WORKER:
        return [
            HomeItem("my_grid", "My grid", "/my-grid"),
            HomeItem(
                "not_tested",
                LIST_LABELS[ListKind.TEST],
                "/my-grid",
                _list_total(session, actor, ListKind.TEST, now),
            ),
            HomeItem(
                "missed_checkins",
                "Check-ins missed today",
                "/isolation/checkins",
                _missed_checkins(session, actor, today),
            ),
        ]
    if role == Role.SAMPLER:
        return [
            HomeItem("open_rounds", "Open test rounds", "/sampling", _open_rounds(session, actor))
        ]
    if role == Role.LABORATORY:
        waiting = select(func.count()).where(
            Tube.sealed_at.is_not(None),
            ~select(TubeResult.id).where(TubeResult.tube_id == Tube.id).exists(),
        )
        return [
            HomeItem(
                "tubes_waiting",
                "Sealed tubes without a result",
                "/testing/results",
                _count(session, waiting, actor, Tube.area_path),
            )
        ]
    if role == Role.EPIDEMIOLOGIST:
        draft = select(func.count()).where(Investigation.status == InvestigationStatus.DRAFT.value)
        return [
            HomeItem(
                "open_investigations",
                "Open investigations",
                "/cases",
                _count(session, draft, actor, Investigation.area_path),
            ),
            HomeItem(
                "investigations_due",
                "Investigations past due",
                "/cases",
                _count(
                    session, draft.where(Investigation.due_at < now), actor, Investigation.area_path
                ),
            ),
        ]
    if role == Role.ISOLATION_MANAGER:
        due = select(func.count()).where(Contact.status == ContactStatus.IDENTIFIED.value)
        return [
            HomeItem(
                "due_contacts",
                "Contacts to isolate",
                "/isolation",
                _count(session, due, actor, Contact.area_path),
            ),
            HomeItem(
                "overdue_transfers",
                "Overdue transfers",
                "/isolation/transfers",
                _open_transfers(session, actor, now, overdue=True),
            ),
            HomeItem(
                "missed_checkins",
                "Check-ins missed today",
                "/isolation/checkins",
                _missed_checkins(session, actor, today),
            ),
        ]
    if role == Role.TRANSFER_TEAM:
        return [
            HomeItem(
                "open_transfers",
                "Open transfers",
                "/isolation/transfers",
                _open_transfers(session, actor, now, overdue=False),
            ),
            HomeItem(
                "overdue_transfers",
                "Overdue transfers",
                "/isolation/transfers",
                _open_transfers(session, actor, now, overdue=True),
            ),
        ]
    if role == Role.INDUSTRY_BUREAU:
        submitted = (
            select(func.count())
            .select_from(ResumptionApplication)
            .join(Enterprise, Enterprise.id == ResumptionApplication.enterprise_id)
            .where(ResumptionApplication.status == ApplicationStatus.SUBMITTED.value)
        )
        tickets = (
            select(func.count())
            .select_from(ProblemTicket)
            .where(ProblemTicket.status != TicketStatus.CLOSED.value)
        )
        return [
            HomeItem(
                "to_review",
                "Applications to review",
                "/enterprise/reviews",
                _count(session, submitted, actor, Enterprise.area_path),
            ),
            HomeItem(
                "open_tickets",
                "Open problem tickets",
                "/enterprise/tickets",
                int(session.scalar(tickets) or 0),
            ),
        ]
    if role == Role.ENTERPRISE:
        status = session.scalar(
            select(ResumptionApplication.status)
            .join(
                EnterpriseAccount,
                EnterpriseAccount.enterprise_id == ResumptionApplication.enterprise_id,
            )
            .where(EnterpriseAccount.user_id == actor.user_id)
            .order_by(ResumptionApplication.id.desc())
            .limit(1)
        )
        return [
            HomeItem(
                "application",
                "Resumption application",
                "/enterprise",
                value=f"status:{status}" if status else "No application yet",
            )
        ]
    if role == Role.VOLUNTEER:
        board = select(func.count()).where(DeliveryTask.status == TaskStatus.OPEN.value)
        mine = (
            select(func.count())
            .select_from(DeliveryTask)
            .join(Volunteer, Volunteer.id == DeliveryTask.volunteer_id)
            .where(
                Volunteer.user_id == actor.user_id, DeliveryTask.status == TaskStatus.CLAIMED.value
            )
        )
        return [
            HomeItem(
                "open_tasks",
                "Open tasks on the board",
                "/logistics/board",
                _count(session, board, actor, DeliveryTask.area_path),
            ),
            HomeItem(
                "my_tasks", "My claimed tasks", "/logistics/board", int(session.scalar(mine) or 0)
            ),
        ]
    if role == Role.CHECKPOINT:
        return [
            HomeItem("scan_code", "Code check", "/checkpoint"),
            HomeItem("scan_pass", "Pass check", "/enterprise/checkpoint"),
        ]
    if role == Role.RESIDENT:
        colour = (
            session.scalar(select(HealthCode.colour).where(HealthCode.person_id == actor.person_id))
            if actor.person_id
            else None
        )
        return [
            HomeItem("my_code", "My health code", "/my-code", value=f"colour:{colour or 'none'}"),
            HomeItem("checkin", "Daily check-in", "/isolation/checkin"),
            HomeItem("supplies", "Ask for supplies", "/logistics/requests"),
        ]
    if role == Role.ADMINISTRATOR:
        return [HomeItem("audit", "Audit log", "/audit")]
    return []
