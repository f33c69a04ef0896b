"""API shapes of the tracing domain."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fangkong.tracing.enums import CaseKind, CaseStatus, DetectionRoute, Severity, TrajectoryKind


class ScanBatchIn(BaseModel):
    """A batch of scans. Records are checked one by one (a bad record does not sink the batch),
    so each is taken as a plain object here: ``person_id``, ``venue_id``, ``scanned_at``
    (ISO 8601 with a zone) and optionally ``source`` (``app`` or ``import``)."""

    scans: list[Any] = Field(
        examples=[[{"person_id": 1, "venue_id": 7, "scanned_at": "2022-11-09T08:30:00+08:00"}]]
    )


class ScanRejectionRead(BaseModel):
    index: int
    code: str
    field: str | None
    message: str


class ScanBatchRead(BaseModel):
    """Sent only after the stored records are committed."""

    stored: int
    rejected: list[ScanRejectionRead]


class CaseCreate(BaseModel):
    """A case entered by hand (a fever clinic's report, a case from another city)."""

    person_id: int
    kind: CaseKind
    detection_route: DetectionRoute
    onset_date: date | None = None
    sampled_at: datetime | None = None
    reported_at: datetime | None = None
    severity: Severity | None = None
    source_ref: str | None = Field(default=None, max_length=120)
    note: str | None = Field(default=None, max_length=2000)


class CaseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    person_id: int
    area_path: str
    kind: str
    status: str
    severity: str | None
    detection_route: str
    onset_date: date | None
    sampled_at: datetime | None
    reported_at: datetime
    source_ref: str | None
    reclassified_at: datetime | None


class StatusChange(BaseModel):
    status: CaseStatus
    reason: str | None = Field(default=None, max_length=500)


class Reclassification(BaseModel):
    severity: Severity | None = None
    reason: str | None = Field(default=None, max_length=500)


class JourneyIn(BaseModel):
    """A journey the case reports; checked by :func:`fangkong.tracing.transport.check_journey`."""

    mode: str = Field(max_length=8)
    number: str = Field(max_length=24)
    service_date: date
    carriage: str | None = Field(default=None, max_length=8)
    seat: str | None = Field(default=None, max_length=8)
    boarded_at: datetime | None = None


class EntryCreate(BaseModel):
    kind: TrajectoryKind
    started_at: datetime | None = None  # a journey's defaults to its boarding, else its date
    ended_at: datetime | None = None
    venue_id: int | None = None
    description: str | None = Field(default=None, max_length=200)
    journey: JourneyIn | None = None


class EntryRemoval(BaseModel):
    removed: bool = True
    reason: str | None = Field(default=None, max_length=500)


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    source: str
    venue_id: int | None
    household_id: int | None
    workplace_id: int | None
    journey_id: int | None
    description: str | None
    started_at: datetime | None
    ended_at: datetime | None
    removed: bool


class EvidenceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    case_id: int
    basis: str
    venue_id: int | None
    household_id: int | None
    workplace_id: int | None
    via_person_id: int | None
    journey_id: int | None
    detail: str | None
    at: datetime
    minutes: int | None


class ContactRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int
    investigation_id: int
    person_id: int
    category: str
    status: str
    rule_ref: str
    last_exposure_at: datetime
    due_at: datetime
    already_case_id: int | None
    closed_reason: str | None
    isolation_ref: str | None
    evidence: list[EvidenceRead] = []


class InvestigationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int
    status: str
    window_start: datetime
    window_end: datetime
    due_at: datetime
    pack_id: str
    pack_version: int
    confirmed_at: datetime | None
    contacts_found_at: datetime | None
    trajectory: list[EntryRead] = []
    contacts: list[ContactRead] = []


class HandOver(BaseModel):
    isolation_ref: str | None = Field(default=None, max_length=80)


class SelfCheckVenueIn(BaseModel):
    """A place the resident went to, from the venue picker, with the time they were there."""

    venue_id: int
    start: datetime
    end: datetime


class SelfCheckAreaIn(BaseModel):
    """A district or street the resident went to, and the (local) day."""

    area_id: int
    day: date


class SelfCheckIn(BaseModel):
    """The caller's own scans of the last 14 days are always checked; the itinerary adds up
    to 5 places or areas they went to without scanning."""

    venues: list[SelfCheckVenueIn] = Field(default_factory=list, max_length=50)
    areas: list[SelfCheckAreaIn] = Field(default_factory=list, max_length=50)


class SelfCheckMatchRead(BaseModel):
    place: str
    day: date


class SelfCheckRead(BaseModel):
    """Only whether, where (the resident's own place or area) and which day; what to do."""

    overlap: bool
    matches: list[SelfCheckMatchRead]
    advice: str
    message: str
