"""Tables of the enterprise domain: enterprises and who acts for them, resumption applications
with their staff lists, daily on-site reports, passes and problem tickets."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.db.base import AreaPath, Base, BigIntId


class Enterprise(Base):
    """A registered enterprise, known by its unified social credit code (统一社会信用代码)."""

    __tablename__ = "enterprise"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    industry: Mapped[str] = mapped_column(String(60))
    # 规模以上工业企业: annual main-business revenue of 20 million yuan or more.
    is_above_scale: Mapped[bool] = mapped_column(Boolean)
    park: Mapped[str | None] = mapped_column(String(120))  # industrial park (园区)
    address: Mapped[str] = mapped_column(String(255))
    area_path: Mapped[str] = mapped_column(AreaPath(), index=True)
    contact_name: Mapped[str] = mapped_column(String(80))
    contact_phone: Mapped[str] = mapped_column(String(20))
    workplace_id: Mapped[int | None] = mapped_column(ForeignKey("workplace.id"))
    created_at: Mapped[datetime]


class EnterpriseAccount(Base):
    """A user who acts for an enterprise (its applications, reports, tickets)."""

    __tablename__ = "enterprise_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)

    __table_args__ = (UniqueConstraint("enterprise_id", "user_id"),)


class EnterpriseStaff(Base):
    """A resident who works for an enterprise."""

    __tablename__ = "enterprise_staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    post: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (UniqueConstraint("enterprise_id", "person_id"),)


class ResumptionApplication(Base):
    """An application to resume work (复工复产申请) and its prevention plan.

    ``status`` only moves by conditional UPDATE (see ``service``); ``revision`` counts the times
    the enterprise resubmitted after the bureau asked for changes.
    """

    __tablename__ = "resumption_application"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    status: Mapped[str] = mapped_column(String(24))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    is_closed_loop: Mapped[bool] = mapped_column(Boolean)  # 闭环生产
    is_point_to_point_commuting: Mapped[bool] = mapped_column(Boolean)  # 点对点通勤
    dormitory_beds: Mapped[int] = mapped_column(Integer)
    prevention_officer: Mapped[str] = mapped_column(String(80))  # 防疫专员
    prevention_officer_phone: Mapped[str] = mapped_column(String(20))
    emergency_plan: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    review_note: Mapped[str | None] = mapped_column(Text)
    liaison_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class ApplicationStaff(Base):
    """One person on an application's staff list: the only people a whitelist pass may name."""

    __tablename__ = "application_staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("resumption_application.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)

    __table_args__ = (UniqueConstraint("application_id", "person_id"),)


class DailyStaffReport(Base):
    """How many staff were on site on one day (one row per enterprise per day)."""

    __tablename__ = "daily_staff_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    report_date: Mapped[date]
    staff_on_site: Mapped[int]
    reported_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("enterprise_id", "report_date"),)


class EnterprisePass(Base):
    """A whitelist card (白名单卡) for a person or a freight-vehicle pass.

    The signed token printed on the pass carries only ``serial``; the checkpoint reads status
    and validity from this row at every scan, so a revocation takes effect at the next check.
    """

    __tablename__ = "enterprise_pass"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("resumption_application.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    plate: Mapped[str | None] = mapped_column(String(12))
    driver_name: Mapped[str | None] = mapped_column(String(80))
    route: Mapped[str] = mapped_column(Text)
    # Sites (whitelist) or loading points (freight) the holder may pass.
    sites: Mapped[list[Any]] = mapped_column(JSON)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(Text)


class ProblemTicket(Base):
    """A problem an enterprise reports, routed to the department that owns it."""

    __tablename__ = "problem_ticket"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    category: Mapped[str] = mapped_column(String(24))
    department: Mapped[str] = mapped_column(String(24))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime]
    due_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_problem_ticket_status_due", "status", "due_at"),)
