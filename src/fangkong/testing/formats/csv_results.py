"""CSV lab results: one row per tube, with the header documented in ``docs/testing.md``.

The template a lab downloads is ``testing/data/lab_results_template.csv`` (:data:`TEMPLATE_PATH`).
Required columns: ``record_id, lab_id, tube_barcode, loinc_code, result, collected_at,
reported_at``; optional: ``received_at`` and any number of ``ct_<target>`` columns
(``ct_ORF1ab``, ``ct_N`` ...). Extra columns are ignored. Times are ISO 8601; a time without an
offset is read in the lab's zone. ``result`` takes ``detected``, ``not_detected``,
``inconclusive``, ``invalid``, the Chinese words 阳性/阴性/可疑/无效, or a SNOMED CT code.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from fangkong.testing.enums import LabResult, ResultFormat
from fangkong.testing.errors import TestingErrorCode
from fangkong.testing.formats.records import (
    DEFAULT_LAB_TIMEZONE,
    LabResultRecord,
    ParseReport,
    RecordRefused,
    check_ct_value,
    check_times,
    check_tube_barcode,
)
from fangkong.testing.formats.vocabulary import (
    ACCEPTED_PRESENCE_CODES,
    CT_TARGETS,
    SNOMED_RESULTS,
)

REQUIRED_COLUMNS = (
    "record_id",
    "lab_id",
    "tube_barcode",
    "loinc_code",
    "result",
    "collected_at",
    "reported_at",
)
OPTIONAL_COLUMNS = ("received_at",)
# The header and one example row a lab downloads from the upload page.
TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "data" / "lab_results_template.csv"

RESULT_WORDS: dict[str, LabResult] = {
    **{result.value: result for result in LabResult},
    "阳性": LabResult.DETECTED,
    "阴性": LabResult.NOT_DETECTED,
    "可疑": LabResult.INCONCLUSIVE,
    "无效": LabResult.INVALID,
    **SNOMED_RESULTS,
}


def parse_csv(text: str, *, local_timezone: tzinfo = DEFAULT_LAB_TIMEZONE) -> ParseReport:
    """Parse a results CSV (UTF-8, optional BOM, comma-separated, first line the header)."""
    report = ParseReport(ResultFormat.CSV)
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = next(rows, None)
    if header is None:
        report.reject(1, TestingErrorCode.FILE_EMPTY, "the file holds no header")
        return report
    columns = [name.strip() for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        report.reject(
            1, TestingErrorCode.CSV_HEADER_INVALID, f"missing columns: {', '.join(missing)}"
        )
        return report
    position = {
        name: columns.index(name)
        for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
        if name in columns
    }
    ct_columns: dict[int, str] = {}
    for index, name in enumerate(columns):
        if name.lower().startswith("ct_"):
            target = _ct_target(name[3:])
            if target is None:
                report.reject(
                    1, TestingErrorCode.CSV_HEADER_INVALID, f"unknown Ct target column {name!r}"
                )
                return report
            ct_columns[index] = target
    seen: set[str] = set()
    for values in rows:
        line = rows.line_num
        if not any(value.strip() for value in values):
            continue
        try:
            record = _row(values, len(columns), position, ct_columns, local_timezone)
            if record.idempotency_key in seen:
                raise RecordRefused(
                    TestingErrorCode.DUPLICATE_RECORD,
                    f"record {record.message_id} for tube {record.tube_barcode} appears twice",
                    record.tube_barcode,
                )
            seen.add(record.idempotency_key)
            report.accepted.append(record)
        except RecordRefused as refused:
            report.reject(line, refused.code, refused.message, refused.tube_barcode)
    return report


def _ct_target(name: str) -> str | None:
    return next((target for target in CT_TARGETS if target.lower() == name.lower()), None)


def _row(
    values: list[str],
    width: int,
    position: dict[str, int],
    ct_columns: dict[int, str],
    zone: tzinfo,
) -> LabResultRecord:
    if len(values) != width:
        raise RecordRefused(
            TestingErrorCode.CSV_ROW_MALFORMED, f"the row has {len(values)} cells, not {width}"
        )

    def cell(name: str) -> str:
        return values[position[name]].strip() if name in position else ""

    barcode = check_tube_barcode(cell("tube_barcode"))
    try:
        loinc = cell("loinc_code")
        if loinc not in ACCEPTED_PRESENCE_CODES:
            raise RecordRefused(
                TestingErrorCode.TEST_CODE_NOT_ACCEPTED,
                f"test code {loinc!r} is not an accepted SARS-CoV-2 RNA LOINC code",
            )
        word = cell("result")
        if not word:
            raise RecordRefused(TestingErrorCode.RESULT_MISSING, "the result cell is empty")
        result = RESULT_WORDS.get(word.lower()) or RESULT_WORDS.get(word)
        if result is None:
            raise RecordRefused(
                TestingErrorCode.RESULT_CODE_UNKNOWN, f"result {word!r} is not a known result"
            )
        if not cell("lab_id"):
            raise RecordRefused(TestingErrorCode.LAB_ID_MISSING, "the lab_id cell is empty")
        if not cell("record_id"):
            raise RecordRefused(TestingErrorCode.MESSAGE_ID_MISSING, "the record_id is empty")
        collected_at = _time(cell("collected_at"), "collected_at", zone)
        reported_at = _time(cell("reported_at"), "reported_at", zone)
        received_raw = cell("received_at")
        received_at = _time(received_raw, "received_at", zone) if received_raw else None
        check_times(collected_at, received_at, reported_at)
        ct_values = {
            target: check_ct_value(values[index].strip(), target)
            for index, target in ct_columns.items()
            if values[index].strip()
        }
    except RecordRefused as refused:
        refused.tube_barcode = barcode
        raise
    return LabResultRecord(
        tube_barcode=barcode,
        result=result,
        loinc_code=loinc,
        lab_id=cell("lab_id"),
        message_id=cell("record_id"),
        collected_at=collected_at,
        reported_at=reported_at,
        received_at=received_at,
        ct_values=ct_values,
    )


def _time(raw: str, column: str, zone: tzinfo) -> datetime:
    if not raw:
        raise RecordRefused(TestingErrorCode.TIMESTAMP_MISSING, f"{column} is empty")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise RecordRefused(
            TestingErrorCode.TIMESTAMP_INVALID, f"{column} {raw!r} is not an ISO 8601 time"
        ) from None
    if len(raw) <= 10:  # a bare date: the minute of collection matters for turnaround
        raise RecordRefused(
            TestingErrorCode.TIMESTAMP_INVALID, f"{column} {raw!r} has no time of day"
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)
