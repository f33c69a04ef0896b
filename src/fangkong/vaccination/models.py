"""Tables of the vaccination domain: one row per dose given."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.db.base import Base, BigIntId


class DoseRecord(Base):
    """A dose of a COVID-19 vaccine given to a person.

    ``product`` is the CVX code (see ``products.py``); ``(person_id, dose_number)`` is unique, so
    the same dose imported twice (from CSV and again from FHIR) is recognised, not doubled.
    """

    __tablename__ = "dose_record"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    product: Mapped[str] = mapped_column(String(8))
    dose_number: Mapped[int] = mapped_column(Integer)
    administered_on: Mapped[date]
    site: Mapped[str] = mapped_column(String(160))
    lot_number: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(8))
    recorded_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("person_id", "dose_number"),)
