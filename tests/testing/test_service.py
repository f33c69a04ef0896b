from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.accounts.service import actor_for
from fangkong.core.audit import AuditEvent
from fangkong.testing import actions, service
from fangkong.testing.enums import LabResult, ResultFormat
from fangkong.testing.errors import TestingErrorCode
from fangkong.testing.models import ResultUpload, Tube, TubeResult
from tests.personas import Personas
from tests.testing.hl7_samples import batch, ct, oru

OPENED = datetime(2022, 11, 10, 7, 0, tzinfo=UTC)


def register_tube(session: Session, barcode: str) -> Tube:
    tube = Tube(
        barcode=barcode,
        area_path="/43/4302/430203/",
        pool_size=10,
        status="sealed",
        opened_at=OPENED,
    )
    session.add(tube)
    session.flush()
    return tube


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_it_stores_accepted_results_and_the_outcome_report(
    session: Session, personas: Personas
) -> None:
    actor = actor_for(personas.admin())
    tube = register_tube(session, "ZZ0001")
    content = batch(
        [
            oru(
                control_id="M1",
                tube="ZZ0001",
                result="260373001^Detected^SCT",
                ct_segments=(ct("94511-3", "24.5"),),
            ),
            oru(control_id="M2", tube="ZZ0002"),
            oru(control_id="M3", tube="ZZ0003", loinc="94558-4"),
        ]
    ).encode()

    upload, is_new = actions.ingest_result_file(
        session=session,
        actor=actor,
        result_format=ResultFormat.HL7,
        filename="lab-20221110.hl7",
        content=content,
    )

    assert is_new is True
    assert (upload.accepted_count, upload.stored_count, upload.duplicate_count) == (2, 2, 0)
    assert (upload.unmatched_count, upload.rejected_count) == (1, 1)
    assert upload.rejections == [
        {
            "index": 22,  # the OBR line of the third message
            "code": str(TestingErrorCode.TEST_CODE_NOT_ACCEPTED),
            "message": "test code '94558-4' is not an accepted SARS-CoV-2 RNA LOINC code",
            "tube_barcode": "ZZ0003",
        }
    ]
    [stored] = service.list_results_for_tube(session=session, barcode="ZZ0001")
    assert stored.tube_id == tube.id
    assert stored.result == LabResult.DETECTED.value
    assert stored.ct_values == {"ORF1ab": 24.5}
    assert stored.collected_at == datetime(2022, 11, 9, 23, 15, tzinfo=UTC)
    [unmatched] = service.list_results_for_tube(session=session, barcode="ZZ0002")
    assert unmatched.tube_id is None
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "testing.results_uploaded")
    ).one()
    assert event.subject_id == str(upload.id)
    assert event.actor_user_id == actor.user_id
    assert event.after == {
        "filename": "lab-20221110.hl7",
        "format": "hl7v2",
        "accepted": 2,
        "stored": 2,
        "duplicates": 0,
        "unmatched": 1,
        "rejected": 1,
    }


def test_it_answers_the_same_file_twice_with_the_first_report_and_stores_nothing(
    session: Session,
) -> None:
    content = batch([oru(control_id="M1", tube="ZZ0001")]).encode()
    first, _ = actions.ingest_result_file(
        session=session,
        actor=None,
        result_format=ResultFormat.HL7,
        filename="a.hl7",
        content=content,
    )

    again, is_new = actions.ingest_result_file(
        session=session,
        actor=None,
        result_format=ResultFormat.HL7,
        filename="a-copy.hl7",
        content=content,
    )

    assert is_new is False
    assert again.id == first.id
    assert count(session, ResultUpload) == 1
    assert count(session, TubeResult) == 1
    assert count(session, AuditEvent) == 1


def test_it_stores_a_result_once_when_another_file_repeats_it(session: Session) -> None:
    actions.ingest_result_file(
        session=session,
        actor=None,
        result_format=ResultFormat.HL7,
        filename="a.hl7",
        content=batch([oru(control_id="M1", tube="ZZ0001")]).encode(),
    )

    upload, is_new = actions.ingest_result_file(
        session=session,
        actor=None,
        result_format=ResultFormat.HL7,
        filename="b.hl7",
        content=batch(
            [oru(control_id="M1", tube="ZZ0001"), oru(control_id="M2", tube="ZZ0002")]
        ).encode(),
    )

    assert is_new is True
    assert (upload.accepted_count, upload.stored_count, upload.duplicate_count) == (2, 1, 1)
    assert count(session, TubeResult) == 2


def test_it_records_an_unreadable_file_and_stores_no_result(session: Session) -> None:
    upload, is_new = actions.ingest_result_file(
        session=session,
        actor=None,
        result_format=ResultFormat.CSV,
        filename="bad.csv",
        content=b"\xff\xfe\x00garbage",
    )

    assert is_new is True
    assert (upload.accepted_count, upload.rejected_count) == (0, 1)
    assert upload.rejections[0]["code"] == str(TestingErrorCode.FILE_UNREADABLE)
    assert count(session, TubeResult) == 0


def test_it_reads_csv_and_fhir_uploads(session: Session) -> None:
    csv_content = (
        "record_id,lab_id,tube_barcode,loinc_code,result,collected_at,reported_at\n"
        "R1,LAB1,ZZ0101,94500-6,阴性,2022-11-10 07:15,2022-11-10 14:30\n"
    ).encode()
    fhir_content = (
        b'{"resourceType": "Observation", "id": "o1", "status": "final",'
        b' "code": {"coding": [{"system": "http://loinc.org", "code": "94309-2"}]},'
        b' "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct",'
        b' "code": "260373001"}]}, "specimen": {"identifier": {"value": "ZZ0102"}},'
        b' "performer": [{"identifier": {"value": "LAB2"}}],'
        b' "effectiveDateTime": "2022-11-10T07:15:00+08:00",'
        b' "issued": "2022-11-10T14:30:00+08:00"}'
    )

    csv_upload, _ = actions.ingest_result_file(
        session=session,
        actor=None,
        result_format=ResultFormat.CSV,
        filename="r.csv",
        content=csv_content,
    )
    fhir_upload, _ = actions.ingest_result_file(
        session=session,
        actor=None,
        result_format=ResultFormat.FHIR,
        filename="r.json",
        content=fhir_content,
    )

    assert (csv_upload.stored_count, fhir_upload.stored_count) == (1, 1)
    assert [r.result for r in service.list_results_for_tube(session=session, barcode="ZZ0102")] == [
        "detected"
    ]
