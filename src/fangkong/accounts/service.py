"""Users, logins, sessions and API tokens.

Every function is keyword-only and takes the session first. Mutations add an audit event to the
same session, so the change and its record commit together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from fangkong.accounts import rules
from fangkong.accounts.enums import JurisdictionKind, Role
from fangkong.accounts.errors import AccountsErrorCode
from fangkong.accounts.models import ApiToken, LoginFailure, User, UserSession
from fangkong.accounts.security import MIN_PASSWORD_LENGTH, hash_password, verify_password
from fangkong.core import audit, clock
from fangkong.core.errors import (
    AuthenticationFailed,
    Conflict,
    CoreErrorCode,
    FangkongError,
    NotFound,
    PermissionDenied,
)
from fangkong.core.ids import new_token, token_digest
from fangkong.core.scope import Actor
from fangkong.registry import service as registry_service

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")


def actor_for(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        role=user.role,
        permissions=rules.permissions_for(Role(user.role)),
        jurisdiction_path=user.jurisdiction_path,
        person_id=user.person_id,
        household_id=user.household_id,
    )


def get(*, session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_by_username(*, session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def create_user(
    *,
    session: Session,
    actor: Actor | None,
    username: str,
    password: str,
    role: Role,
    display_name: str,
    area_code: str | None = None,
    person_id: int | None = None,
    household_id: int | None = None,
) -> User:
    """Create a user. ``actor`` is None only for the command line (the machine's operator);
    an administrator acting in the web can only create users inside their own jurisdiction."""
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise FangkongError(
            AccountsErrorCode.USERNAME_INVALID,
            "usernames are 3–64 characters: lower-case letters, digits, '_', '.', '-'",
            field="username",
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise FangkongError(
            AccountsErrorCode.PASSWORD_TOO_SHORT,
            f"passwords need at least {MIN_PASSWORD_LENGTH} characters",
            field="password",
        )
    if get_by_username(session=session, username=username) is not None:
        raise Conflict(AccountsErrorCode.USERNAME_TAKEN, "that username exists", field="username")
    area_id, path = None, None
    if rules.jurisdiction_kind(role) is JurisdictionKind.AREA:
        if not area_code:
            raise FangkongError(
                AccountsErrorCode.JURISDICTION_REQUIRED,
                f"a {role} user needs an area (jurisdiction)",
                field="area_code",
            )
        area = registry_service.get_by_code_or_raise(session=session, code=area_code)
        area_id, path = area.id, area.path
        if actor is not None and not actor.covers_path(path):
            raise PermissionDenied(
                AccountsErrorCode.JURISDICTION_OUTSIDE_CREATOR,
                "you can only create users inside your own jurisdiction",
                field="area_code",
            )
    elif person_id is None:
        raise FangkongError(
            AccountsErrorCode.JURISDICTION_REQUIRED,
            "a resident account must be linked to a person",
            field="person_id",
        )
    user = User(
        username=username,
        display_name=display_name,
        role=str(role),
        password_hash=hash_password(password),
        area_id=area_id,
        jurisdiction_path=path,
        person_id=person_id,
        household_id=household_id,
        is_active=True,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="user.create",
        subject_type="user",
        subject_id=user.id,
        after={"username": username, "role": str(role), "jurisdiction": path},
        rule_ref=None if actor else "cli.operator",
    )
    return user


def _recent_failures(*, session: Session, username: str, since: datetime) -> int:
    stmt = select(func.count()).where(
        LoginFailure.username == username, LoginFailure.failed_at >= since
    )
    return int(session.scalar(stmt) or 0)


def authenticate(
    *,
    session: Session,
    username: str,
    password: str,
    ip: str | None,
    max_failures: int,
    window: timedelta,
) -> User:
    """Check a username and password. Failures are recorded (and must be committed by the caller
    even though the login is refused) so that guessing is throttled across processes."""
    username = username.strip().lower()
    now = clock.now()
    failures = _recent_failures(session=session, username=username, since=now - window)
    if rules.is_throttled(recent_failures=failures, max_failures=max_failures):
        raise AuthenticationFailed(
            CoreErrorCode.AUTH_THROTTLED,
            f"too many failed logins; try again in {int(window.total_seconds() // 60)} minutes",
            status=429,
        )
    user = get_by_username(session=session, username=username)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        session.add(LoginFailure(username=username, ip=ip, failed_at=now))
        raise AuthenticationFailed(
            CoreErrorCode.AUTH_INVALID_CREDENTIALS, "wrong username or password"
        )
    if not user.is_active:
        raise AuthenticationFailed(CoreErrorCode.AUTH_USER_DISABLED, "this account is disabled")
    session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    user.last_login_at = now
    return user


@dataclass(frozen=True)
class IssuedSession:
    token: str
    csrf_token: str
    expires_at: datetime


def start_session(
    *, session: Session, user: User, lifetime: timedelta, ip: str | None
) -> IssuedSession:
    now = clock.now()
    token, csrf = new_token(), new_token(24)
    session.add(
        UserSession(
            token_digest=token_digest(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + lifetime,
            ip=ip,
        )
    )
    audit.record(
        session=session,
        actor=actor_for(user),
        action="session.start",
        subject_type="user",
        subject_id=user.id,
        after={"ip": ip},
    )
    return IssuedSession(token=token, csrf_token=csrf, expires_at=now + lifetime)


def resolve_session(*, session: Session, token: str) -> tuple[User, UserSession]:
    """The user behind a session cookie, or a refusal saying why."""
    row = session.scalars(
        select(UserSession).where(UserSession.token_digest == token_digest(token))
    ).one_or_none()
    if row is None or row.ended_at is not None:
        raise AuthenticationFailed(CoreErrorCode.AUTH_REQUIRED, "please log in")
    if row.expires_at <= clock.now():
        raise AuthenticationFailed(
            CoreErrorCode.AUTH_SESSION_EXPIRED, "your session has expired; please log in again"
        )
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise AuthenticationFailed(CoreErrorCode.AUTH_USER_DISABLED, "this account is disabled")
    return user, row


def end_session(*, session: Session, token: str) -> bool:
    """Log out. Conditional update: ending an ended session changes nothing."""
    now = clock.now()
    result = session.execute(
        update(UserSession)
        .where(UserSession.token_digest == token_digest(token), UserSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def issue_api_token(
    *, session: Session, actor: Actor | None, user: User, name: str, expires_at: datetime | None
) -> str:
    """Create a bearer token for ``user``; the plain token is returned once and never stored."""
    token = new_token()
    row = ApiToken(
        token_digest=token_digest(token),
        user_id=user.id,
        name=name,
        created_at=clock.now(),
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor or actor_for(user),
        action="api_token.issue",
        subject_type="user",
        subject_id=user.id,
        after={"token_id": row.id, "name": name},
    )
    return token


def resolve_api_token(*, session: Session, token: str) -> User:
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_digest == token_digest(token))
    ).one_or_none()
    now = clock.now()
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        raise AuthenticationFailed(CoreErrorCode.AUTH_TOKEN_INVALID, "unknown or expired token")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise AuthenticationFailed(CoreErrorCode.AUTH_USER_DISABLED, "this account is disabled")
    return user


def get_or_raise(*, session: Session, user_id: int) -> User:
    user = get(session=session, user_id=user_id)
    if user is None:
        raise NotFound(AccountsErrorCode.USER_NOT_FOUND, f"no user {user_id}")
    return user


def list_assigned_to(*, session: Session, jurisdiction_path: str, role: Role) -> list[User]:
    """Active users of ``role`` whose jurisdiction is exactly this area (e.g. a grid's grid
    workers), by display name."""
    stmt = (
        select(User)
        .where(
            User.jurisdiction_path == jurisdiction_path,
            User.role == role,
            User.is_active.is_(True),
        )
        .order_by(User.display_name, User.id)
    )
    return list(session.scalars(stmt))
