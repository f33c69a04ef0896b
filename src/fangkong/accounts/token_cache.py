"""Who is calling, without a database query per request: a short-lived actor cache.

Hot endpoints (sampling scans, the health-code lookup) are called thousands of times a second by
the same few hundred tokens and sessions. Resolving each call with ``resolve_api_token`` costs
two queries; this cache keeps the answer (the ``Actor``, and the session's CSRF token) for
``ttl`` seconds, keyed by the token's digest so the cache holds no usable secret.

The price is a revocation lag: a token revoked, a session ended or an account disabled is still
honoured for at most ``ttl`` seconds by the processes that cached it (default 5 s;
``FANGKONG_ACTOR_CACHE_SECONDS``). Refusals are never cached, so a new token works at once.
Misses are resolved in a worker thread so the event loop never waits on the database, and
concurrent misses for one token share a single lookup.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from fangkong.accounts import service
from fangkong.core.errors import CoreErrorCode, PermissionDenied
from fangkong.core.ids import token_digest
from fangkong.core.scope import Actor

DEFAULT_TTL = 5.0
DEFAULT_MAX_ENTRIES = 20_000


@dataclass(frozen=True, slots=True)
class _Entry:
    actor: Actor
    csrf_token: str | None  # sessions only
    expires: float


class ActorCache:
    """Bearer tokens and session cookies → ``Actor``, cached for ``ttl`` seconds."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        *,
        ttl: float = DEFAULT_TTL,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory = session_factory
        self.ttl = ttl
        self._max = max_entries
        self._now = monotonic
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._pending: dict[tuple[str, str], asyncio.Future[_Entry]] = {}
        self.lookups = 0  # database resolutions (misses), for tests and the benchmark

    async def for_token(self, token: str) -> Actor:
        entry = await self._get(("token", token_digest(token)), token)
        return entry.actor

    async def for_session(self, cookie: str, *, csrf: str | None, check_csrf: bool) -> Actor:
        entry = await self._get(("session", token_digest(cookie)), cookie)
        if check_csrf and (not csrf or csrf != entry.csrf_token):
            raise PermissionDenied(
                CoreErrorCode.AUTH_CSRF_FAILED,
                "the page's security token is missing or wrong; reload the page",
            )
        return entry.actor

    def forget_all(self) -> None:
        self._entries.clear()

    async def _get(self, key: tuple[str, str], secret: str) -> _Entry:
        entry = self._entries.get(key)
        if entry is not None and entry.expires > self._now():
            return entry
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[_Entry] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            entry = await asyncio.to_thread(self._resolve, key[0], secret)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            self._pending.pop(key, None)
        future.set_result(entry)
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return entry

    def _resolve(self, kind: str, secret: str) -> _Entry:
        self.lookups += 1
        with self._factory() as session:
            if kind == "token":
                user = service.resolve_api_token(session=session, token=secret)
                csrf = None
            else:
                user, login = service.resolve_session(session=session, token=secret)
                csrf = login.csrf_token
            actor = service.actor_for(user)
        return _Entry(actor=actor, csrf_token=csrf, expires=self._now() + self.ttl)
