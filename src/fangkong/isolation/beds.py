"""Beds: capacity per facility, the forecast of beds needed and the reserve warning."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, cast, func, select, true
from sqlalchemy.orm import Session

from fangkong.config import get_settings
from fangkong.core import audit, clock
from fangkong.core.scope import Actor, scope_to_jurisdiction, within_path
from fangkong.isolation.days import local_day, local_day_bounds
from fangkong.isolation.enums import Category, FacilityStatus, OrderStatus, PhaseKind
from fangkong.isolation.models import Facility, IsolationOrder, Room
from fangkong.isolation.orders import section_for
from fangkong.isolation.rules import (
    BedForecast,
    FacilityBeds,
    ReserveWarning,
    forecast_beds,
    reserve_warning,
)

TREND_DAYS = 3


def facility_beds(*, session: Session, actor: Actor, path: str | None = None) -> list[FacilityBeds]:
    """Every facility of the jurisdiction (inside ``path`` when given) with its beds and
    occupants."""
    stmt = (
        select(
            Facility.id,
            Facility.name,
            Facility.status,
            func.coalesce(func.sum(Room.capacity), 0),
            func.coalesce(func.sum(Room.occupancy), 0),
        )
        .outerjoin(Room, Room.facility_id == Facility.id)
        .group_by(Facility.id, Facility.name, Facility.status)
        .order_by(Facility.name, Facility.id)
    )
    if path is not None:
        stmt = stmt.where(within_path(Facility.area_path, path))
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=Facility.area_path)
    return [
        FacilityBeds(fid, name, FacilityStatus(status), int(beds), int(occupied))
        for fid, name, status, beds, occupied in session.execute(stmt)
    ]


def _stay_days(now: datetime) -> int:
    """How long a new close contact stays in a facility under the national pack in force."""
    rule = section_for(pack_id=None, version=None, now=now).rule_for(Category.CLOSE_CONTACT)
    if rule is None or rule.phases[0].kind is not PhaseKind.CENTRALISED:
        return 0
    return rule.phases[0].duration.days


def capacity_and_forecast(
    *, session: Session, actor: Actor, pending_contacts: int = 0, path: str | None = None
) -> tuple[list[FacilityBeds], BedForecast, ReserveWarning]:
    """Beds per facility, the forecast of beds needed, and the reserve warning.

    ``pending_contacts`` adds contacts tracing has found but not yet ordered. ``path`` narrows
    everything to one area inside the jurisdiction: its facilities, and the orders of people
    living there (the command dashboard filtered to a district)."""
    now = clock.now()
    settings = get_settings()
    today = local_day(now)
    beds = facility_beds(session=session, actor=actor, path=path)
    in_area = within_path(IsolationOrder.area_path, path) if path else true()
    in_rooms = scope_to_jurisdiction(
        select(IsolationOrder.planned_end_at).where(
            IsolationOrder.status == str(OrderStatus.ACTIVE),
            IsolationOrder.room_id.is_not(None),
            in_area,
        ),
        actor=actor,
        path_column=IsolationOrder.area_path,
    )
    occupied_until = [local_day(end) for end in session.scalars(in_rooms)]
    waiting = scope_to_jurisdiction(
        select(func.count())
        .select_from(IsolationOrder)
        .where(
            IsolationOrder.status == str(OrderStatus.ACTIVE),
            IsolationOrder.kind == str(PhaseKind.CENTRALISED),
            IsolationOrder.room_id.is_(None),
            in_area,
        ),
        actor=actor,
        path_column=IsolationOrder.area_path,
    )
    pending = int(session.scalar(waiting) or 0) + pending_contacts
    window_start, _ = local_day_bounds(today - timedelta(days=TREND_DAYS))
    today_start, _ = local_day_bounds(today)
    assigned = scope_to_jurisdiction(
        select(audit.AuditEvent.occurred_at)
        .join(
            IsolationOrder,
            audit.AuditEvent.subject_id == cast(IsolationOrder.id, String),
        )
        .where(
            audit.AuditEvent.subject_type == "isolation_order",
            audit.AuditEvent.action == "isolation.order.assigned",
            audit.AuditEvent.occurred_at >= window_start,
            audit.AuditEvent.occurred_at < today_start,
            in_area,
        ),
        actor=actor,
        path_column=IsolationOrder.area_path,
    )
    per_day = {today - timedelta(days=n): 0 for n in range(1, TREND_DAYS + 1)}
    for moment in session.scalars(assigned):
        day = local_day(moment)
        if day in per_day:
            per_day[day] += 1
    forecast = forecast_beds(
        occupied_until=occupied_until,
        pending=pending,
        recent_arrivals=[per_day[day] for day in sorted(per_day)],
        stay_days=_stay_days(now),
        today=today,
        days=settings.isolation_forecast_days,
    )
    warning = reserve_warning(
        facilities=beds, forecast=forecast, share=settings.isolation_reserve_share
    )
    return beds, forecast, warning
