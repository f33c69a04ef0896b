"""Stored health codes: the current code of each person and the history of its changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.db.base import Base, BigIntId


class HealthCode(Base):
    """A person's current code and the decision behind it.

    ``revision`` increases with every write, so a recompute updates a row only if nobody
    changed it since it was read (``WHERE person_id=:id AND revision=:seen``).
    """

    __tablename__ = "health_code"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    colour: Mapped[str] = mapped_column(String(24))
    rule_id: Mapped[str] = mapped_column(String(80))
    pack_id: Mapped[str] = mapped_column(String(60))
    pack_version: Mapped[int]
    reasons: Mapped[list[str]] = mapped_column(JSON)
    decided_at: Mapped[datetime]
    # When the same facts could give another answer; indexed for a scheduled recompute.
    valid_until: Mapped[datetime | None] = mapped_column(index=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)


class HealthCodeChange(Base):
    """One change of a person's code: old → new, the rule and pack version, and the fact that
    triggered the new rule (None when the new rule is the pack's default)."""

    __tablename__ = "health_code_change"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    changed_at: Mapped[datetime]
    old_colour: Mapped[str | None] = mapped_column(String(24))
    new_colour: Mapped[str] = mapped_column(String(24))
    old_rule_id: Mapped[str | None] = mapped_column(String(80))
    rule_id: Mapped[str] = mapped_column(String(80))
    pack_id: Mapped[str] = mapped_column(String(60))
    pack_version: Mapped[int]
    trigger_fact: Mapped[str | None] = mapped_column(String(40))
    reasons: Mapped[list[str]] = mapped_column(JSON)

    __table_args__ = (Index("ix_health_code_change_person", "person_id", "changed_at"),)
