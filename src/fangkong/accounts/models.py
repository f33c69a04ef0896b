from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.db.base import AreaPath, Base


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    # Area users: the root of their subtree. Residents: their own person and household.
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    jurisdiction_path: Mapped[str | None] = mapped_column(AreaPath())
    person_id: Mapped[int | None] = mapped_column(Integer)
    household_id: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class UserSession(Base):
    """A web login. Only the SHA-256 of the cookie value is stored."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_user_session_user", "user_id"),)


class ApiToken(Base):
    """A bearer token for machines (LIS integrations, handheld scanners). Stored hashed."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_api_token_user", "user_id"),)


class LoginFailure(Base):
    """Failed logins, counted per username in a sliding window to throttle guessing."""

    __tablename__ = "login_failure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    failed_at: Mapped[datetime]

    __table_args__ = (Index("ix_login_failure_username_failed_at", "username", "failed_at"),)
