"""A thin fast lane in front of the FastAPI application, for a few hot endpoints.

FastAPI's per-request work (dependency graph, pydantic models, a database session per request)
costs several milliseconds of CPU a request; an endpoint that must answer thousands of requests
a second on one core cannot afford it. ``FastLane`` is an ASGI wrapper that dispatches exact
``(method, path)`` pairs to plain async handlers and passes every other request (and the
lifespan) to FastAPI unchanged. A handler gets a ``FastRequest`` (method, path, lower-cased
headers, query string, body bytes) and returns a ``FastResponse``. A ``FangkongError`` raised by
a handler is answered exactly as ``web/errors.py`` answers it for the API (same status, same
``{"code", "field", "message"}`` body), so clients cannot tell which lane served them.

Handlers authenticate with ``fast_actor``: the bearer token or the session cookie (plus the CSRF
header for unsafe methods), resolved through the short-lived cache of
:mod:`fangkong.accounts.token_cache` so a hot path costs no database query per request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from fangkong.accounts.token_cache import ActorCache
from fangkong.core.errors import AuthenticationFailed, CoreErrorCode, FangkongError
from fangkong.core.scope import Actor
from fangkong.web.deps import CSRF_HEADER, SESSION_COOKIE, UNSAFE_METHODS

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024  # a hot endpoint's request is small; a bigger one is refused


@dataclass(frozen=True, slots=True)
class FastRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # names lower-cased; a repeated header keeps its last value
    query_string: bytes
    body: bytes

    def query(self, name: str) -> str | None:
        values = parse_qs(self.query_string.decode("latin-1")).get(name)
        return values[-1] if values else None

    def cookie(self, name: str) -> str | None:
        raw = self.headers.get("cookie")
        if not raw:
            return None
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(raw)
        except CookieError:
            return None
        morsel = jar.get(name)
        return morsel.value if morsel is not None else None

    def json(self) -> Any:
        """The body as JSON, or ``request.invalid`` (422) as FastAPI would answer."""
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise request_invalid("", "the body is not valid JSON") from None


@dataclass(frozen=True, slots=True)
class FastResponse:
    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...] = field(default=())


Handler = Callable[[FastRequest], Awaitable[FastResponse]]


# One encoder for every response: ``json.dumps`` with options builds a new encoder per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def json_response(data: Any, status: int = 200) -> FastResponse:
    body = _ENCODER.encode(data).encode()
    return FastResponse(status=status, body=body)


class RequestInvalid(FangkongError):
    """A body that does not have the endpoint's shape: answered like FastAPI's validation
    errors (422, ``request.invalid`` and an ``errors`` list)."""

    status = 422

    def body(self) -> dict[str, Any]:
        problem = {"code": str(self.code), "field": self.field, "message": self.message}
        return {**problem, "errors": [problem]}


def request_invalid(field_name: str, message: str) -> RequestInvalid:
    return RequestInvalid(CoreErrorCode.REQUEST_INVALID, message, field=field_name)


def error_response(error: FangkongError) -> FastResponse:
    return json_response(error.body(), status=error.status)


async def fast_actor(request: FastRequest, cache: ActorCache) -> Actor:
    """The caller, as ``web.deps.current_actor`` decides it: a bearer token, or a session
    cookie whose CSRF token must come in the header for unsafe methods."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return await cache.for_token(value.strip())
    cookie = request.cookie(SESSION_COOKIE)
    if not cookie:
        raise AuthenticationFailed(CoreErrorCode.AUTH_REQUIRED, "please log in")
    csrf = request.headers.get(CSRF_HEADER) if request.method in UNSAFE_METHODS else None
    return await cache.for_session(cookie, csrf=csrf, check_csrf=request.method in UNSAFE_METHODS)


ASGIApp = Callable[[dict[str, Any], Callable[..., Any], Callable[..., Any]], Awaitable[None]]


class FastLane:
    """The ASGI application uvicorn serves: ``routes`` here, everything else in ``app``."""

    def __init__(self, app: ASGIApp, routes: Mapping[tuple[str, str], Handler] = ()) -> None:  # type: ignore[assignment]
        self.app = app
        self.routes: dict[tuple[str, str], Handler] = dict(routes)
        # Run when the server stops, before the lifespan's shutdown is reported complete (the
        # handlers' writer threads and background tasks finish their work there).
        self.on_shutdown: list[Callable[[], Awaitable[None]]] = []

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method.upper(), path)] = handler

    def __getattr__(self, name: str) -> Any:
        # ``state``, ``dependency_overrides`` … of the wrapped FastAPI application.
        return getattr(self.app, name)

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._after_shutdown_hooks(send))
            return
        handler = (
            self.routes.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        )
        if handler is None:
            await self.app(scope, receive, send)
            return
        response = await self._answer(scope, receive, handler)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(response.body)).encode()),
            *response.headers,
        ]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    def _after_shutdown_hooks(self, send: Callable[..., Any]) -> Callable[..., Awaitable[None]]:
        async def relay(message: dict[str, Any]) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                for hook in self.on_shutdown:
                    try:
                        await hook()
                    except Exception:  # one failing hook must not keep the others from running
                        log.exception("fast lane shutdown hook failed")
            await send(message)

        return relay

    async def _answer(
        self, scope: dict[str, Any], receive: Callable[..., Any], handler: Handler
    ) -> FastResponse:
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return FastResponse(status=499, body=b"")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return error_response(request_invalid("", "the request body is too large"))
            chunks.append(chunk)
            more = message.get("more_body", False)
        request = FastRequest(
            method=scope["method"],
            path=scope["path"],
            headers={
                name.decode("latin-1").lower(): v.decode("latin-1") for name, v in scope["headers"]
            },
            query_string=scope.get("query_string", b""),
            body=b"".join(chunks),
        )
        try:
            return await handler(request)
        except FangkongError as error:
            return error_response(error)
        except Exception:
            # FastAPI would answer a bare 500 too; ours keeps the API's error shape.
            log.exception("fast lane handler failed: %s %s", request.method, request.path)
            return json_response(
                {"code": "server.error", "field": None, "message": "internal error; try again"},
                status=500,
            )
