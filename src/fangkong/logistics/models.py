"""Tables of the logistics domain: supply requests, delivery tasks and volunteers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.db.base import AreaPath, Base


class Volunteer(Base):
    """A registered volunteer (志愿者). ``minutes_worked`` is the sum of completed tasks."""

    __tablename__ = "volunteer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    skills: Mapped[list[Any]] = mapped_column(JSON)
    area_path: Mapped[str] = mapped_column(AreaPath(), index=True)
    availability: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    minutes_worked: Mapped[int] = mapped_column(Integer, default=0)
    registered_at: Mapped[datetime]


class DeliveryTask(Base):
    """One trip to one building carrying every open request of its households.

    Claiming (抢单) is a conditional UPDATE from ``open`` to ``claimed``: however many volunteers
    press the button at once, exactly one UPDATE matches the row.
    """

    __tablename__ = "delivery_task"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    area_path: Mapped[str] = mapped_column(AreaPath())
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int]
    created_at: Mapped[datetime]
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteer.id"), index=True)
    claimed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completion_note: Mapped[str | None] = mapped_column(Text)
    minutes_worked: Mapped[int | None]

    __table_args__ = (Index("ix_delivery_task_board", "status", "area_path"),)


class SupplyRequest(Base):
    """A household's request for food, medicine, formula or medical care.

    ``priority`` (higher first) and ``priority_reasons`` are set from the household's registry
    tags when the request is made, so the board explains why a request is ahead.
    """

    __tablename__ = "supply_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"))
    area_path: Mapped[str] = mapped_column(AreaPath())
    kind: Mapped[str] = mapped_column(String(16))
    medical_need: Mapped[str | None] = mapped_column(String(24))
    detail: Mapped[str] = mapped_column(Text)
    priority: Mapped[int]
    priority_reasons: Mapped[list[Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_task.id"), index=True)
    requested_by_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_supply_request_open", "status", "area_path"),)
