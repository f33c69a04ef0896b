from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fangkong.testing.enums import LabResult
from fangkong.testing.errors import TestingErrorCode
from fangkong.testing.formats.hl7 import Encoding, parse_hl7, parse_hl7_timestamp
from fangkong.testing.formats.records import RecordRefused
from tests.testing.hl7_samples import CR, batch, ct, message, oru

DETECTED = "260373001^Detected^SCT"


def test_it_reads_a_detected_pool_with_ct_values_per_target() -> None:
    segments = oru(
        result=DETECTED,
        ct_segments=(ct("94511-3", "24.5"), ct("FK-CT", "26.1", 3, "N"), ct("FK-CT", "27", 4, "E")),
    )

    report = parse_hl7(message(segments))

    assert report.rejected == []
    [record] = report.accepted
    assert record.tube_barcode == "ZZ430203100001"
    assert record.result is LabResult.DETECTED
    assert record.loinc_code == "94500-6"
    assert record.lab_id == "12430200MB1234567X"
    assert record.message_id == "ZZL20221110-0001"
    assert record.collected_at == datetime(2022, 11, 9, 23, 15, tzinfo=UTC)
    assert record.received_at == datetime(2022, 11, 10, 1, 30, tzinfo=UTC)
    assert record.reported_at == datetime(2022, 11, 10, 6, 30, tzinfo=UTC)
    assert dict(record.ct_values) == {"ORF1ab": 24.5, "N": 26.1, "E": 27.0}
    assert record.idempotency_key == "12430200MB1234567X|ZZL20221110-0001|ZZ430203100001"


@pytest.mark.parametrize(
    ("_case", "value", "expected"),
    [
        ("detected", "260373001^Detected^SCT", LabResult.DETECTED),
        ("not_detected", "260415000^Not detected^SCT", LabResult.NOT_DETECTED),
        ("inconclusive", "419984006^Inconclusive^SCT", LabResult.INCONCLUSIVE),
        ("invalid", "455371000124106^Invalid result^SCT", LabResult.INVALID),
    ],
)
def test_it_maps_each_snomed_result(_case: str, value: str, expected: LabResult) -> None:
    report = parse_hl7(message(oru(result=value)))

    assert [record.result for record in report.accepted] == [expected]


def test_it_calls_a_tube_inconclusive_when_gene_targets_disagree() -> None:
    second = (
        "OBX|2|CWE|94533-7^SARS-CoV-2 N gene Resp Ql NAA+probe^LN||260415000^Not detected^SCT"
        "||||||F"
    )
    report = parse_hl7(message(oru(result=DETECTED, ct_segments=(second,))))

    assert [record.result for record in report.accepted] == [LabResult.INCONCLUSIVE]


def test_it_takes_separators_from_msh_1_and_msh_2_and_resolves_escapes() -> None:
    segments = [segment.replace("|", "#").replace("^", "$") for segment in oru(tube="ZZ\\T\\0042")]
    segments = [s.replace("MSH#$~\\&#", "MSH#$~\\*#").replace("&ZZLAB", "*ZZLAB") for s in segments]
    # With '*' as the sub-component separator, \T\ in the barcode must become '*', which is then
    # refused as a barcode character: the escape was resolved, not left as text.
    report = parse_hl7(message(segments))

    assert report.accepted == []
    assert report.rejection_codes == [TestingErrorCode.TUBE_ID_INVALID]
    assert report.rejected[0].message == (
        "tube barcode 'ZZ*0042' is not 4-40 letters, digits, '-' or '_'"
    )


def test_it_reads_a_message_with_custom_separators() -> None:
    segments = [segment.replace("|", "#").replace("^", "$") for segment in oru()]

    report = parse_hl7(message(segments))

    assert [record.tube_barcode for record in report.accepted] == ["ZZ430203100001"]
    assert report.accepted[0].lab_id == "12430200MB1234567X"


def test_it_unescapes_every_standard_sequence() -> None:
    encoding = Encoding()

    assert encoding.unescape("a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f") == "a|b^c&d~e\\f"
    assert encoding.unescape("\\X414243\\-1\\.br\\2\\H\\") == "ABC-1\n2"
    assert encoding.unescape("no escapes") == "no escapes"


def test_it_loads_a_batch_and_refuses_only_the_bad_records() -> None:
    good = oru(control_id="M1", tube="ZZ0001")
    wrong_loinc = oru(control_id="M2", tube="ZZ0002", loinc="94558-4")
    no_tube = [s for s in oru(control_id="M3", tube="") if not s.startswith("SPM")]
    bad_time = oru(control_id="M4", tube="ZZ0004", collected="20221332071500")
    unknown_result = oru(control_id="M5", tube="ZZ0005", result="10828009^Weird^SCT")
    preliminary = oru(control_id="M6", tube="ZZ0006", status="P")
    also_good = oru(control_id="M7", tube="ZZ0007", result=DETECTED)
    text = batch([good, wrong_loinc, no_tube, bad_time, unknown_result, preliminary, also_good])

    report = parse_hl7(text)

    assert [r.tube_barcode for r in report.accepted] == ["ZZ0001", "ZZ0007"]
    assert [(r.code, r.tube_barcode) for r in report.rejected] == [
        (TestingErrorCode.TEST_CODE_NOT_ACCEPTED, "ZZ0002"),
        (TestingErrorCode.TUBE_ID_MISSING, None),
        (TestingErrorCode.TIMESTAMP_INVALID, "ZZ0004"),
        (TestingErrorCode.RESULT_CODE_UNKNOWN, "ZZ0005"),
        (TestingErrorCode.RESULT_NOT_FINAL, "ZZ0006"),
    ]
    # Lines 1-2 are FHS and BHS; a message is 7 segments (6 without SPM) with OBR fifth, and a
    # refusal points at the OBR line of its order group.
    assert [r.index for r in report.rejected] == [14, 21, 27, 34, 41]


def test_it_reports_a_batch_count_mismatch_but_keeps_the_records() -> None:
    text = batch([oru(control_id="M1", tube="ZZ0001")], declared=3)

    report = parse_hl7(text)

    assert [r.tube_barcode for r in report.accepted] == ["ZZ0001"]
    assert report.rejection_codes == [TestingErrorCode.HL7_BATCH_COUNT_MISMATCH]


def test_it_refuses_a_malformed_segment_and_only_its_order_group() -> None:
    first = oru(control_id="M1", tube="ZZ0001")
    first.insert(6, "OB|broken")
    text = batch([first, oru(control_id="M2", tube="ZZ0002")])

    report = parse_hl7(text)

    assert [r.tube_barcode for r in report.accepted] == ["ZZ0002"]
    assert [(r.index, r.code) for r in report.rejected] == [
        (9, TestingErrorCode.HL7_SEGMENT_MALFORMED)
    ]


@pytest.mark.parametrize(
    ("_case", "changes", "code"),
    [
        (
            "wrong type",
            {"msh_type": "ADT^A01^ADT_A01"},
            TestingErrorCode.HL7_MESSAGE_TYPE_UNSUPPORTED,
        ),
        ("old version", {"version": "2.3.1"}, TestingErrorCode.HL7_VERSION_UNSUPPORTED),
        ("no control id", {"control_id": ""}, TestingErrorCode.MESSAGE_ID_MISSING),
        ("no lab", {"sending_facility": ""}, TestingErrorCode.LAB_ID_MISSING),
        ("bad Ct", {"ct_segments": (ct("94510-5", "abc"),)}, TestingErrorCode.CT_VALUE_INVALID),
        (
            "Ct out of range",
            {"ct_segments": (ct("94510-5", "55"),)},
            TestingErrorCode.CT_VALUE_INVALID,
        ),
        (
            "report before collection",
            {"reported": "20221109120000+0800"},
            TestingErrorCode.TIMESTAMP_ORDER,
        ),
        ("no result value", {"result": ""}, TestingErrorCode.RESULT_MISSING),
    ],
)
def test_it_refuses_a_bad_message_with_a_specific_code(
    _case: str, changes: dict[str, object], code: TestingErrorCode
) -> None:
    report = parse_hl7(message(oru(**changes)))  # type: ignore[arg-type]

    assert report.accepted == []
    assert report.rejection_codes == [code]


def test_it_refuses_the_same_tube_twice_in_one_message() -> None:
    segments = oru(control_id="M1", tube="ZZ0001")
    order = segments[4:]
    report = parse_hl7(message(segments + order))

    assert [r.tube_barcode for r in report.accepted] == ["ZZ0001"]
    assert report.rejection_codes == [TestingErrorCode.DUPLICATE_RECORD]


def test_it_accepts_lf_and_crlf_segment_endings() -> None:
    segments = oru()

    for ending in ("\n", "\r\n"):
        report = parse_hl7(ending.join(segments))
        assert len(report.accepted) == 1
        assert report.rejected == []


def test_it_refuses_an_empty_file() -> None:
    assert parse_hl7(CR + CR).rejection_codes == [TestingErrorCode.FILE_EMPTY]


@pytest.mark.parametrize(
    ("_case", "value", "expected"),
    [
        ("offset", "202211100715+0800", datetime(2022, 11, 9, 23, 15, tzinfo=UTC)),
        (
            "seconds and fraction",
            "20221110071530.25-0100",
            datetime(2022, 11, 10, 8, 15, 30, 250000, tzinfo=UTC),
        ),
        ("local zone", "20221110071500", datetime(2022, 11, 9, 23, 15, tzinfo=UTC)),
    ],
)
def test_it_reads_hl7_timestamps(_case: str, value: str, expected: datetime) -> None:
    from fangkong.testing.formats.records import DEFAULT_LAB_TIMEZONE

    assert parse_hl7_timestamp(value, DEFAULT_LAB_TIMEZONE) == expected


@pytest.mark.parametrize("value", ["20221110", "2022111007", "20221131071500", "202211100715+08"])
def test_it_refuses_timestamps_coarser_than_minutes_or_impossible(value: str) -> None:
    from fangkong.testing.formats.records import DEFAULT_LAB_TIMEZONE

    with pytest.raises(RecordRefused) as refused:
        parse_hl7_timestamp(value, DEFAULT_LAB_TIMEZONE)

    assert refused.value.code is TestingErrorCode.TIMESTAMP_INVALID
