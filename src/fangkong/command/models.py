"""Read models of the command centre: the figures of one area for one day, the archive of
daily bulletins, and the snapshot of the population-wide dashboard panels. All are computed from
the domain tables and may be recomputed at any time (the same day computed twice gives the same
rows)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.db.base import AreaPath, Base


class DailyFigures(Base):
    """One area's (the city's or one district's) figures for one day at the cut-off hour.

    ``new_*`` count what happened in the day (from the previous cut-off to this one);
    ``cumulative_*`` and the current counts are the state at the cut-off.
    """

    __tablename__ = "command_daily_figures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    area_path: Mapped[str] = mapped_column(AreaPath())
    day: Mapped[date]
    cutoff_at: Mapped[datetime]
    new_confirmed: Mapped[int]
    new_asymptomatic: Mapped[int]
    reclassified: Mapped[int]  # asymptomatic reclassified as confirmed this day
    new_cured: Mapped[int]
    new_deaths: Mapped[int]
    new_released: Mapped[int]  # asymptomatic released from medical observation
    cumulative_confirmed: Mapped[int]
    cumulative_asymptomatic: Mapped[int]  # ever reported as asymptomatic
    cumulative_reclassified: Mapped[int]
    cumulative_cured: Mapped[int]
    cumulative_deaths: Mapped[int]
    cumulative_released: Mapped[int]
    under_treatment: Mapped[int]
    under_observation: Mapped[int]
    tests: Mapped[int]
    cumulative_tests: Mapped[int]
    risk_areas_added: Mapped[int]
    risk_areas_lifted: Mapped[int]
    risk_areas_in_force: Mapped[int]
    centralised_isolation: Mapped[int]
    home_isolation: Mapped[int]
    computed_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("area_id", "day"),
        Index("ix_command_daily_figures_path_day", "area_path", "day"),
    )


class Bulletin(Base):
    """The daily bulletin (疫情通报) of one city for one day, in Chinese and English."""

    __tablename__ = "command_bulletin"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    area_path: Mapped[str] = mapped_column(AreaPath())
    day: Mapped[date]
    cutoff_at: Mapped[datetime]
    text_zh: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    generated_at: Mapped[datetime]
    generated_by_user_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("area_id", "day"),)


class AreaSnapshot(Base):
    """The population-wide panels of the city or one district at ``computed_at``: what the
    dashboard would otherwise count over every resident on each request (see snapshots.py)."""

    __tablename__ = "command_area_snapshot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), unique=True)
    area_path: Mapped[str] = mapped_column(AreaPath(), index=True)
    computed_at: Mapped[datetime]
    residents: Mapped[int]  # active
    vaccinated: Mapped[int]  # active residents with at least one dose
    code_green: Mapped[int]
    code_yellow: Mapped[int]
    code_red: Mapped[int]
    # [{"campaign_id", "name", "required", "sampled"}] for every open round over the area
    rounds: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # the isolation reserve warning of the area (the bed forecast reads every active order)
    reserve_short: Mapped[bool]
    reserve_explanation: Mapped[str] = mapped_column(Text)
