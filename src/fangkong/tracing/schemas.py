"""API shapes of the tracing domain."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


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
