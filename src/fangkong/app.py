"""The FastAPI application factory."""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import sessionmaker

from fangkong import __version__
from fangkong.accounts.token_cache import ActorCache
from fangkong.accounts.views import router as accounts_router
from fangkong.areas.pages import router as areas_pages_router
from fangkong.areas.views import router as areas_router
from fangkong.command.pages import router as command_pages_router
from fangkong.command.views import router as command_router
from fangkong.config import Settings, get_settings
from fangkong.db.session import create_db_engine
from fangkong.enterprise.pages import router as enterprise_pages_router
from fangkong.enterprise.views import router as enterprise_router
from fangkong.healthcode import fast_views as code_lookup
from fangkong.healthcode.pages import router as healthcode_pages_router
from fangkong.healthcode.views import router as healthcode_router
from fangkong.isolation.pages import router as isolation_pages_router
from fangkong.isolation.views import router as isolation_router
from fangkong.logistics.pages import router as logistics_pages_router
from fangkong.logistics.views import router as logistics_router
from fangkong.registry.pages import router as registry_pages_router
from fangkong.registry.views import router as registry_router
from fangkong.testing import fast_views as scan_intake
from fangkong.testing.pages import router as testing_pages_router
from fangkong.testing.sampling_pages import router as sampling_pages_router
from fangkong.testing.views import router as testing_router
from fangkong.testing.views import sampling_router
from fangkong.tracing.pages import router as tracing_pages_router
from fangkong.tracing.views import router as tracing_router
from fangkong.vaccination.pages import router as vaccination_pages_router
from fangkong.vaccination.views import router as vaccination_router
from fangkong.web import errors
from fangkong.web.fastlane import FastLane
from fangkong.web.pages import router as pages_router

STATIC_DIR = Path(__file__).parent / "web" / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="fangkong",
        version=__version__,
        description="Command platform for a city's epidemic response.",
        # The default documentation pages load Swagger UI from a CDN; ours serves its own copy.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="fangkong API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
            # Swagger UI would otherwise send the spec to validator.swagger.io: no outside calls.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    for router in (
        accounts_router,
        registry_router,
        testing_router,
        sampling_router,
        tracing_router,
        areas_router,
        isolation_router,
        enterprise_router,
        logistics_router,
        vaccination_router,
        healthcode_router,
        command_router,
        pages_router,
        registry_pages_router,
        isolation_pages_router,
        areas_pages_router,
        tracing_pages_router,
        sampling_pages_router,
        enterprise_pages_router,
        logistics_pages_router,
        vaccination_pages_router,
        healthcode_pages_router,
        testing_pages_router,
        command_pages_router,
    ):
        app.include_router(router)
    return app


def create_server(settings: Settings | None = None) -> FastLane:
    """What uvicorn serves: the application behind the fast lane of its hot endpoints.

    The lane's callers are resolved through one short-lived actor cache, reading the database
    through an engine of its own (a lookup must never wait behind request sessions)."""
    settings = settings or get_settings()
    app = create_app(settings)
    engine = create_db_engine(settings.database_url, pool_size=2, max_overflow=2)
    actors = ActorCache(
        sessionmaker(bind=engine, expire_on_commit=False), ttl=settings.actor_cache_seconds
    )
    app.state.actor_cache = actors
    lane = FastLane(app)
    app.state.scan_intake = scan_intake.install(lane, settings=settings, actors=actors)
    app.state.code_lookup = code_lookup.install(lane, settings=settings)
    return lane


def serve_server() -> FastLane:
    """``create_server`` for uvicorn's process (its factory): the application, then its
    start-up objects frozen out of the garbage collector.

    Everything built at start-up (routes, models, the rule packs, compiled statements) lives as
    long as the process; a full collection otherwise walks all of it, and at 2,000 lookups a
    second those pauses were the lookup's p99 (tens of ms; bench/RESULTS.md). ``gc.freeze``
    leaves them out of every later collection. Only here, once per process: a test building
    many servers would keep their cycles forever."""
    server = create_server()
    gc.collect()
    gc.freeze()
    return server
