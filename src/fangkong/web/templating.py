"""Jinja2 rendering with the request's language, user and CSRF token in every page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from fangkong.config import get_settings
from fangkong.web import i18n
from fangkong.web.deps import LANG_COOKIE
from fangkong.web.navigation import menu_for

TEMPLATES_DIR = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def request_locale(request: Request) -> str:
    return i18n.pick_locale(
        query=request.query_params.get("lang"),
        cookie=request.cookies.get(LANG_COOKIE),
        accept=request.headers.get("accept-language"),
        default=get_settings().default_locale,
    )


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    locale = request_locale(request)
    translation = i18n.translations(locale)
    actor = getattr(request.state, "actor", None)
    page_context: dict[str, Any] = {
        "_": translation.gettext,
        "locale": locale,
        "lang_tag": i18n.LANGUAGE_TAGS[locale],
        "actor": actor,
        "menu": menu_for(actor) if actor else [],
        "csrf_token": getattr(request.state, "csrf_token", ""),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, template, page_context, status_code=status)
    if request.query_params.get("lang") in i18n.SUPPORTED_LOCALES:
        response.set_cookie(LANG_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax")
    return response
