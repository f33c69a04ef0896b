"""Tables of the risk-areas domain: designations and the day-by-day facts they are judged on."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.db.base import AreaPath, Base


class RiskDesignation(Base):
    """A risk area: an area subtree, a compound, a building or one unit of a building, at a
    level, under the rule (pack id, version, rule id) that drew it or last changed it.

    ``area_path`` is the path of the area the target lies in, so jurisdiction scoping works for
    every kind of target. ``pending_level`` holds a change the rules proposed that needs an
    officer's confirmation (Zhuzhou: a district returns to normal after a risk assessment).
    """

    __tablename__ = "risk_designation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_kind: Mapped[str] = mapped_column(String(16))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compound.id"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"))
    unit: Mapped[int | None]
    name: Mapped[str] = mapped_column(String(200))
    area_path: Mapped[str] = mapped_column(AreaPath())
    scope: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))
    designated_level: Mapped[str] = mapped_column(String(16))
    level_since: Mapped[date]
    pending_level: Mapped[str | None] = mapped_column(String(16))
    controls: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime]
    pack_id: Mapped[str] = mapped_column(String(40))
    pack_version: Mapped[int]
    rule_id: Mapped[str | None] = mapped_column(String(80))
    explanation: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_risk_designation_area_path", "area_path"),
        Index("ix_risk_designation_status", "status"),
        Index("ix_risk_designation_compound", "compound_id"),
        Index("ix_risk_designation_building", "building_id"),
    )

    def snapshot(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "status": self.status,
            "pending_level": self.pending_level,
            "controls": list(self.controls),
        }


class RiskAreaDay(Base):
    """The facts of one local day in a designated area (one row per designation and day)."""

    __tablename__ = "risk_area_day"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    designation_id: Mapped[int] = mapped_column(ForeignKey("risk_designation.id"))
    day: Mapped[date]
    new_infections: Mapped[int]
    new_infections_isolated: Mapped[int]
    rounds: Mapped[int]
    negative_rounds: Mapped[int]
    open_cases: Mapped[int]
    recorded_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("designation_id", "day"),)
