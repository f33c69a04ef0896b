"""One error shape for the API, friendly pages for people."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from fangkong.core.errors import AuthenticationFailed, CoreErrorCode, FangkongError
from fangkong.web.templating import render


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def _field_of(location: tuple[int | str, ...]) -> str:
    # ("body", "items", 0, "code") → "items.0.code": the request part is implied by the endpoint.
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"} and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts)


async def handle_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FangkongError)
    if _wants_json(request):
        return JSONResponse(exc.body(), status_code=exc.status)
    if isinstance(exc, AuthenticationFailed) and exc.status == 401:
        target = quote(str(request.url.path))
        return RedirectResponse(f"/login?next={target}&reason={exc.code}", status_code=303)
    return render(request, "error.html", {"error": exc.body()}, status=exc.status)


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "code": str(CoreErrorCode.REQUEST_INVALID),
            "field": _field_of(tuple(error.get("loc", ()))),
            "message": str(error.get("msg", "invalid value")),
        }
        for error in exc.errors()
    ]
    first = problems[0] if problems else {"field": None, "message": "invalid request"}
    body = {
        "code": str(CoreErrorCode.REQUEST_INVALID),
        "field": first["field"],
        "message": first["message"],
        "errors": problems,
    }
    return JSONResponse(body, status_code=422)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = CoreErrorCode.NOT_FOUND if exc.status_code == 404 else CoreErrorCode.REQUEST_INVALID
    body = {"code": str(code), "field": None, "message": str(exc.detail)}
    if _wants_json(request):
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
    return render(request, "error.html", {"error": body}, status=exc.status_code)


def install(app: FastAPI) -> None:
    app.add_exception_handler(FangkongError, handle_domain_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
