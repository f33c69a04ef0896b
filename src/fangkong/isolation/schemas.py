"""Typed views of the ``isolation.yaml`` section, the inputs and decisions of the pure rules,
and the shapes of the JSON API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from fangkong.isolation.enums import (
    Category,
    Clock,
    ContactKind,
    DestinationKind,
    FacilityStatus,
    PhaseKind,
    PlacementReason,
    ReleaseOutcome,
    SampleResult,
    Symptom,
    TransferKind,
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
    # False: test days already over when the order starts are not required (they could never
    # be sampled); True (no rule in the pack): every test day is required
    tests_before_order_required: bool = True
    tests_before_order_sources: tuple[str, ...] = ()

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
    # the phase's day 1 and the moment the order was made (None: every test day is required)
    phase_started_at: datetime | None = None
    order_started_at: datetime | None = None


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


@dataclass(frozen=True)
class ContactForIsolation:
    """A contact tracing hands over for isolation: who, which class, the last exposure (day 1
    counts from it), when the order is due, and tracing's reference (e.g. ``contact:123``)."""

    person_id: int
    kind: ContactKind
    last_exposure: datetime
    due_at: datetime
    source_ref: str


@dataclass(frozen=True)
class RefusedContact:
    person_id: int
    code: str
    message: str


@dataclass
class OrdersFromContacts:
    """What a batch of contacts became: new orders, people already under an active order
    (kept: one order per person), the orders among those moved to a later exposure, and
    refusals with their codes."""

    created: list[int]
    already_ordered: list[int]
    refused: list[RefusedContact]
    moved_to_later_exposure: list[int] = field(default_factory=list)


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


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: int
    kind: ContactKind
    last_exposure: datetime
    due_at: datetime
    source_ref: str = Field(min_length=1, max_length=80)


class ContactsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contacts: list[ContactIn] = Field(min_length=1, max_length=5000)


class RefusedRead(BaseModel):
    person_id: int
    code: str
    message: str


class ContactsResultRead(BaseModel):
    created: list[int]
    already_ordered: list[int]
    refused: list[RefusedRead]
    moved_to_later_exposure: list[int] = []


class StopIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: int
    order_id: int | None = None
    address: str | None = Field(default=None, max_length=200)


class TransferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: TransferKind
    destination_kind: DestinationKind
    facility_id: int | None = None
    destination_name: str | None = Field(default=None, max_length=160)
    vehicle: str = Field(min_length=1, max_length=40)
    team: str = Field(min_length=1, max_length=120)
    stops: list[StopIn] = Field(min_length=1, max_length=60)
    note: str | None = Field(default=None, max_length=500)


class StopRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    person_id: int
    order_id: int | None
    address: str


class TransferRead(BaseModel):
    id: int
    kind: str
    destination_kind: str
    facility_id: int | None
    destination_name: str
    area_path: str
    vehicle: str
    team: str
    status: str
    deadline_at: datetime
    deadline_rule: str
    dispatched_at: datetime | None
    picked_up_at: datetime | None
    checked_in_at: datetime | None
    is_overdue: bool
    stops: list[StopRead]


class CheckInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(ge=34, le=43, description="degrees Celsius")
    symptoms: list[Symptom] = Field(default_factory=list)


class CheckInRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_id: int
    person_id: int
    day: date
    temperature: float
    symptoms: list[str]
    flagged: bool
    by_role: str
    checked_at: datetime


class MissedCheckInRead(BaseModel):
    order_id: int
    person_id: int
    name: str
    area_path: str
    kind: str


class FacilityBedsRead(BaseModel):
    facility_id: int
    name: str
    status: str
    beds: int
    occupied: int
    free: int
    cleaning: int
    reserve: int


class BedDayRead(BaseModel):
    day: date
    staying: int
    arriving: int
    needed: int


class CapacityRead(BaseModel):
    facilities: list[FacilityBedsRead]
    forecast: list[BedDayRead]
    forecast_explanation: str
    reserve_short: bool
    reserve_explanation: str
