"""``fangkong isolation escalate-transfers`` from the console."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.config import get_settings
from fangkong.core.crypto import get_cipher
from fangkong.db.session import get_engine, get_sessionmaker

runner = CliRunner()


def _clear_caches() -> None:
    for cached in (get_settings, get_engine, get_sessionmaker, get_cipher):
        cached.cache_clear()


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FANGKONG_DATABASE_URL", url)
    _clear_caches()
    yield url
    get_engine().dispose()
    _clear_caches()


def test_it_escalates_overdue_transfers_from_the_console(sqlite_url: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0

    result = runner.invoke(app, ["isolation", "escalate-transfers"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "0 overdue transfers escalated"
