"""Request dependencies: database session, the calling actor, permissions, CSRF."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from fangkong.accounts import service as accounts_service
from fangkong.accounts.models import UserSession
from fangkong.config import Settings, get_settings
from fangkong.core.errors import AuthenticationFailed, CoreErrorCode, PermissionDenied
from fangkong.core.scope import Actor
from fangkong.db.session import get_sessionmaker

SESSION_COOKIE = "fk_session"
LANG_COOKIE = "fk_lang"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_session() -> Iterator[Session]:
    """A session per request. Views commit explicitly once the work is done, so an answer is
    only sent after what it acknowledges is durable."""
    session = get_sessionmaker()()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def _check_csrf(request: Request, login: UserSession) -> None:
    if request.method not in UNSAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or sent != login.csrf_token:
        raise PermissionDenied(
            CoreErrorCode.AUTH_CSRF_FAILED,
            "the form's security token is missing or wrong; reload the page and try again",
        )


async def current_actor(request: Request, session: SessionDep) -> Actor:
    """The authenticated caller: a bearer token (machines) or a session cookie (people)."""
    token = _bearer_token(request)
    if token is not None:
        user = accounts_service.resolve_api_token(session=session, token=token)
        actor = accounts_service.actor_for(user)
        request.state.actor = actor  # pages rendered for a token holder need it too
        return actor
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise AuthenticationFailed(CoreErrorCode.AUTH_REQUIRED, "please log in")
    user, login = accounts_service.resolve_session(session=session, token=cookie)
    await _check_csrf(request, login)
    request.state.csrf_token = login.csrf_token
    actor = accounts_service.actor_for(user)
    request.state.actor = actor
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]


def requires(permission: str) -> Callable[..., Actor]:
    """A dependency that admits only actors holding ``permission``."""

    def dependency(actor: ActorDep) -> Actor:
        actor.require(permission)
        return actor

    return dependency
