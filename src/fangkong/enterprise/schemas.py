"""Request and response bodies of the enterprise API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fangkong.enterprise.enums import (
    HealthColour,
    StatisticsGrouping,
    TicketCategory,
)


class EnterpriseCreate(BaseModel):
    credit_code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=160)
    industry: str = Field(min_length=1, max_length=60)
    is_above_scale: bool
    park: str | None = Field(default=None, max_length=120)
    address: str = Field(min_length=1, max_length=255)
    area_code: str
    contact_name: str = Field(min_length=1, max_length=80)
    contact_phone: str = Field(min_length=5, max_length=20)


class EnterpriseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    credit_code: str
    name: str
    industry: str
    is_above_scale: bool
    park: str | None
    address: str
    area_path: str
    contact_name: str


class StaffLink(BaseModel):
    person_ids: list[int] = Field(min_length=1, max_length=20000)


class PlanFields(BaseModel):
    is_closed_loop: bool
    is_point_to_point_commuting: bool
    dormitory_beds: int = Field(ge=0)
    prevention_officer: str = Field(min_length=1, max_length=80)
    prevention_officer_phone: str = Field(min_length=5, max_length=20)
    emergency_plan: str = Field(min_length=1)
    staff_person_ids: list[int] = Field(max_length=20000)


class ApplicationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    enterprise_id: int
    status: str
    revision: int
    is_closed_loop: bool
    is_point_to_point_commuting: bool
    dormitory_beds: int
    prevention_officer: str
    submitted_at: datetime
    decided_at: datetime | None
    review_note: str | None
    liaison_user_id: int | None


class ReviewNote(BaseModel):
    note: str = ""


class LiaisonAssign(BaseModel):
    liaison_user_id: int


class DailyReportIn(BaseModel):
    report_date: date
    staff_on_site: int


class GroupStatistics(BaseModel):
    group: str
    enterprises: int
    resumed: int
    resumption_rate: float | None
    approved_staff: int
    staff_on_site: int
    on_duty_rate: float | None


class StatisticsQuery(BaseModel):
    grouping: StatisticsGrouping
    on: date


class WhitelistIssue(BaseModel):
    application_id: int
    person_ids: list[int] | None = None  # None: everyone on the approved staff list
    valid_from: AwareDatetime
    valid_until: AwareDatetime
    route: str = Field(min_length=1)
    sites: list[str] = Field(default_factory=list)


class FreightIssue(BaseModel):
    application_id: int
    plate: str
    driver_name: str = Field(min_length=1, max_length=80)
    route: str = Field(min_length=1)
    loading_points: list[str] = Field(min_length=1)
    valid_from: AwareDatetime
    valid_until: AwareDatetime


class IssuedPass(BaseModel):
    id: int
    serial: str
    kind: str
    person_id: int | None
    plate: str | None
    token: str


class PassRevoke(BaseModel):
    reason: str = ""


class CheckpointScan(BaseModel):
    token: str
    # Only for a freight pass: the colour of the driver's code as the checkpoint just read it
    # (drivers are often not residents of the city). A whitelist card's holder is a resident:
    # their colour is read from the health-code domain and this field is ignored.
    health_colour: HealthColour | None = None
    site: str | None = None


class CheckpointAnswer(BaseModel):
    """The pass and the holder's health code, side by side, and the decision."""

    is_admitted: bool
    code: str | None
    serial: str | None = None
    kind: str | None = None
    status: str | None = None
    enterprise_name: str | None = None
    holder_name: str | None = None
    holder_id_masked: str | None = None
    plate: str | None = None
    driver_name: str | None = None
    route: str | None = None
    sites: list[str] = Field(default_factory=list)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    health_colour: str | None = None
    # Where the colour came from: "healthcode" (the stored code) or "scanned" (freight driver).
    health_source: str | None = None
    health_rule_id: str | None = None
    health_pack: str | None = None


class TicketCreate(BaseModel):
    enterprise_id: int
    category: TicketCategory
    description: str = Field(min_length=1)


class TicketRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    enterprise_id: int
    category: str
    department: str
    status: str
    escalation_level: int
    opened_at: datetime
    due_at: datetime
    closed_at: datetime | None
    resolution: str | None


class TicketClose(BaseModel):
    resolution: str = ""


class OpenTicketSummary(BaseModel):
    department: str
    age: str
    open_tickets: int
