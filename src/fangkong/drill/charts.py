"""Inline SVG line charts for the drill reports (no script, nothing fetched from elsewhere)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

# Colour-blind-safe palette (Okabe & Ito), one colour per series in order.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")


@dataclass(frozen=True)
class Series:
    """One line: ``values[i]`` is day ``i`` (None where the drill had stopped). ``thin`` lines
    are drawn behind, in the same colour (e.g. the single seeds behind their mean)."""

    label: str
    values: Sequence[float | None]
    colour: str
    thin: Sequence[Sequence[float | None]] = field(default_factory=tuple)


def _ticks(top: float) -> list[float]:
    """Round tick values from 0 to at least ``top`` (about four steps)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / 4
    magnitude = 10 ** (len(str(int(raw))) - 1) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


def _polyline(
    values: Sequence[float | None], x: float, y: float, w: float, h: float, days: int, top: float
) -> list[str]:
    """Point lists of the runs of known values (a gap where a value is None)."""
    runs: list[list[str]] = [[]]
    span = max(days - 1, 1)
    for i, value in enumerate(values):
        if value is None:
            runs.append([])
            continue
        runs[-1].append(f"{x + w * i / span:.1f},{y + h - h * value / top:.1f}")
    return [" ".join(run) for run in runs if run]


def line_chart(
    *,
    title: str,
    series: Sequence[Series],
    day_label: str = "day",
    width: int = 640,
    height: int = 260,
) -> str:
    """A line chart of daily values, with a y axis of round ticks and a legend."""
    days = max((len(s.values) for s in series), default=1)
    values = [v for s in series for line in (s.values, *s.thin) for v in line if v is not None]
    ticks = _ticks(max(values, default=0.0))
    top = ticks[-1]
    left, right, upper, lower = 56, 12, 40, 28
    w, h = width - left - right, height - upper - lower
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{html.escape(title)}">',
        f'<text x="{left}" y="14" font-size="13" font-weight="bold">{html.escape(title)}</text>',
    ]
    for tick in ticks:
        ty = upper + h - h * tick / top
        parts.append(
            f'<line x1="{left}" y1="{ty:.1f}" x2="{left + w}" y2="{ty:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 4}" y="{ty + 4:.1f}" font-size="10" text-anchor="end">'
            f"{tick:,.0f}</text>"
        )
    parts.append(
        f'<text x="{left}" y="{height - 8}" font-size="10">{html.escape(day_label)} 0</text>'
        f'<text x="{left + w}" y="{height - 8}" font-size="10" text-anchor="end">'
        f"{html.escape(day_label)} {days - 1}</text>"
    )
    for s in series:
        for line in s.thin:
            for points in _polyline(line, left, upper, w, h, days, top):
                parts.append(
                    f'<polyline fill="none" stroke="{s.colour}" stroke-opacity="0.35" '
                    f'stroke-width="1" points="{points}"/>'
                )
    for n, s in enumerate(series):
        for points in _polyline(s.values, left, upper, w, h, days, top):
            parts.append(
                f'<polyline fill="none" stroke="{s.colour}" stroke-width="2.5" points="{points}"/>'
            )
        parts.append(
            f'<text x="{left + 8 + 150 * n}" y="30" font-size="11" fill="{s.colour}">'
            f"■ {html.escape(s.label)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)
