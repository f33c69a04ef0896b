from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ResultUploadRead(BaseModel):
    """The outcome report of one uploaded result file (see docs/testing.md §4)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    format: str
    filename: str
    uploaded_at: datetime
    accepted_count: int
    stored_count: int
    duplicate_count: int
    unmatched_count: int
    rejected_count: int
    rejections: list[dict[str, Any]]
    summary: str | None


class ScanCreate(BaseModel):
    """One scan: the tube, and the person's registration code or (unreadable code) ID number."""

    tube_barcode: str = Field(min_length=1, max_length=40)
    code: str | None = Field(default=None, max_length=400)
    id_number: str | None = Field(default=None, max_length=40)
    member_ids: list[int] | None = Field(default=None, max_length=16)
    client_scan_id: str | None = Field(default=None, min_length=1, max_length=64)
    scanned_at: datetime | None = None


class ScannedPersonRead(BaseModel):
    person_id: int
    name_masked: str


class ScanRead(BaseModel):
    """The acknowledgement of a stored scan."""

    scan_id: int
    tube_barcode: str
    tube_status: str
    member_count: int
    pool_size: int
    people: list[ScannedPersonRead]
    flags: list[str]
    replayed: bool


class IntakeOutcomeRead(BaseModel):
    """What became of a scan sent to the intake: ``pending`` until the applier reached it, then
    ``applied`` (with the stored scan and its flags) or ``rejected`` (with the refusal)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    client_scan_id: str
    tube_barcode: str
    method: str
    people: int
    received_at: datetime
    outcome: str
    scan_id: int | None
    flags: list[str]
    error_code: str | None
    error_message: str | None
    applied_at: datetime | None
    people_masked: list[str]


class TubeOpen(BaseModel):
    barcode: str = Field(min_length=1, max_length=40)
    campaign_id: int
    site: str = Field(min_length=1, max_length=40, description="area code of the sampling site")
    pool_size: int | None = Field(default=None, ge=1, le=50)
    isolation_site: bool = Field(
        default=False, description="the site is a centralised isolation site (single tubes)"
    )


class TubeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    barcode: str
    campaign_id: int | None
    area_path: str
    pool_size: int
    member_count: int
    status: str


class AlertRead(BaseModel):
    """A positive tube announced to the community, testing group and police of its area."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    tube_id: int
    campaign_id: int | None
    area_path: str
    audiences: str
    member_count: int
    status: str
    rule_ref: str
    created_at: datetime
    acknowledged_at: datetime | None


class ResampleOrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    person_id: int
    campaign_id: int | None
    area_path: str
    reason: str
    status: str
    rule_ref: str
    created_at: datetime
    done_at: datetime | None


class CoverageRowRead(BaseModel):
    label: str
    area_code: str | None
    building_id: int | None
    required: int
    sampled: int
    sample_first: bool


class CoverageRead(BaseModel):
    campaign_id: int
    path: str
    total: CoverageRowRead
    rows: list[CoverageRowRead]
