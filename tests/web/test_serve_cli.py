"""``fangkong serve``: worker processes and the access log come from the options, else from the
settings (``FANGKONG_SERVER_WORKERS``, ``FANGKONG_ACCESS_LOG``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.config import get_settings

runner = CliRunner()


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    # uvicorn itself is not under test: record what it would be asked to run.
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **options: calls.append(options))
    get_settings.cache_clear()
    yield calls
    get_settings.cache_clear()


def test_serve_defaults_to_one_worker_with_the_access_log(started: list[dict[str, Any]]) -> None:
    result = runner.invoke(app, ["serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert started == [
        {
            "factory": True,
            "host": "127.0.0.1",
            "port": 8123,
            "workers": 1,
            "access_log": True,
        }
    ]


def test_serve_takes_workers_and_access_log_from_the_settings(
    started: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FANGKONG_SERVER_WORKERS", "3")
    monkeypatch.setenv("FANGKONG_ACCESS_LOG", "false")
    assert runner.invoke(app, ["serve"]).exit_code == 0
    assert (started[0]["workers"], started[0]["access_log"]) == (3, False)


def test_serve_options_win_over_the_settings(
    started: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FANGKONG_SERVER_WORKERS", "3")
    monkeypatch.setenv("FANGKONG_ACCESS_LOG", "false")
    assert runner.invoke(app, ["serve", "--workers", "2", "--access-log"]).exit_code == 0
    assert (started[0]["workers"], started[0]["access_log"]) == (2, True)


def test_serve_refuses_zero_workers(started: list[dict[str, Any]]) -> None:
    result = runner.invoke(app, ["serve", "--workers", "0"])
    assert result.exit_code == 2
    assert started == []
