"""The FastAPI application factory."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from fangkong import __version__
from fangkong.accounts.views import router as accounts_router
from fangkong.config import Settings, get_settings
from fangkong.registry.pages import router as registry_pages_router
from fangkong.registry.views import router as registry_router
from fangkong.web import errors
from fangkong.web.pages import router as pages_router

STATIC_DIR = Path(__file__).parent / "web" / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="fangkong",
        version=__version__,
        description="Command platform for a city's epidemic response.",
    )
    app.state.settings = settings
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    for router in (accounts_router, registry_router, pages_router, registry_pages_router):
        app.include_router(router)
    return app
