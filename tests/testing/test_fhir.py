from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from fangkong.testing.enums import LabResult
from fangkong.testing.errors import TestingErrorCode
from fangkong.testing.formats.fhir import parse_fhir

LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
LAB = {"identifier": {"system": "urn:cn:uscc", "value": "12430200MB1234567X"}}


def specimen(tube: str, *, received: str = "2022-11-10T09:30:00+08:00") -> dict[str, Any]:
    return {
        "fullUrl": f"urn:uuid:spm-{tube}",
        "resource": {
            "resourceType": "Specimen",
            "id": f"spm-{tube}",
            "accessionIdentifier": {"system": "urn:zz:tube", "value": tube},
            "collection": {"collectedDateTime": "2022-11-10T07:15:00+08:00"},
            "receivedTime": received,
        },
    }


def observation(
    tube: str,
    *,
    obs_id: str | None = None,
    code: str = "94500-6",
    result: str | None = "260415000",
    status: str = "final",
    issued: str | None = "2022-11-10T14:30:00+08:00",
    components: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": obs_id or f"obs-{tube}",
        "identifier": [{"system": "urn:zz:lis", "value": obs_id or f"LIS-{tube}"}],
        "status": status,
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "specimen": {"reference": f"urn:uuid:spm-{tube}"},
        "performer": [LAB],
        "effectiveDateTime": "2022-11-10T07:15:00+08:00",
    }
    if issued is not None:
        resource["issued"] = issued
    if result is not None:
        resource["valueCodeableConcept"] = {"coding": [{"system": SCT, "code": result}]}
    if components is not None:
        resource["component"] = components
    return {"fullUrl": f"urn:uuid:obs-{tube}", "resource": resource}


def ct_component(code: str, value: float, text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": [{"system": LOINC, "code": code}]}
    if text is not None:
        concept["text"] = text
    return {"code": concept, "valueQuantity": {"value": value, "unit": "{Ct_value}"}}


def bundle(*entries: dict[str, Any], kind: str = "collection") -> str:
    return json.dumps({"resourceType": "Bundle", "type": kind, "entry": list(entries)})


@pytest.mark.parametrize("kind", ["collection", "transaction", "batch"])
def test_it_reads_observations_with_specimens_from_each_bundle_type(kind: str) -> None:
    text = bundle(
        specimen("ZZ0001"),
        observation(
            "ZZ0001",
            result="260373001",
            components=[ct_component("94511-3", 23.4), ct_component("FK-CT", 25.0, "N")],
        ),
        specimen("ZZ0002"),
        observation("ZZ0002"),
        kind=kind,
    )

    report = parse_fhir(text)

    assert report.rejected == []
    first, second = report.accepted
    assert (first.tube_barcode, first.result) == ("ZZ0001", LabResult.DETECTED)
    assert dict(first.ct_values) == {"ORF1ab": 23.4, "N": 25.0}
    assert first.lab_id == "12430200MB1234567X"
    assert first.message_id == "LIS-ZZ0001"
    assert first.collected_at == datetime(2022, 11, 9, 23, 15, tzinfo=UTC)
    assert first.received_at == datetime(2022, 11, 10, 1, 30, tzinfo=UTC)
    assert first.reported_at == datetime(2022, 11, 10, 6, 30, tzinfo=UTC)
    assert (second.tube_barcode, second.result) == ("ZZ0002", LabResult.NOT_DETECTED)


def test_it_reads_a_single_observation_with_a_logical_specimen_identifier() -> None:
    resource = observation("ZZ0003", result="419984006")["resource"]
    resource["specimen"] = {"identifier": {"system": "urn:zz:tube", "value": "ZZ0003"}}

    report = parse_fhir(json.dumps(resource))

    assert [(r.tube_barcode, r.result) for r in report.accepted] == [
        ("ZZ0003", LabResult.INCONCLUSIVE)
    ]
    assert report.accepted[0].received_at is None


def test_it_attaches_separate_ct_observations_to_the_result_of_the_same_tube() -> None:
    ct_obs = observation("ZZ0001", obs_id="CT-1", code="94510-5", result=None)
    ct_obs["resource"]["valueQuantity"] = {"value": 31.2}
    orphan = observation("ZZ0009", obs_id="CT-9", code="94510-5", result=None)
    orphan["resource"]["valueQuantity"] = {"value": 30.0}
    text = bundle(specimen("ZZ0001"), ct_obs, observation("ZZ0001"), specimen("ZZ0009"), orphan)

    report = parse_fhir(text)

    assert [dict(r.ct_values) for r in report.accepted] == [{"N": 31.2}]
    assert [(r.index, r.code) for r in report.rejected] == [(5, TestingErrorCode.CT_WITHOUT_RESULT)]


def test_it_refuses_each_bad_observation_and_keeps_the_rest() -> None:
    no_specimen = observation("ZZ0002")
    no_specimen["resource"].pop("specimen")
    no_lab = observation("ZZ0008")
    no_lab["resource"].pop("performer")
    text = bundle(
        specimen("ZZ0001"),
        observation("ZZ0001"),
        no_specimen,
        observation("ZZ0003", code="94558-4"),
        specimen("ZZ0004"),
        observation("ZZ0004", result="999999"),
        specimen("ZZ0005"),
        observation("ZZ0005", status="preliminary"),
        specimen("ZZ0006"),
        observation("ZZ0006", issued="2022-11-10"),
        specimen("ZZ0007"),
        observation("ZZ0007", result=None),
        specimen("ZZ0008"),
        no_lab,
        specimen("ZZ0010"),
        observation("ZZ0010", issued="2022-11-09T14:30:00+08:00"),
    )

    report = parse_fhir(text)

    assert [r.tube_barcode for r in report.accepted] == ["ZZ0001"]
    assert [(r.index, r.code, r.tube_barcode) for r in report.rejected] == [
        (3, TestingErrorCode.TUBE_ID_MISSING, None),
        (4, TestingErrorCode.TEST_CODE_NOT_ACCEPTED, None),
        (6, TestingErrorCode.RESULT_CODE_UNKNOWN, "ZZ0004"),
        (8, TestingErrorCode.RESULT_NOT_FINAL, "ZZ0005"),
        (10, TestingErrorCode.TIMESTAMP_INVALID, "ZZ0006"),
        (12, TestingErrorCode.RESULT_MISSING, "ZZ0007"),
        (14, TestingErrorCode.LAB_ID_MISSING, "ZZ0008"),
        (16, TestingErrorCode.TIMESTAMP_ORDER, "ZZ0010"),
    ]


@pytest.mark.parametrize(
    ("_case", "text", "code"),
    [
        ("not json", "{not json", TestingErrorCode.FILE_UNREADABLE),
        ("a list", "[]", TestingErrorCode.FILE_UNREADABLE),
        ("a patient", '{"resourceType": "Patient"}', TestingErrorCode.FHIR_RESOURCE_UNSUPPORTED),
        (
            "a searchset",
            '{"resourceType": "Bundle", "type": "searchset"}',
            TestingErrorCode.FHIR_BUNDLE_TYPE_UNSUPPORTED,
        ),
    ],
)
def test_it_refuses_a_file_it_cannot_read(_case: str, text: str, code: TestingErrorCode) -> None:
    report = parse_fhir(text)

    assert report.accepted == []
    assert report.rejection_codes == [code]


def test_it_refuses_the_same_observation_twice() -> None:
    text = bundle(specimen("ZZ0001"), observation("ZZ0001"), observation("ZZ0001"))

    report = parse_fhir(text)

    assert len(report.accepted) == 1
    assert report.rejection_codes == [TestingErrorCode.DUPLICATE_RECORD]
