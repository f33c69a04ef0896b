from __future__ import annotations

from datetime import UTC, datetime

from fangkong.testing.enums import LabResult
from fangkong.testing.errors import TestingErrorCode
from fangkong.testing.formats.csv_results import REQUIRED_COLUMNS, TEMPLATE_PATH, parse_csv

HEADER = (
    "record_id,lab_id,tube_barcode,loinc_code,result,collected_at,received_at,reported_at,"
    "ct_ORF1ab,ct_N\n"
)
LAB = "12430200MB1234567X"


def row(
    record: str = "R1",
    tube: str = "ZZ0001",
    result: str = "not_detected",
    loinc: str = "94500-6",
    collected: str = "2022-11-10T07:15:00+08:00",
    received: str = "2022-11-10 09:30",
    reported: str = "2022-11-10T14:30:00+08:00",
    ct_orf1ab: str = "",
    ct_n: str = "",
) -> str:
    return (
        f"{record},{LAB},{tube},{loinc},{result},{collected},{received},{reported},"
        f"{ct_orf1ab},{ct_n}\n"
    )


def test_it_parses_the_downloadable_template_without_refusals() -> None:
    text = TEMPLATE_PATH.read_text(encoding="utf-8")

    report = parse_csv(text)

    assert report.rejected == []
    assert [r.tube_barcode for r in report.accepted] == ["ZZ430203100001"]
    assert text.splitlines()[0].split(",")[:5] == list(REQUIRED_COLUMNS[:5])


def test_it_reads_results_in_english_chinese_and_snomed_with_ct_columns() -> None:
    text = "\ufeff" + HEADER
    text += row("R1", "ZZ0001", "阳性", ct_orf1ab="24.1", ct_n="25.9")
    text += row("R2", "ZZ0002", "260415000")
    text += row("R3", "ZZ0003", "Inconclusive")

    report = parse_csv(text)

    assert report.rejected == []
    assert [(r.tube_barcode, r.result) for r in report.accepted] == [
        ("ZZ0001", LabResult.DETECTED),
        ("ZZ0002", LabResult.NOT_DETECTED),
        ("ZZ0003", LabResult.INCONCLUSIVE),
    ]
    first = report.accepted[0]
    assert dict(first.ct_values) == {"ORF1ab": 24.1, "N": 25.9}
    # A time without an offset is read in the lab's zone (Asia/Shanghai by default).
    assert first.received_at == datetime(2022, 11, 10, 1, 30, tzinfo=UTC)
    assert first.collected_at == datetime(2022, 11, 9, 23, 15, tzinfo=UTC)


def test_it_refuses_each_bad_row_and_keeps_the_good_ones() -> None:
    text = HEADER
    text += row("R1", "ZZ0001")
    text += row("R2", "", "阴性")
    text += row("R3", "ZZ0003", loinc="12345-6")
    text += row("R4", "ZZ0004", collected="2022-11-10")
    text += row("R5", "ZZ0005", collected="yesterday")
    text += row("R6", "ZZ0006", result="maybe")
    text += row("R7", "ZZ0007", ct_n="-3")
    text += "R8,short,row\n"
    text += row("R1", "ZZ0001")
    text += row("", "ZZ0010")
    text += row("R11", "ZZ0011", reported="2022-11-09T14:30:00+08:00")
    text += row("R12", "ZZ0012")

    report = parse_csv(text)

    assert [r.tube_barcode for r in report.accepted] == ["ZZ0001", "ZZ0012"]
    assert [(r.index, r.code, r.tube_barcode) for r in report.rejected] == [
        (3, TestingErrorCode.TUBE_ID_MISSING, None),
        (4, TestingErrorCode.TEST_CODE_NOT_ACCEPTED, "ZZ0003"),
        (5, TestingErrorCode.TIMESTAMP_INVALID, "ZZ0004"),
        (6, TestingErrorCode.TIMESTAMP_INVALID, "ZZ0005"),
        (7, TestingErrorCode.RESULT_CODE_UNKNOWN, "ZZ0006"),
        (8, TestingErrorCode.CT_VALUE_INVALID, "ZZ0007"),
        (9, TestingErrorCode.CSV_ROW_MALFORMED, None),
        (10, TestingErrorCode.DUPLICATE_RECORD, "ZZ0001"),
        (11, TestingErrorCode.MESSAGE_ID_MISSING, "ZZ0010"),
        (12, TestingErrorCode.TIMESTAMP_ORDER, "ZZ0011"),
    ]


def test_it_refuses_a_file_whose_header_lacks_a_required_column() -> None:
    report = parse_csv("record_id,lab_id,tube_barcode,result\nR1,L,ZZ0001,阴性\n")

    assert report.accepted == []
    assert report.rejection_codes == [TestingErrorCode.CSV_HEADER_INVALID]
    assert report.rejected[0].message == ("missing columns: loinc_code, collected_at, reported_at")


def test_it_refuses_an_unknown_ct_target_column() -> None:
    report = parse_csv(HEADER.replace("ct_N\n", "ct_banana\n") + row())

    assert report.rejection_codes == [TestingErrorCode.CSV_HEADER_INVALID]
    assert report.accepted == []


def test_it_refuses_an_empty_file() -> None:
    assert parse_csv("").rejection_codes == [TestingErrorCode.FILE_EMPTY]
