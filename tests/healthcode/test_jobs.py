"""The bulk and the due recompute: everyone once, idempotent, and only what fell due."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.config import get_settings
from fangkong.core.crypto import get_cipher
from fangkong.db.session import create_db_engine, get_engine, get_sessionmaker
from fangkong.healthcode import jobs
from fangkong.healthcode.models import HealthCode
from fangkong.registry.enums import PersonTag
from fangkong.registry.models import Person
from tests import places
from tests.healthcode import world
from tests.healthcode.test_views import NOW, skipper


def test_it_recomputes_everyone_once_and_then_nothing(session: Session) -> None:
    absent = skipper(session)
    home = places.household(
        session, places.building(session, places.compound(session, "访客小区"), "1栋")
    )
    visitor = places.person(session, "访客", at=home)
    world.tube(session, [visitor], sampled_at=NOW - timedelta(days=1), result="not_detected")
    everyone = session.scalar(select(func.count()).select_from(Person)) or 0

    first = jobs.recompute_all(session=session, now=NOW, batch=2)
    second = jobs.recompute_all(session=session, now=NOW, batch=2)

    assert (first.evaluated, first.changed, first.conflicted) == (everyone, everyone, [])
    assert (second.evaluated, second.changed, second.refreshed) == (everyone, 0, 0)
    assert session.get(HealthCode, absent.id).colour == "yellow"  # type: ignore[union-attr]
    assert session.get(HealthCode, visitor.id).colour == "green"  # type: ignore[union-attr]


def test_it_recomputes_only_the_codes_that_fell_due(session: Session) -> None:
    home = places.household(
        session, places.building(session, places.compound(session, "到期小区"), "1栋")
    )
    person = places.person(session, "到期", at=home, tags=int(PersonTag.KEY_WORKER))
    # A key worker is green while their latest negative is recent, yellow once it is stale.
    world.tube(session, [person], sampled_at=NOW - timedelta(days=1), result="not_detected")
    jobs.recompute_all(session=session, now=NOW)
    code = session.get(HealthCode, person.id)
    assert code is not None

    assert code.colour == "green" and code.valid_until is not None
    stale_at = code.valid_until

    nothing = jobs.recompute_due(session=session, now=stale_at - timedelta(seconds=1))
    due = jobs.recompute_due(session=session, now=stale_at)

    assert (nothing.evaluated, nothing.changed) == (0, 0)
    assert (due.evaluated, due.changed) == (1, 1)
    session.refresh(code)
    assert (code.colour, code.reasons) == ("yellow", ["key_post_test_overdue"])


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'hc.db'}"
    monkeypatch.setenv("FANGKONG_DATABASE_URL", url)
    for cached in (get_settings, get_engine, get_sessionmaker, get_cipher):
        cached.cache_clear()
    yield url
    get_engine().dispose()
    for cached in (get_settings, get_engine, get_sessionmaker, get_cipher):
        cached.cache_clear()


def test_the_console_recomputes_the_demo_city(sqlite_url: str) -> None:
    runner = CliRunner()
    demo = runner.invoke(app, ["demo", "--no-serve", "--population", "1000", "--drill-days", "0"])
    assert demo.exit_code == 0, demo.output
    engine = create_db_engine(sqlite_url)
    with engine.connect() as conn:
        # codes the demo computed already (by the same rules) are not changed by the recompute
        coded_by_demo = conn.scalar(select(func.count()).select_from(HealthCode)) or 0
    engine.dispose()

    everyone = runner.invoke(app, ["healthcode", "recompute"])
    again = runner.invoke(app, ["healthcode", "recompute"])
    due = runner.invoke(app, ["healthcode", "recompute", "--due"])

    engine = create_db_engine(sqlite_url)
    with engine.connect() as conn:
        people = conn.scalar(select(func.count()).select_from(Person))
        codes = conn.scalar(select(func.count()).select_from(HealthCode))
    engine.dispose()
    assert everyone.exit_code == 0, everyone.output
    assert codes == people and people
    assert everyone.output.startswith(f"{people} evaluated, {people - coded_by_demo} changed")
    assert again.output.startswith(f"{people} evaluated, 0 changed, 0 refreshed")
    assert due.exit_code == 0, due.output
