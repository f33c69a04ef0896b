"""Daily home monitoring: check-ins of people isolated at home and the missed list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.config import get_settings
from fangkong.core import clock
from fangkong.core.errors import Conflict, CoreErrorCode, NotFound, PermissionDenied
from fangkong.core.scope import Actor, scope_to_jurisdiction
from fangkong.isolation import events
from fangkong.isolation.days import local_day, local_day_bounds
from fangkong.isolation.enums import OrderStatus, PhaseKind, Symptom
from fangkong.isolation.errors import IsolationErrorCode
from fangkong.isolation.models import HomeCheckIn, IsolationOrder
from fangkong.isolation.rules import HOME_KINDS, needs_follow_up
from fangkong.registry import service as registry_service


def require_checkin_role(actor: Actor) -> None:
    """Check-ins are recorded by residents (their own), grid workers and isolation managers."""
    if not (
        actor.can(Permission.SELF_SERVICE)
        or actor.can(Permission.REGISTRY_EDIT)
        or actor.can(Permission.ISOLATION_MANAGE)
    ):
        raise PermissionDenied(
            CoreErrorCode.PERMISSION_DENIED, f"your role ({actor.role}) does not record check-ins"
        )


def get_order_for_checkin(*, session: Session, actor: Actor, order_id: int) -> IsolationOrder:
    """The order a check-in is for: the resident's own or household's, or one inside the grid
    worker's or manager's jurisdiction."""
    require_checkin_role(actor)
    order = session.scalars(
        scope_to_jurisdiction(
            select(IsolationOrder).where(IsolationOrder.id == order_id),
            actor=actor,
            path_column=IsolationOrder.area_path,
            person_column=IsolationOrder.person_id,
            household_column=IsolationOrder.household_id,
        )
    ).one_or_none()
    if order is None:
        raise NotFound(
            IsolationErrorCode.ORDER_NOT_FOUND,
            f"no isolation order {order_id} you may check in for",
            field="order_id",
        )
    return order


def record_checkin(
    *,
    session: Session,
    actor: Actor,
    order_id: int,
    temperature: float,
    symptoms: Sequence[Symptom],
) -> HomeCheckIn:
    """Today's check-in of a person under a home phase; one per order and local day."""
    order = get_order_for_checkin(session=session, actor=actor, order_id=order_id)
    if order.status != OrderStatus.ACTIVE or PhaseKind(order.kind) not in HOME_KINDS:
        raise Conflict(
            IsolationErrorCode.NOT_AT_HOME,
            f"order {order.id} is {order.status} {order.kind}: no home check-in",
        )
    now = clock.now()
    day = local_day(now)
    exists = session.scalar(
        select(func.count())
        .select_from(HomeCheckIn)
        .where(HomeCheckIn.order_id == order.id, HomeCheckIn.day == day)
    )
    if exists:
        raise Conflict(
            IsolationErrorCode.CHECKIN_ALREADY_DONE,
            f"today's check-in ({day.isoformat()}) is already recorded",
        )
    names = sorted({str(symptom) for symptom in symptoms})
    checkin = HomeCheckIn(
        order_id=order.id,
        person_id=order.person_id,
        area_path=order.area_path,
        day=day,
        temperature=temperature,
        symptoms=names,
        flagged=needs_follow_up(
            temperature=temperature, symptoms=names, fever_at=get_settings().home_fever_celsius
        ),
        by_user_id=actor.user_id,
        by_role=actor.role,
        checked_at=now,
    )
    session.add(checkin)
    session.flush()
    events.recorded(
        session=session,
        actor=actor,
        action="isolation.checkin.recorded",
        subject_type="isolation_order",
        subject_id=order.id,
        after={
            "day": day.isoformat(),
            "temperature": temperature,
            "symptoms": names,
            "flagged": checkin.flagged,
        },
    )
    return checkin


def list_home_orders_of(*, session: Session, actor: Actor) -> list[IsolationOrder]:
    """Active home orders the actor may check in for: a resident's own and their household's,
    or those of a grid worker's or manager's jurisdiction."""
    require_checkin_role(actor)
    stmt = select(IsolationOrder).where(
        IsolationOrder.status == str(OrderStatus.ACTIVE),
        IsolationOrder.kind.in_([str(kind) for kind in HOME_KINDS]),
    )
    stmt = scope_to_jurisdiction(
        stmt,
        actor=actor,
        path_column=IsolationOrder.area_path,
        person_column=IsolationOrder.person_id,
        household_column=IsolationOrder.household_id,
    )
    return list(session.scalars(stmt.order_by(IsolationOrder.id)))


@dataclass(frozen=True)
class MissedCheckIn:
    order: IsolationOrder
    name: str


def list_missed_checkins(*, session: Session, actor: Actor, day: date) -> list[MissedCheckIn]:
    """People under a home phase that had begun by ``day`` with no check-in that day, by area
    path (grid) and name."""
    _, day_end = local_day_bounds(day)
    done = select(HomeCheckIn.id).where(
        HomeCheckIn.order_id == IsolationOrder.id, HomeCheckIn.day == day
    )
    stmt = select(IsolationOrder).where(
        IsolationOrder.status == str(OrderStatus.ACTIVE),
        IsolationOrder.kind.in_([str(kind) for kind in HOME_KINDS]),
        IsolationOrder.phase_started_at < day_end,
        ~done.exists(),
    )
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=IsolationOrder.area_path)
    missed = []
    for order in session.scalars(stmt.order_by(IsolationOrder.area_path, IsolationOrder.id)):
        person = registry_service.get_person(session=session, person_id=order.person_id)
        missed.append(MissedCheckIn(order, person.name if person else "?"))
    return missed


def list_checkins(
    *, session: Session, actor: Actor, day: date, flagged_only: bool = False
) -> list[HomeCheckIn]:
    stmt = select(HomeCheckIn).where(HomeCheckIn.day == day)
    if flagged_only:
        stmt = stmt.where(HomeCheckIn.flagged.is_(True))
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=HomeCheckIn.area_path)
    return list(session.scalars(stmt.order_by(HomeCheckIn.area_path, HomeCheckIn.id)))


def checkins_of_order(*, session: Session, order_id: int) -> list[HomeCheckIn]:
    return list(
        session.scalars(
            select(HomeCheckIn).where(HomeCheckIn.order_id == order_id).order_by(HomeCheckIn.day)
        )
    )
