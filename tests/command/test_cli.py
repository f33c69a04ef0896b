"""``fangkong command bulletin`` against a demo database: it writes the archive once per day
and city however often it runs."""

from __future__ import annotations

from sqlalchemy import func, select

from fangkong.cli import app
from fangkong.command.models import Bulletin, DailyFigures
from tests.test_cli import DEMO, _count, runner, sqlite_url  # noqa: F401 (fixture)


def test_the_bulletin_command_archives_each_day_once(sqlite_url: str) -> None:  # noqa: F811
    assert runner.invoke(app, DEMO).exit_code == 0
    first = runner.invoke(app, ["command", "bulletin", "--date", "2022-11-10"])
    again = runner.invoke(app, ["command", "bulletin", "--date", "2022-11-10", "--english"])
    refused = runner.invoke(app, ["command", "bulletin", "--date", "10/11/2022"])

    assert first.exit_code == 0, first.output
    assert "株洲市2022年11月10日新冠肺炎疫情情况" in first.output
    assert again.exit_code == 0 and "COVID-19 situation on 10 November 2022" in again.output
    assert refused.exit_code == 2 and "not a date" in refused.output
    cities = _count(sqlite_url, select(func.count()).select_from(Bulletin))
    assert cities == first.output.count("新冠肺炎疫情情况\n") >= 1
    days = _count(sqlite_url, select(func.count(func.distinct(DailyFigures.day))))
    assert days == 1
