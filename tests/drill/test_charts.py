"""The reports' SVG charts and their catalogue of labels in zh-CN and en."""

from __future__ import annotations

import re
from typing import Any

from fangkong.drill import compare, report
from fangkong.drill.charts import Series, line_chart
from fangkong.drill.text import TEXTS, colour, text


def test_a_line_is_drawn_through_the_known_days_with_a_gap_where_a_drill_had_stopped() -> None:
    svg = line_chart(
        title="t", series=[Series("a", [0.0, 2.0, None, 4.0], "#000")], width=356, height=168
    )
    # plot area: x from 56 to 344 (3 day steps of 96), y from 40 (top tick 4) to 140 (0)
    assert re.findall(r'points="([^"]+)"', svg) == ["56.0,140.0 152.0,90.0", "344.0,40.0"]
    ticks = re.findall(r'text-anchor="end">([^<]+)</text>', svg)
    assert ticks == ["0", "1", "2", "3", "4", "day 3"]
    assert "<script" not in svg


def test_thin_lines_are_drawn_behind_the_mean_in_the_same_colour() -> None:
    svg = line_chart(
        title="t",
        series=[Series("p", [1.0, 3.0], "#123456", thin=[[0.0, 2.0], [2.0, 4.0]])],
    )
    lines = re.findall(r"<polyline[^>]*>", svg)
    assert len(lines) == 3
    assert all('stroke="#123456"' in line for line in lines)
    assert ['stroke-opacity="0.35"' in line for line in lines] == [True, True, False]


def _report(days: list[dict[str, Any]]) -> dict[str, Any]:
    return {"daily": days, "days_run": len(days)}


def test_the_comparison_means_are_over_the_seeds_still_running_that_day() -> None:
    short = _report([{"cases_found": 2}])
    long = _report([{"cases_found": 4}, {"cases_found": 6}])
    [series] = compare._series({"cn-9": [short, long]}, lambda d: float(d["cases_found"]))
    assert list(series.values) == [3.0, 6.0]
    assert [list(t) for t in series.thin] == [[2.0], [4.0, 6.0]]


def test_the_code_colours_come_in_the_health_code_pages_order() -> None:
    results = {
        "a": [_report([{"codes": {"red": 1, "green": 5}}])],
        "b": [_report([{"codes": {"yellow": 2}}])],
    }
    assert compare.colours_seen(results) == ["green", "yellow", "red"]
    assert colour("yellow", "zh_CN") == "黄码" and colour("yellow", "en") == "yellow"


def test_every_label_the_reports_use_is_in_both_languages() -> None:
    used = {label for _, label in report.DAILY_COLUMNS} | {label for _, label in compare.COMPARED}
    assert used <= set(TEXTS)
    for message, (zh, en) in TEXTS.items():
        assert zh and en, message
        assert zh != en, message
        assert re.search(r"[\u4e00-\u9fff]", zh), message
    assert text("chart codes", "zh_CN", colour="红码") == "健康码：红码"
    assert text("chart codes", "en", colour="red") == "Health codes: red"
