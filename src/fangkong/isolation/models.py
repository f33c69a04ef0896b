"""Tables of the isolation domain: facilities (集中隔离点) and their rooms, isolation orders and
the tests taken under them, transfer tasks (转运) with their pick-up lists, and the daily
check-ins of people isolated or monitored at home."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.db.base import AreaPath, Base


class Facility(Base):
    """A centralised isolation facility, inside an area (for jurisdiction)."""

    __tablename__ = "isolation_facility"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    area_path: Mapped[str] = mapped_column(AreaPath())
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_isolation_facility_area_path", "area_path"),)


class Room(Base):
    """A room; ``occupancy`` only moves by conditional SQL increments, so two assignments can
    never overfill it."""

    __tablename__ = "isolation_room"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("isolation_facility.id"), index=True)
    label: Mapped[str] = mapped_column(String(40))
    capacity: Mapped[int]
    occupancy: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (UniqueConstraint("facility_id", "label"),)


class IsolationOrder(Base):
    """An order restricting one person: its category, current phase (``kind``), where, from
    when to when, and the rule (pack id, version, rule id) that set it."""

    __tablename__ = "isolation_order"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    area_path: Mapped[str] = mapped_column(AreaPath())
    category: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(24))
    phase_index: Mapped[int]
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("isolation_facility.id"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("isolation_room.id"), index=True)
    anchor_at: Mapped[datetime]
    phase_started_at: Mapped[datetime]
    planned_end_at: Mapped[datetime]  # end of the current phase
    status: Mapped[str] = mapped_column(String(16))
    pack_id: Mapped[str] = mapped_column(String(40))
    pack_version: Mapped[int]
    rule_id: Mapped[str] = mapped_column(String(80))
    home_reason: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_isolation_order_area_path", "area_path"),
        Index("ix_isolation_order_status_end", "status", "planned_end_at"),
        # the bed panel: orders in a room, and centralised orders still waiting for one
        Index("ix_isolation_order_status_room", "status", "room_id", "kind", "area_path"),
    )


class IsolationTest(Base):
    """A test taken under an order, filed by phase and phase day (1 = first 24 hours)."""

    __tablename__ = "isolation_test"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("isolation_order.id"), index=True)
    phase_index: Mapped[int]
    day: Mapped[int]
    sampled_at: Mapped[datetime]
    result: Mapped[str] = mapped_column(String(16))
    ct: Mapped[float | None]
    recorded_at: Mapped[datetime]


class TransferTask(Base):
    """A transfer (转运): a vehicle and a team take the people of the pick-up list to a
    hospital, a shelter hospital (方舱) or an isolation facility before ``deadline_at``.
    ``deadline_rule`` names the setting that set the deadline. Check-in at the destination
    closes the task."""

    __tablename__ = "transfer_task"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    destination_kind: Mapped[str] = mapped_column(String(24))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("isolation_facility.id"))
    destination_name: Mapped[str] = mapped_column(String(160))
    area_path: Mapped[str] = mapped_column(AreaPath())
    vehicle: Mapped[str] = mapped_column(String(40))
    team: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16))
    deadline_at: Mapped[datetime]
    deadline_rule: Mapped[str] = mapped_column(String(80))
    dispatched_at: Mapped[datetime | None]
    picked_up_at: Mapped[datetime | None]
    checked_in_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]  # when the overdue job raised it on the dashboard
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_transfer_task_area_path", "area_path"),
        Index("ix_transfer_task_status_deadline", "status", "deadline_at"),
    )


class TransferStop(Base):
    """One person on a transfer's pick-up list, with the address to fetch them from."""

    __tablename__ = "transfer_stop"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("transfer_task.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("isolation_order.id"))
    address: Mapped[str] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("task_id", "person_id"),)


class HomeCheckIn(Base):
    """The daily check-in of a person under a home phase (temperature and symptoms), by the
    person or their grid worker; one per order and local day. ``flagged`` marks fever or
    symptoms for follow-up."""

    __tablename__ = "home_checkin"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("isolation_order.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    area_path: Mapped[str] = mapped_column(AreaPath())
    day: Mapped[date]
    temperature: Mapped[float]
    symptoms: Mapped[list[str]] = mapped_column(JSON)
    flagged: Mapped[bool]
    by_user_id: Mapped[int | None]
    by_role: Mapped[str] = mapped_column(String(32))
    checked_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("order_id", "day"),
        Index("ix_home_checkin_area_path_day", "area_path", "day"),
    )
