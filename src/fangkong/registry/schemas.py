"""Shapes of registry data on the API (``*Create`` in, ``*Read`` out)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from fangkong.registry.enums import DocumentType, Sex


class AreaRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    level: str
    path: str


class AreaCreate(BaseModel):
    parent_code: str = Field(description="township code (community) or community code (grid)")
    code: str
    name: str


class CompoundCreate(BaseModel):
    community_code: str
    name: str
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class CompoundRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    community_id: int
    name: str
    area_path: str


class BuildingCreate(BaseModel):
    compound_id: int
    grid_code: str
    label: str
    units: int
    floors: int


class BuildingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    compound_id: int
    grid_id: int
    label: str
    units: int
    floors: int
    area_path: str


class HouseholdCreate(BaseModel):
    building_id: int
    unit: int
    floor: int
    room: str


class HouseholdRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    building_id: int
    unit: int
    floor: int
    room: str
    area_path: str


class PersonCreate(BaseModel):
    """A person to register. With a resident ID, sex and birth date come from the number (and
    must agree with it when given); a household or an area (community or grid) says where they
    live."""

    name: str
    document_type: DocumentType | None = None
    document_number: str | None = None
    phone: str | None = None
    sex: Sex | None = None
    birth_date: date | None = None
    household_id: int | None = None
    area_code: str | None = None
    address: str | None = Field(default=None, max_length=200)
    workplace_id: int | None = None
    tags: list[str] = Field(default_factory=list)


class PersonRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    sex: str | None
    birth_date: date | None
    document_type: str | None
    id_number_masked: str | None
    phone_masked: str | None
    household_id: int | None
    area_path: str
    address: str | None
    workplace_id: int | None
    tags: int
    status: str
    merged_into_id: int | None


class RegisteredPersonRead(BaseModel):
    person: PersonRead
    merge_proposal_ids: list[int]


class RevealRequest(BaseModel):
    reason: str = Field(description="why the full number is needed (kept in the audit log)")


class IdentityRead(BaseModel):
    person_id: int
    document_type: str | None
    id_number: str | None
    phone: str | None


class MergeProposalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    person_id: int
    candidate_id: int
    match_reason: str
    status: str
    proposed_at: datetime
    reviewer_user_id: int | None
    reviewed_at: datetime | None
    kept_person_id: int | None
    reason: str | None


class MergeReview(BaseModel):
    accept: bool
    keep_person_id: int | None = Field(
        default=None, description="which of the two persons survives (required to accept)"
    )
    reason: str


class RejectedRowRead(BaseModel):
    row: int
    code: str
    field: str | None
    message: str


class ImportReportRead(BaseModel):
    total_rows: int
    loaded: int
    households_created: int
    rejected: list[RejectedRowRead]
    merge_proposals: int
