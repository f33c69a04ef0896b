"""The enterprise, logistics and vaccination commands."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.config import get_settings
from fangkong.core.crypto import get_cipher
from fangkong.db import migrate
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
    migrate.upgrade(url)
    yield url
    get_engine().dispose()
    _clear_caches()


@pytest.mark.parametrize("command", [["enterprise"], ["logistics"], ["vaccination"]])
def test_it_documents_every_command(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert (result.exit_code, "Usage" in result.output) == (0, True)


def test_it_escalates_tickets_and_summarises_logistics_on_an_empty_database(
    sqlite_url: str,
) -> None:
    escalated = runner.invoke(app, ["enterprise", "escalate-tickets"])
    summary = runner.invoke(app, ["logistics", "summary"])

    assert (escalated.exit_code, escalated.output) == (0, "0 tickets escalated\n")
    assert (summary.exit_code, summary.output) == (0, "")


def test_it_checks_credit_codes_and_lists_products() -> None:
    valid = runner.invoke(app, ["enterprise", "check-credit-code", "91350100m000100y43"])
    invalid = runner.invoke(app, ["enterprise", "check-credit-code", "91350100M000100Y44"])
    products = runner.invoke(app, ["vaccination", "products"])

    assert (valid.exit_code, valid.output) == (0, "91350100M000100Y43: valid\n")
    assert (invalid.exit_code, invalid.output) == (1, "91350100M000100Y44: not valid\n")
    assert [line.split("\t")[0] for line in products.output.splitlines()] == [
        "510",
        "511",
        "506",
        "507",
    ]
