"""Files and drawings of the command centre, no database: the bulletin as a PDF (CJK text in
STSong-Light, which PDF readers supply, as enterprise/sheets.py does), tables as .xlsx and CSV,
and the epidemic curve as an SVG drawn on the server."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

from openpyxl import Workbook
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from fangkong.command.rules import Tile

FONT = "STSong-Light"
MARGIN = 18 * mm


def _wrap(text: str, width: float, size: int) -> list[str]:
    """Lines of ``text`` that fit ``width`` points, broken anywhere (Chinese has no spaces)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for char in paragraph:
            if pdfmetrics.stringWidth(current + char, FONT, size) > width:
                lines.append(current)
                current = char
            else:
                current += char
        lines.append(current)
    return lines


def bulletin_pdf(*, title: str, texts: Sequence[str]) -> bytes:
    """An A4 PDF with each text in turn (the Chinese bulletin, then the English)."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    width, height = A4
    size, leading = 11, 16
    y = height - MARGIN
    for text in texts:
        for line in _wrap(text, width - 2 * MARGIN, size):
            if y < MARGIN:
                canvas.showPage()
                y = height - MARGIN
            canvas.setFont(FONT, size)
            canvas.drawString(MARGIN, y, line)
            y -= leading
        y -= leading
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def table_csv(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    """CSV with a BOM so Excel opens the Chinese headers as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def table_xlsx(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(list(headers))
    for row in rows:
        sheet.append(["" if v is None else v for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def curve_svg(
    points: Sequence[tuple[date, int, int]], *, width: int = 640, height: int = 220
) -> str:
    """A stacked bar chart of new confirmed (dark) and asymptomatic (light) by report date."""
    pad_left, pad_bottom, pad_top = 36, 28, 10
    plot_w, plot_h = width - pad_left - 8, height - pad_bottom - pad_top
    top = max([c + a for _, c, a in points] + [1])
    bar = plot_w / max(len(points), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" class="curve" aria-label="epidemic curve">',
        f'<line x1="{pad_left}" y1="{pad_top + plot_h}" x2="{width - 8}" '
        f'y2="{pad_top + plot_h}" stroke="#555"/>',
        f'<text x="{pad_left - 4}" y="{pad_top + 8}" text-anchor="end" font-size="10">{top}</text>',
        f'<text x="{pad_left - 4}" y="{pad_top + plot_h}" text-anchor="end" '
        'font-size="10">0</text>',
    ]
    for index, (day, confirmed, asymptomatic) in enumerate(points):
        x = pad_left + index * bar + 1
        base = float(pad_top + plot_h)
        for value, colour, label in (
            (confirmed, "#b3261e", "confirmed"),
            (asymptomatic, "#f2a29b", "asymptomatic"),
        ):
            h = plot_h * value / top
            if value:
                parts.append(
                    f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{max(bar - 2, 1):.1f}" '
                    f'height="{h:.1f}" fill="{colour}"><title>{day.isoformat()} '
                    f"{escape(label)} {value}</title></rect>"
                )
            base -= h
        if len(points) <= 16 or index % max(len(points) // 8, 1) == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - 10}" text-anchor="middle" '
                f'font-size="10">{day:%m-%d}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def map_svg(
    tiles: Sequence[tuple[Tile, str, str, bool, str]],
    *,
    size: int = 600,
    badges: Mapping[str, int] | None = None,
) -> str:
    """A schematic map: one linked rectangle per area ``(tile, name, fill, outlined, href)``,
    filled by rate and outlined red where risk areas exist; ``badges`` (the epidemic-free
    layer) puts a green disc with the count of certified compounds in an area's corner. The
    shapes are not geography: sizes follow population, positions follow the order of the area
    codes."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" role="img" '
        'class="area-map" aria-label="schematic map">'
    ]
    for tile, name, fill, outlined, href in tiles:
        stroke = (
            'stroke="#b3261e" stroke-width="5"' if outlined else 'stroke="#fff" stroke-width="2"'
        )
        px, py, pw, ph = tile.x * size, tile.y * size, tile.w * size, tile.h * size
        parts.append(
            f'<a href="{escape(href)}" data-area="{escape(tile.key)}">'
            f'<rect x="{px + 3:.1f}" y="{py + 3:.1f}" width="{max(pw - 6, 1):.1f}" '
            f'height="{max(ph - 6, 1):.1f}" fill="{fill}" {stroke}>'
            f"<title>{escape(name)}</title></rect>"
            f'<text x="{px + pw / 2:.1f}" y="{py + ph / 2:.1f}" text-anchor="middle" '
            f'dominant-baseline="middle" font-size="16">{escape(name)}</text></a>'
        )
        certified = (badges or {}).get(tile.key, 0)
        if certified:
            parts.append(
                f'<g class="certified" data-area="{escape(tile.key)}" data-count="{certified}">'
                f'<circle cx="{px + 18:.1f}" cy="{py + 18:.1f}" r="12" fill="#1e8e3e"/>'
                f'<text x="{px + 18:.1f}" y="{py + 18:.1f}" text-anchor="middle" '
                f'dominant-baseline="middle" font-size="12" fill="#fff">{certified}</text></g>'
            )
    parts.append("</svg>")
    return "".join(parts)
