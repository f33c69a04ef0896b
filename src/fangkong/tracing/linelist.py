"""The case line list (一览表) as .xlsx or CSV: one row per case, the columns a bulletin and a
field team need. Names are shown, identity numbers only masked. No database here."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl import Workbook

HEADERS = (
    "病例编号 case id",
    "姓名 name",
    "证件号 document (masked)",
    "现住址区划 area",
    "类型 kind",
    "状态 status",
    "临床分型 severity",
    "发现途径 detection route",
    "发病日期 onset date",
    "采样时间 sampled at (UTC)",
    "报告时间 reported at (UTC)",
    "订正时间 reclassified at (UTC)",
    "来源 source",
    "密接数 close contacts",
    "次密接数 secondary contacts",
)


@dataclass(frozen=True)
class LineListRow:
    case_id: int
    name: str
    document_masked: str | None
    area_path: str
    kind: str
    status: str
    severity: str | None
    detection_route: str
    onset_date: date | None
    sampled_at: datetime | None
    reported_at: datetime
    reclassified_at: datetime | None
    source_ref: str | None
    close_contacts: int
    secondary_contacts: int


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def cells(row: LineListRow) -> list[str]:
    return [
        _text(value)
        for value in (
            row.case_id,
            row.name,
            row.document_masked,
            row.area_path,
            row.kind,
            row.status,
            row.severity,
            row.detection_route,
            row.onset_date,
            row.sampled_at,
            row.reported_at,
            row.reclassified_at,
            row.source_ref,
            row.close_contacts,
            row.secondary_contacts,
        )
    ]


def write_xlsx(rows: Sequence[LineListRow]) -> bytes:
    """Every cell is text, so Excel never reformats a date or an id."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "病例 cases"
    sheet.append(list(HEADERS))
    for row in rows:
        sheet.append(cells(row))
    for column in sheet.iter_cols(min_row=1, max_row=sheet.max_row):
        for cell in column:
            cell.number_format = "@"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_csv(rows: Sequence[LineListRow]) -> bytes:
    """UTF-8 with a byte-order mark, which Excel needs to show Chinese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows(cells(row) for row in rows)
    return buffer.getvalue().encode("utf-8-sig")
