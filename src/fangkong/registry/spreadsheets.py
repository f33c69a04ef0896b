"""The resident spreadsheet: one set of columns for the import template, the import and the
export, in .xlsx (openpyxl) and CSV. No database here: rows in, rows out.

Headers are written bilingually (``姓名 name``) and read leniently: a header cell matches a
column by its Chinese label, its English key or both, so a sheet re-typed by hand still loads.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl import Workbook, load_workbook

from fangkong.core.errors import FangkongError
from fangkong.registry.enums import DocumentType
from fangkong.registry.errors import RegistryErrorCode as Code


@dataclass(frozen=True)
class Column:
    key: str
    label_zh: str
    required: bool
    note: str  # what the column holds (written on the template's notes sheet)

    @property
    def header(self) -> str:
        return f"{self.label_zh} {self.key}"


COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", True, "full name"),
    Column(
        "document_type",
        "证件类型",
        False,
        "居民身份证 (default), 护照, 港澳通行证, 台湾通行证, 外国人永久居留证, 其他",
    ),
    Column(
        "document_number", "证件号码", False, "18-character resident ID or the document's number"
    ),
    Column("phone", "手机号码", False, "11-digit mobile, or area code + landline"),
    Column("sex", "性别", False, "男/女; taken from the ID when there is one"),
    Column("birth_date", "出生日期", False, "YYYY-MM-DD; taken from the ID when there is one"),
    Column("compound", "小区", True, "compound name, exactly as registered in the community"),
    Column("building", "楼栋", True, "building label, exactly as registered (e.g. 3栋)"),
    Column("unit", "单元", True, "unit (stairwell) number, 1, 2, …"),
    Column("floor", "楼层", False, "floor; taken from the room number (302 → 3) when empty"),
    Column("room", "房号", True, "room number, e.g. 302"),
    Column(
        "tags",
        "标签",
        False,
        "独居老人;孕产妇;透析患者;慢性病;残疾人;医务人员;重点行业从业人员;卧床",
    ),
    Column("workplace", "工作单位", False, "the workplace's unified social credit code (18 chars)"),
)
KEYS = tuple(column.key for column in COLUMNS)
MAX_ROWS = 20_000

DOCUMENT_LABELS: dict[str, DocumentType] = {
    "居民身份证": DocumentType.RESIDENT_ID,
    "身份证": DocumentType.RESIDENT_ID,
    "护照": DocumentType.PASSPORT,
    "港澳通行证": DocumentType.HK_MACAO_PERMIT,
    "港澳居民来往内地通行证": DocumentType.HK_MACAO_PERMIT,
    "台湾通行证": DocumentType.TAIWAN_PERMIT,
    "台湾居民来往大陆通行证": DocumentType.TAIWAN_PERMIT,
    "外国人永久居留证": DocumentType.FOREIGN_PERMANENT_RESIDENT,
    "外国人永久居留身份证": DocumentType.FOREIGN_PERMANENT_RESIDENT,
    "其他": DocumentType.OTHER,
}
DOCUMENT_LABEL_OF = {
    DocumentType.RESIDENT_ID: "居民身份证",
    DocumentType.PASSPORT: "护照",
    DocumentType.HK_MACAO_PERMIT: "港澳通行证",
    DocumentType.TAIWAN_PERMIT: "台湾通行证",
    DocumentType.FOREIGN_PERMANENT_RESIDENT: "外国人永久居留证",
    DocumentType.OTHER: "其他",
}
SEX_LABELS = {"男": "M", "女": "F", "m": "M", "f": "F", "male": "M", "female": "F"}
SEX_LABEL_OF = {"M": "男", "F": "女"}


@dataclass(frozen=True)
class SheetRow:
    number: int  # the row number a person sees in Excel (the header is row 1)
    values: dict[str, str]


def _column_for(header: str) -> str | None:
    text = header.strip().lower()
    for column in COLUMNS:
        if text in (column.key, column.label_zh, column.header.lower()):
            return column.key
        if text.startswith(column.label_zh) or text.endswith(column.key):
            return column.key
    return None


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _rows_from_table(table: list[list[object]]) -> list[SheetRow]:
    header_index = next((i for i, row in enumerate(table) if any(_cell_text(c) for c in row)), None)
    if header_index is None:
        raise FangkongError(Code.IMPORT_FILE_UNREADABLE, "the file is empty", field="file")
    mapping = {i: _column_for(_cell_text(cell)) for i, cell in enumerate(table[header_index])}
    present = {key for key in mapping.values() if key}
    missing = [column.header for column in COLUMNS if column.required and column.key not in present]
    if missing:
        raise FangkongError(
            Code.IMPORT_COLUMN_MISSING, f"missing columns: {', '.join(missing)}", field="file"
        )
    rows = []
    for offset, raw in enumerate(table[header_index + 1 :], start=header_index + 2):
        values = {key: "" for key in KEYS}
        for i, cell in enumerate(raw):
            key = mapping.get(i)
            if key:
                values[key] = _cell_text(cell)
        if any(values.values()):
            rows.append(SheetRow(offset, values))
    if len(rows) > MAX_ROWS:
        raise FangkongError(
            Code.IMPORT_TOO_MANY_ROWS, f"at most {MAX_ROWS} rows per file", field="file"
        )
    return rows


def read_rows(content: bytes, filename: str) -> list[SheetRow]:
    """The data rows of an uploaded .xlsx or .csv file (empty rows skipped)."""
    if filename.lower().endswith(".xlsx"):
        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            sheet = workbook.worksheets[0]
            table = [list(row) for row in sheet.iter_rows(values_only=True)]
            workbook.close()
        except Exception as exc:  # openpyxl raises many kinds on a damaged file
            raise FangkongError(
                Code.IMPORT_FILE_UNREADABLE, "this is not a readable .xlsx file", field="file"
            ) from exc
        return _rows_from_table(table)
    if filename.lower().endswith(".csv"):
        # Excel in Chinese Windows saves CSV as GB18030; everything else sends UTF-8.
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise FangkongError(Code.IMPORT_FILE_UNREADABLE, "unknown text encoding", field="file")
        return _rows_from_table([list(row) for row in csv.reader(io.StringIO(text))])
    raise FangkongError(Code.IMPORT_FILE_UNREADABLE, "upload a .xlsx or .csv file", field="file")


def write_xlsx(rows: list[list[str]], *, title: str, with_notes: bool = False) -> bytes:
    """A workbook with the bilingual header and ``rows``; every cell is text, so Excel never
    turns an ID number into a rounded floating-point number."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    sheet.append([column.header for column in COLUMNS])
    for row in rows:
        sheet.append(row)
    for cells in sheet.iter_cols(min_row=1, max_row=max(sheet.max_row, 500)):
        for cell in cells:
            cell.number_format = "@"
    for index, column in enumerate(COLUMNS):
        sheet.column_dimensions[chr(ord("A") + index)].width = 22 if column.required else 16
    if with_notes:
        notes = workbook.create_sheet("说明 notes")
        notes.append(["列 column", "必填 required", "说明 notes"])
        for column in COLUMNS:
            notes.append([column.header, "是 yes" if column.required else "否 no", column.note])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_csv(rows: list[list[str]]) -> bytes:
    """UTF-8 with a byte-order mark, which Excel needs to show Chinese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.header for column in COLUMNS])
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def template(fmt: str) -> bytes:
    """The empty import template (header, and a notes sheet in .xlsx)."""
    if fmt == "csv":
        return write_csv([])
    return write_xlsx([], title="居民 residents", with_notes=True)
