"""Read models of the command centre: the figures of one area for one day, and the archive of
daily bulletins. Both are computed from the domain tables and may be recomputed at any time
(the same day computed twice gives the same rows)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Integer, Text, UniqueConstraint
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
