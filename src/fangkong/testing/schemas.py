from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


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
