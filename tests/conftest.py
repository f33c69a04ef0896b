"""Fixtures: every database test runs on SQLite and on PostgreSQL.

Each test session creates a fresh SQLite file and a fresh PostgreSQL database, migrates both with
the real Alembic migrations and loads the Hunan division tree. Each test runs inside a
transaction that is rolled back afterwards (services that commit only release a SAVEPOINT).
Under ``CI=true`` an unreachable PostgreSQL fails the run instead of skipping its half.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fangkong.app import create_app
from fangkong.config import Settings
from fangkong.db import migrate
from fangkong.db.session import create_db_engine, session_scope
from fangkong.registry import service as registry_service
from fangkong.web.deps import get_session
from tests.personas import Personas

POSTGRES_ADMIN_URL = os.environ.get(
    "FANGKONG_TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ("sqlite", "postgresql")


def _create_postgres_database() -> str | None:
    name = f"fangkong_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI and is unreachable: {exc}")
        return None
    return name


def _drop_postgres_database(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_url(name: str) -> str:
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def fresh_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A factory for empty databases of either backend (cleaned up at the end)."""
    created: list[str] = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            folder = tmp_path_factory.mktemp("db")
            return f"sqlite:///{folder / 'fangkong.db'}"
        name = _create_postgres_database()
        if name is None:
            pytest.skip("PostgreSQL not reachable (outside CI)")
        created.append(name)
        return postgres_url(name)

    yield make
    for name in created:
        _drop_postgres_database(name)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, fresh_database_url: object) -> str:
    """A migrated database with the division tree loaded, one per backend per test session."""
    url: str = fresh_database_url(request.param)  # type: ignore[operator]
    migrate.upgrade(url)
    engine = create_db_engine(url)
    with session_scope(_factory(engine)) as session:
        registry_service.load_divisions(session=session)
    engine.dispose()
    return url


def _factory(engine: Engine):  # type: ignore[no-untyped-def]
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(bind=engine, expire_on_commit=False)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def backend(engine: Engine) -> str:
    return engine.dialect.name


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose every commit is a SAVEPOINT inside one rolled-back transaction."""
    connection = engine.connect()
    outer = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def settings() -> Settings:
    return Settings(login_max_failures=3)


@pytest.fixture
def client(session: Session, settings: Settings) -> Iterator[TestClient]:
    from fangkong.config import get_settings

    app = create_app(settings)
    app.dependency_overrides[get_session] = lambda: session
    app.dependency_overrides[get_settings] = lambda: settings
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def personas(session: Session) -> Personas:
    return Personas(session)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path(__file__).resolve().parents[1] / "var" / "test-artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module", params=BACKENDS)
def committed_database_url(request: pytest.FixtureRequest, fresh_database_url: object) -> str:
    """A migrated database with the division tree, one per backend per test module, for code
    that commits through connections of its own (the fast lane, the scan intake)."""
    url: str = fresh_database_url(request.param)  # type: ignore[operator]
    migrate.upgrade(url)
    engine = create_db_engine(url)
    with session_scope(_factory(engine)) as session:
        registry_service.load_divisions(session=session)
    engine.dispose()
    return url
