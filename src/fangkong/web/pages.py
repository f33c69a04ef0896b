"""Server-rendered pages of the shell: login, logout, home, audit log (the area browser is
in ``fangkong.registry.pages``)."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Permission, Role
from fangkong.command import homes
from fangkong.command import service as command_service
from fangkong.core import audit, clock
from fangkong.core.errors import FangkongError
from fangkong.core.ids import new_token
from fangkong.registry import service as registry_service
from fangkong.web.deps import SESSION_COOKIE, ActorDep, SessionDep, SettingsDep
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "fk_login_csrf"


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect after login is a phishing tool.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None, reason: str | None = None) -> Response:
    token = new_token(24)
    response = render(
        request, "login.html", {"next": _safe_next(next), "login_csrf": token, "reason": reason}
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict")
    return response


@router.post("/login")
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    login_csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, login_csrf):
        context = {"next": _safe_next(next), "login_csrf": cookie, "error": "csrf"}
        return render(request, "login.html", context, status=403)
    ip = request.client.host if request.client else None
    try:
        user = accounts_service.authenticate(
            session=session,
            username=username,
            password=password,
            ip=ip,
            max_failures=settings.login_max_failures,
            window=timedelta(minutes=settings.login_failure_window_minutes),
        )
    except FangkongError as exc:
        session.commit()  # the recorded failure must survive the refusal
        context = {"next": _safe_next(next), "login_csrf": cookie, "error": str(exc.code)}
        return render(request, "login.html", context, status=exc.status)
    issued = accounts_service.start_session(
        session=session, user=user, lifetime=timedelta(hours=settings.session_hours), ip=ip
    )
    session.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    accounts_service.end_session(session=session, token=request.cookies.get(SESSION_COOKIE, ""))
    session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, actor: ActorDep, settings: SettingsDep) -> Response:
    area = None
    counts: dict[str, int] = {}
    if actor.jurisdiction_path:
        area = registry_service.get_by_path(session=session, path=actor.jurisdiction_path)
        counts = registry_service.count_by_level(
            session=session, under_path=actor.jurisdiction_path
        )
    figures = None
    if actor.role == Role.COMMAND_CENTRE and actor.jurisdiction_path:
        # The command centre lands on the latest figures of its jurisdiction.
        figures = command_service.latest_figures(
            session=session, actor=actor, path=actor.jurisdiction_path
        )
    now = clock.now()
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    # Each role lands on its work for today: a few counts, each a link to where it is done.
    work = homes.home_items(session=session, actor=actor, now=now, today=today)
    context = {"area": area, "counts": counts, "figures": figures, "work": work}
    return render(request, "home.html", context)


@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    subject_type: str | None = None,
    subject_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    actor.require(Permission.AUDIT_VIEW)
    events = audit.latest(
        session=session, subject_type=subject_type, subject_id=subject_id, limit=limit
    )
    return render(request, "audit.html", {"events": events})
