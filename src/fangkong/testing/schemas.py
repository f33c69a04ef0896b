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
