"""Typed views of the ``isolation.yaml`` section, the inputs and decisions of the pure rules,
and the shapes of the JSON API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from fangkong.isolation.enums import (
    Category,
    Clock,
    FacilityStatus,
    PhaseKind,
    PlacementReason,
    ReleaseOutcome,
    SampleResult,
)


@dataclass(frozen=True)
class PhaseRule:
    """One phase of an order: where, how long, and on which days (1 = the first 24 hours of
    the phase) a test is required."""

    kind: PhaseKind
    duration: timedelta
    test_days: tuple[int, ...]
    release_ct_at_least: float | None  # a test this Ct or above counts as negative


@dataclass(frozen=True)
class CategoryRule:
    id: str
    category: Category
    clock: Clock
    phases: tuple[PhaseRule, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class IsolationSection:
    pack_id: str
    pack_version: int
    rules: tuple[CategoryRule, ...]
    unmovable_tags: frozenset[str]  # registry PersonTag names, lower case
    infant_under: timedelta | None

    def rule_for(self, category: Category) -> CategoryRule | None:
        return next((rule for rule in self.rules if rule.category is category), None)


@dataclass(frozen=True)
class PhasePlan:
    kind: PhaseKind
    starts_at: datetime
    ends_at: datetime
    test_days: tuple[int, ...]


@dataclass(frozen=True)
class OrderPlan:
    rule_id: str
    phases: tuple[PhasePlan, ...]

    @property
    def ends_at(self) -> datetime:
        return self.phases[-1].ends_at


@dataclass(frozen=True)
class TakenTest:
    day: int
    result: SampleResult
    ct: float | None = None


@dataclass(frozen=True)
class OrderFacts:
    """An active order as the release check sees it."""

    category: Category
    phase_index: int
    phase_ends_at: datetime
    tests: tuple[TakenTest, ...]


@dataclass(frozen=True)
class ReleaseDecision:
    outcome: ReleaseOutcome
    rule_id: str | None
    missing_days: tuple[int, ...]
    positive_days: tuple[int, ...]
    next_phase_index: int | None
    next_kind: PhaseKind | None
    explanation: str


@dataclass(frozen=True)
class PersonToPlace:
    person_id: int
    household_id: int | None
    tags: int
    birth_date: date | None


@dataclass(frozen=True)
class RoomSpace:
    room_id: int
    facility_id: int
    free: int


@dataclass(frozen=True)
class Placement:
    person_id: int
    household_id: int | None
    room_id: int | None
    facility_id: int | None
    reason: PlacementReason

    @property
    def is_home(self) -> bool:
        return self.room_id is None


# --- JSON API -------------------------------------------------------------------------------


class FacilityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=160)
    area_code: str
    status: FacilityStatus = FacilityStatus.RESERVE


class FacilityStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: FacilityStatus


class RoomCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=40)
    capacity: int = Field(ge=1, le=20)


class FacilityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    area_path: str
    status: str


class RoomRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    facility_id: int
    label: str
    capacity: int
    occupancy: int


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: int
    category: Category
    last_exposure_at: datetime


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    room_id: int


class TestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sampled_at: datetime
    result: SampleResult
    ct: float | None = Field(default=None, ge=0, le=50)


class ExtendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_end_at: datetime
    reason: str = Field(min_length=1, max_length=500)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    person_id: int
    category: str
    kind: str
    phase_index: int
    facility_id: int | None
    room_id: int | None
    anchor_at: datetime
    phase_started_at: datetime
    planned_end_at: datetime
    status: str
    pack_id: str
    pack_version: int
    rule_id: str
    home_reason: str | None


class ReleaseRead(BaseModel):
    order: OrderRead
    outcome: ReleaseOutcome
    explanation: str


class PlacementsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_ids: list[int] = Field(min_length=1, max_length=500)


class PlacementRead(BaseModel):
    person_id: int
    household_id: int | None
    facility_id: int | None
    room_id: int | None
    reason: PlacementReason
