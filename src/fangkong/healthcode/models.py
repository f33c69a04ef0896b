"""Stored health codes: the current code of each person and the history of its changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.db.base import AreaPath, Base, BigIntId


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


class CodeOverride(Base):
    """A person's code set by hand for a while, with a reason, an expiry and who did it.

    ``status`` moves pending → active (second approver, needed from red to the clear state) or
    pending → refused; active → revoked. An active override past ``expires_at`` no longer
    applies: the engine ignores it and the code goes back to what the rules say.
    """

    __tablename__ = "health_code_override"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    area_path: Mapped[str] = mapped_column(AreaPath())
    colour: Mapped[str] = mapped_column(String(24))
    from_colour: Mapped[str | None] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    requested_by_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime]
    approved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("health_code_appeal.id"))
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_health_code_override_area_path", "area_path"),
        Index("ix_health_code_override_status", "status", "expires_at"),
    )


class CodeAppeal(Base):
    """A resident's appeal (申诉) against their code, and the reviewer's decision."""

    __tablename__ = "health_code_appeal"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    area_path: Mapped[str] = mapped_column(AreaPath())
    text: Mapped[str] = mapped_column(Text)
    colour: Mapped[str | None] = mapped_column(String(24))
    rule_id: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16))
    submitted_by_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime]
    due_at: Mapped[datetime]
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_health_code_appeal_area_path", "area_path"),
        Index("ix_health_code_appeal_status", "status", "due_at"),
    )
