"""``fangkong drill run`` and the demo's drill, from the console."""

from __future__ import annotations

import json
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


def test_drill_run_generates_the_city_prints_a_bulletin_a_day_and_writes_the_report(
    sqlite_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    args = ["drill", "run", "--population", "2000", "--pack", "cn-9", "--seed", "3"]
    result = runner.invoke(app, [*args, "--days", "4", "--report-dir", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "generating the synthetic city (2,000 residents)" in result.output
    bulletins = [line for line in result.output.splitlines() if line.startswith("day ")]
    assert [line.split()[1] for line in bulletins] == ["0", "1", "2", "3"]
    report = json.loads((out / "drill-report.json").read_text(encoding="utf-8"))
    assert report["config"]["pack_id"] == "cn-9"
    assert report["days_run"] == 4
    assert report["population"] == 2000
    assert (out / "drill-report.html").exists()


def test_the_demo_runs_a_drill_on_the_city_it_generates_and_only_then(
    sqlite_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "drill"
    demo = ["demo", "--no-serve", "--population", "2000", "--report-dir", str(out)]
    first = runner.invoke(app, [*demo, "--drill-days", "3"])
    assert first.exit_code == 0, first.output
    assert "day  2 2022-11-11" in first.output
    assert (out / "drill-report.json").exists()
    second = runner.invoke(app, [*demo, "--drill-days", "3"])
    assert second.exit_code == 0, second.output
    assert "day  0" not in second.output


def test_drill_compare_tabulates_each_pack_over_the_seeds(tmp_path: Path) -> None:
    args = ["drill", "compare", "--packs", "cn-9", "--packs", "cn-20", "--seeds", "2"]
    result = runner.invoke(
        app, [*args, "--population", "2000", "--days", "3", "--work-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "| figure | cn-9 | cn-20 |" in lines
    start = lines.index("| figure | cn-9 | cn-20 |") + 2
    table = lines[start : start + 7]
    assert [row.split(" | ")[0] for row in table] == [
        "| true infections",
        "| cases detected",
        "| days to zero community",
        "| samples",
        "| tubes",
        "| person-days isolated",
        "| person-days under controls",
    ]
    assert all(row.count("±") == 2 for row in table)
    reports = sorted(p.parent.name for p in tmp_path.glob("*/drill-report.json"))
    assert reports == ["cn-20-1", "cn-20-2", "cn-9-1", "cn-9-2"]
    page = (tmp_path / "compare.html").read_text(encoding="utf-8")
    assert f"charts: {tmp_path / 'compare.html'}" in result.output
    assert '<html lang="zh-CN">' in page and "<script" not in page
    colours = {
        colour
        for report in tmp_path.glob("*/drill-report.json")
        for day in json.loads(report.read_text(encoding="utf-8"))["daily"]
        for colour in day["codes"]
    }
    assert colours  # the drills' people hold codes
    # daily new cases, isolated, tests, and one chart per code colour held
    assert page.count("<svg") == 3 + len(colours)
    for title in ("每日新发现病例", "每日隔离人数", "每日采样人次", "健康码："):
        assert title in page
    # each pack: a mean line and one thin line per seed in every chart
    assert page.count('stroke-opacity="0.35"') >= 2 * 2 * (3 + len(colours))


def test_drill_compare_writes_the_charts_in_english_when_asked(tmp_path: Path) -> None:
    args = ["drill", "compare", "--packs", "cn-9", "--seeds", "1", "--lang", "en"]
    result = runner.invoke(
        app, [*args, "--population", "2000", "--days", "2", "--work-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / "compare.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page and "Daily new cases" in page and "每日" not in page
    report = (tmp_path / "cn-9-1" / "drill-report.html").read_text(encoding="utf-8")
    assert "<title>Drill report</title>" in report


def test_drill_refuses_an_unknown_language(sqlite_url: str) -> None:
    result = runner.invoke(app, ["drill", "run", "--lang", "fr", "--no-progress"])
    assert result.exit_code == 2
    assert "error: --lang must be one of zh_CN, en" in result.output
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()


def test_mean_ci_is_the_normal_interval_of_the_mean() -> None:
    from fangkong.drill.compare import mean_ci

    mean, half = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert half == pytest.approx(1.96 * 1.2909944487358056 / 2)
    assert mean_ci([5.0])[0] == 5.0


def test_drill_run_refuses_an_unknown_pack_before_touching_the_database(
    sqlite_url: str, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["drill", "run", "--pack", "cn-99", "--no-progress"])
    assert result.exit_code == 1
    assert "error: [rulepack.pack_not_found] no pack cn-99" in result.output
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()
