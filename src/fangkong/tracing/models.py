"""Place scans: one row each time a person's code is scanned at a venue's place code."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.db.base import Base, BigIntId


class PlaceScan(Base):
    """A person was at a venue at ``scanned_at`` (UTC, whole seconds).

    ``person_id`` and ``venue_id`` name registry rows but carry no foreign keys: this is the
    highest-volume table of the platform (a 4-million city writes ~7 million rows a day), every
    record is checked against the registry when it is received (:func:`service.record_scans`),
    and scans must outlive a later merge or removal of the person they name until retention
    deletes them.
    """

    __tablename__ = "place_scan"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    person_id: Mapped[int] = mapped_column(Integer)
    venue_id: Mapped[int] = mapped_column(Integer)
    scanned_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime]
    recorded_by_user_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        # Tracing: everyone at a venue within a time window (one index range per exposure).
        Index("ix_place_scan_venue_time", "venue_id", "scanned_at"),
        # Trajectories: where one person has been.
        Index("ix_place_scan_person_time", "person_id", "scanned_at"),
        # Retention deletes the oldest scans first.
        Index("ix_place_scan_scanned_at", "scanned_at"),
    )
