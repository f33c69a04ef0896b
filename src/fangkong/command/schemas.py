"""API shapes of the command centre."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class DayFigures(BaseModel):
    day: date
    figures: dict[str, int]


class DistrictFigures(BaseModel):
    area_path: str
    name: str
    figures: dict[str, int]


class OnsetDay(BaseModel):
    day: date
    confirmed: int
    asymptomatic: int


class RoundRead(BaseModel):
    campaign_id: int
    name: str
    required: int
    sampled: int


class PanelsRead(BaseModel):
    open_positive_pools: int
    results_last_day: int
    turnaround_p50_seconds: float | None
    turnaround_p90_seconds: float | None
    rounds: list[RoundRead]
    beds_total: int | None
    beds_free: int | None
    overdue_transfers: int
    codes: dict[str, int]
    residents: int
    vaccinated: int
    as_of: datetime | None


class DashboardRead(BaseModel):
    """Everything the dashboard page draws, for a wall screen or another client."""

    area_path: str
    series: list[DayFigures]
    districts: list[DistrictFigures]
    onset: list[OnsetDay]
    panels: PanelsRead
