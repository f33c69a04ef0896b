"""Policy comparison: the figures of several packs' drills over the same seeds, as a table of
means with confidence intervals and as charts of the daily figures (HTML, inline SVG)."""

from __future__ import annotations

import html
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from fangkong.drill.charts import PALETTE, Series, line_chart
from fangkong.drill.report import page
from fangkong.drill.text import colour, text
from fangkong.healthcode.explain import COLOURS

Reports = Mapping[str, Sequence[dict[str, Any]]]  # pack -> one report per seed

COMPARED = (
    ("infections_true", "true infections"),
    ("cases_detected", "cases detected"),
    ("days_to_zero_community", "days to zero community"),
    ("samples", "samples"),
    ("tubes", "tubes"),
    ("person_days_isolation", "person-days isolated"),
    ("person_days_area_controls", "person-days under controls"),
)


def mean_ci(values: list[float]) -> tuple[float, float]:
    """Mean and half-width of a 95% confidence interval (normal approximation)."""
    if not values:
        return math.nan, math.nan
    if len(values) == 1:
        return values[0], math.nan
    return statistics.fmean(values), 1.96 * statistics.stdev(values) / math.sqrt(len(values))


def figure_cells(results: Reports, key: str) -> list[str]:
    """``mean ± half-width`` of one figure for each pack. "Days to zero" counts a drill that
    never reached zero as its number of days."""
    cells = []
    for reports in results.values():
        values = [float(r[key]) if r[key] is not None else float(r["days_run"]) for r in reports]
        mean, half = mean_ci(values)
        cells.append(f"{mean:.1f} ± {half:.1f}" if not math.isnan(half) else f"{mean:.1f}")
    return cells


def markdown_table(results: Reports) -> list[str]:
    """The comparison table in Markdown (English labels, as the console prints it)."""
    lines = ["| figure | " + " | ".join(results) + " |", "|---" * (len(results) + 1) + "|"]
    for key, label in COMPARED:
        lines.append(f"| {label} | " + " | ".join(figure_cells(results, key)) + " |")
    return lines


Daily = Callable[[dict[str, Any]], float]


def _series(results: Reports, value: Daily) -> list[Series]:
    """Per pack: each seed's daily values (thin) and their mean over the seeds still running."""
    out = []
    for (pack, reports), colour_ in zip(results.items(), PALETTE * 4, strict=False):
        seeds = [[value(day) for day in report["daily"]] for report in reports]
        days = max((len(s) for s in seeds), default=0)
        mean: list[float | None] = []
        for i in range(days):
            known = [s[i] for s in seeds if i < len(s)]
            mean.append(statistics.fmean(known) if known else None)
        out.append(Series(pack, mean, colour_, thin=[list(s) for s in seeds]))
    return out


def colours_seen(results: Reports) -> list[str]:
    """The code colours any drill's people held, in the health-code pages' order."""
    seen = {
        c
        for reports in results.values()
        for r in reports
        for d in r["daily"]
        for c in d.get("codes", {})
    }
    return [c for c in COLOURS if c in seen] + sorted(seen - set(COLOURS))


def _codes_of(name: str) -> Daily:
    def value(day: dict[str, Any]) -> float:
        return float(day.get("codes", {}).get(name, 0))

    return value


def charts(results: Reports, locale: str) -> list[str]:
    """Daily new cases, people in isolation, tests, and codes of each colour, by pack."""
    t = partial(text, locale=locale)
    plots: list[tuple[str, Daily]] = [
        (t("chart daily new cases"), lambda d: float(d["cases_found"])),
        (t("chart isolated"), lambda d: float(d["in_isolation"])),
        (t("chart tests"), lambda d: float(d["samples"])),
    ]
    for name in colours_seen(results):
        plots.append((t("chart codes", colour=colour(name, locale)), _codes_of(name)))
    return [
        line_chart(title=title, series=_series(results, value), day_label=t("day"))
        for title, value in plots
    ]


def to_html(results: Reports, locale: str = "zh_CN") -> str:
    """The comparison page: the table (mean ± 95% interval over the seeds) and the charts."""
    t = partial(text, locale=locale)
    seeds = max((len(r) for r in results.values()), default=0)
    head = "".join(f"<th>{html.escape(pack)}</th>" for pack in results)
    rows = "\n".join(
        f"<tr><th>{html.escape(t(label))}</th>"
        + "".join(f"<td>{html.escape(cell)}</td>" for cell in figure_cells(results, key))
        + "</tr>"
        for key, label in COMPARED
    )
    body = (
        f"<p>{html.escape(t('seeds'))}: 1–{seeds}. {html.escape(t('mean and interval'))}</p>\n"
        f"<table><tr><th>{html.escape(t('figure'))}</th>{head}</tr>\n{rows}</table>\n"
        f"<p>{html.escape(t('chart note'))}</p>\n" + "\n".join(charts(results, locale))
    )
    return page(locale=locale, title=t("compare_title"), body=body)
