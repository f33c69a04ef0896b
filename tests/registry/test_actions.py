from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.core.audit import AuditEvent
from fangkong.core.errors import FangkongError
from fangkong.registry import actions, persons, places, spreadsheets
from fangkong.registry.enums import MergeStatus, PersonStatus, PersonTag
from fangkong.registry.errors import RegistryErrorCode as Code
from fangkong.registry.models import Workplace
from fangkong.registry.rules import resident_id_check_character
from fangkong.registry.schemas import PersonCreate
from tests.authz import snapshot
from tests.personas import LUSONG, Personas
from tests.registry.helpers import COMMUNITY, GRID, Place, actor_of, make_place, resident_id

HEADER = [column.header for column in spreadsheets.COLUMNS]
CREDIT_CODE = "91430200184284166X"  # an invented unified social credit code


def sheet(rows: list[list[str]], fmt: str = "csv") -> list[spreadsheets.SheetRow]:
    content = (
        spreadsheets.write_csv(rows) if fmt == "csv" else spreadsheets.write_xlsx(rows, title="t")
    )
    return spreadsheets.read_rows(content, f"residents.{fmt}")


def row(name: str, number: str, room: str = "302", **extra: str) -> list[str]:
    values = {
        "name": name,
        "document_type": "",
        "document_number": number,
        "phone": "",
        "sex": "",
        "birth_date": "",
        "compound": "芦淞花园",
        "building": "3栋",
        "unit": "1",
        "floor": "",
        "room": room,
        "tags": "",
        "workplace": "",
        **extra,
    }
    return [values[key] for key in spreadsheets.KEYS]


def twins(session: Session, place: Place) -> tuple[int, int]:
    """The same woman registered twice: once by name only, once with her ID."""
    first = persons.register_person(
        session=session,
        actor=place.editor,
        person_in=PersonCreate(
            name="刘芳",
            sex="F",
            birth_date=date(1988, 8, 8),
            phone="13900001111",
            area_code=GRID,
            tags=["孕产妇"],
        ),
    )
    second = persons.register_person(
        session=session,
        actor=place.editor,
        person_in=PersonCreate(
            name="刘芳",
            document_number=resident_id(born="19880808", sequence="124"),
            phone="139 0000 1111",
            household_id=place.household.id,
        ),
    )
    assert first.proposals == []
    assert [(p.person_id, p.candidate_id) for p in second.proposals] == [
        (second.person.id, first.person.id)
    ]
    return first.person.id, second.person.id


def test_it_merges_a_reviewed_duplicate_into_the_identified_person_and_keeps_history(
    session: Session, personas: Personas
) -> None:
    place = make_place(session, personas)
    named_only, identified = twins(session, place)
    officer = actor_of(personas, Role.DISTRICT_OFFICER, LUSONG, "lusong-officer")
    (proposal,) = actions.list_merge_proposals(session=session, actor=officer)
    reviewed = actions.review_merge(
        session=session,
        actor=officer,
        proposal_id=proposal.id,
        accept=True,
        keep_person_id=identified,
        reason="same phone, confirmed by visit",
    )
    assert (reviewed.status, reviewed.kept_person_id, reviewed.reviewer_user_id) == (
        MergeStatus.ACCEPTED,
        identified,
        officer.user_id,
    )
    duplicate = persons.get_person_or_raise(session=session, actor=officer, person_id=named_only)
    kept = persons.get_person_or_raise(session=session, actor=officer, person_id=identified)
    assert (duplicate.status, duplicate.merged_into_id) == (PersonStatus.MERGED, identified)
    assert kept.tags == PersonTag.PREGNANT
    history = session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.subject_type == "person", AuditEvent.subject_id == str(named_only)
        )
    ).all()
    assert list(history) == ["person.register", "person.merged"]
    with pytest.raises(FangkongError) as again:
        actions.review_merge(
            session=session,
            actor=officer,
            proposal_id=proposal.id,
            accept=False,
            keep_person_id=None,
            reason="again",
        )
    assert again.value.code == Code.MERGE_ALREADY_REVIEWED


def test_it_refuses_to_keep_the_person_without_a_document_and_changes_nothing(
    session: Session, personas: Personas
) -> None:
    place = make_place(session, personas)
    named_only, _ = twins(session, place)
    officer = actor_of(personas, Role.DISTRICT_OFFICER, LUSONG, "lusong-officer")
    (proposal,) = actions.list_merge_proposals(session=session, actor=officer)
    before = snapshot(session)
    with pytest.raises(FangkongError) as refused:
        actions.review_merge(
            session=session,
            actor=officer,
            proposal_id=proposal.id,
            accept=True,
            keep_person_id=named_only,
            reason="wrong way round",
        )
    assert refused.value.code == Code.MERGE_KEEP_INVALID
    assert snapshot(session) == before


def test_it_refuses_a_merge_review_from_a_grid_worker(session: Session, personas: Personas) -> None:
    place = make_place(session, personas)
    twins(session, place)
    (proposal,) = actions.list_merge_proposals(session=session, actor=place.editor)
    with pytest.raises(FangkongError) as refused:
        actions.review_merge(
            session=session,
            actor=place.editor,
            proposal_id=proposal.id,
            accept=False,
            keep_person_id=None,
            reason="no",
        )
    assert refused.value.code == "permission.denied"


def test_it_imports_good_rows_and_reports_every_bad_row_with_its_reason(
    session: Session, personas: Personas
) -> None:
    place = make_place(session, personas)
    persons.register_person(
        session=session,
        actor=place.editor,
        person_in=PersonCreate(
            name="老住户", document_number=resident_id(born="19500101"), area_code=GRID
        ),
    )
    repeated = resident_id(born="19920202")
    rows = sheet(
        [
            row("甲", resident_id(born="19800101"), tags="独居老人"),
            row("乙", resident_id(born="19800102"), room="501", phone="13800000001"),
            row("丙", resident_id(born="19800103")[:17] + "0"),
            row("戊", resident_id("430299", "19800104")),
            row("己", resident_id(born="19800105"), building="99栋"),
            row("庚", repeated),
            row("辛", repeated, room="601"),
            row("壬", resident_id(born="19500101")),
            row("癸", resident_id(born="19800106"), unit="5"),
            row("子", resident_id(born="19800107"), room="201", sex="女"),
            row("丑", resident_id(born="19800108"), room="202", workplace="NOPE"),
        ]
    )
    report = actions.import_residents(
        session=session, actor=place.editor, community_code=COMMUNITY, rows=rows
    )
    assert (report.total_rows, report.loaded, report.households_created) == (11, 2, 1)
    assert [(r.row, r.code) for r in report.rejected] == [
        (4, Code.ID_CHECKSUM_INVALID),
        (5, Code.ID_REGION_UNKNOWN),
        (6, Code.BUILDING_NOT_FOUND),
        (7, Code.ID_NUMBER_REPEATED_IN_FILE),
        (8, Code.ID_NUMBER_REPEATED_IN_FILE),
        (9, Code.ID_NUMBER_TAKEN),
        (10, Code.UNIT_OUT_OF_RANGE),
        (11, Code.SEX_CONTRADICTS_ID),
        (12, Code.WORKPLACE_NOT_FOUND),
    ]
    # A rejected row leaves nothing: row 11's room 201 was not created with it.
    rooms = [h.room for h in places.list_households(session=session, building_id=place.building.id)]
    assert rooms == ["302", "501"]


def test_it_refuses_an_impossible_birth_date_on_an_import_row(
    session: Session, personas: Personas
) -> None:
    place = make_place(session, personas)
    first_17 = "43020319900230123"
    rows = sheet([row("丁", first_17 + resident_id_check_character(first_17))])
    report = actions.import_residents(
        session=session, actor=place.editor, community_code=COMMUNITY, rows=rows
    )
    assert [(r.row, r.code, r.field) for r in report.rejected] == [
        (2, Code.ID_BIRTH_DATE_INVALID, "document_number")
    ]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_it_round_trips_an_import_through_an_export(
    session: Session, personas: Personas, fmt: str
) -> None:
    place = make_place(session, personas)
    session.add(
        Workplace(
            name="中车株洲电力机车", kind="industrial", credit_code=CREDIT_CODE, area_path="/43/"
        )
    )
    session.flush()
    original = [
        row("赵一", resident_id(born="19700101"), phone="13800000001", tags="独居老人;卧床"),
        row(
            "钱二", resident_id(born="19710202", sequence="124"), room="402", workplace=CREDIT_CODE
        ),
        row(
            "Smith",
            "E12345678",
            document_type="护照",
            sex="男",
            birth_date="1980-05-05",
            room="601",
        ),
    ]
    report = actions.import_residents(
        session=session, actor=place.editor, community_code=COMMUNITY, rows=sheet(original, fmt)
    )
    assert (report.loaded, report.rejected) == (3, [])
    epidemiologist = actor_of(personas, Role.EPIDEMIOLOGIST, LUSONG, "lusong-epi")
    export = actions.export_residents(
        session=session, actor=epidemiologist, fmt=fmt, building_id=place.building.id
    )
    exported = spreadsheets.read_rows(export.content, export.filename)
    by_name = {r.values["name"]: r.values for r in exported}
    for values in (dict(zip(spreadsheets.KEYS, r, strict=True)) for r in original):
        again = by_name[values["name"]]
        for key in spreadsheets.KEYS:
            if key in ("sex", "birth_date", "floor", "document_type") and not values[key]:
                continue  # derived on import, written out on export
            assert again[key] == values[key], (values["name"], key)
    assert by_name["赵一"]["sex"] == "男" and by_name["钱二"]["sex"] == "女"
    assert (export.rows, export.full_identity) == (3, True)


def test_it_masks_numbers_in_the_export_of_a_role_without_identity_access(
    session: Session, personas: Personas
) -> None:
    place = make_place(session, personas)
    number = resident_id(born="19700101")
    actions.import_residents(
        session=session,
        actor=place.editor,
        community_code=COMMUNITY,
        rows=sheet([row("赵一", number, phone="13800000001")]),
    )
    export = actions.export_residents(
        session=session, actor=place.editor, fmt="csv", grid_code=GRID
    )
    (only,) = spreadsheets.read_rows(export.content, export.filename)
    assert (only.values["document_number"], only.values["phone"]) == (
        number[:6] + "********" + number[-4:],
        "138****0001",
    )
    assert export.full_identity is False
    reimport = actions.import_residents(
        session=session, actor=place.editor, community_code=COMMUNITY, rows=[only]
    )
    assert [r.code for r in reimport.rejected] == [Code.ID_NUMBER_MASKED]


def test_it_reads_a_template_and_refuses_a_sheet_without_required_columns() -> None:
    assert spreadsheets.read_rows(spreadsheets.template("xlsx"), "t.xlsx") == []
    assert spreadsheets.read_rows(spreadsheets.template("csv"), "t.csv") == []
    with pytest.raises(FangkongError) as refused:
        spreadsheets.read_rows("姓名,证件号码\n张三,1\n".encode(), "t.csv")
    assert refused.value.code == Code.IMPORT_COLUMN_MISSING
    gbk = ",".join(HEADER).encode("gb18030") + "\n张三,,,,,,芦淞花园,3栋,1,,302,\n".encode(
        "gb18030"
    )
    (only,) = spreadsheets.read_rows(gbk, "excel.csv")
    assert (only.number, only.values["name"], only.values["room"]) == (2, "张三", "302")


def test_it_reveals_identity_only_to_roles_that_need_it_and_audits_the_reason(
    session: Session, personas: Personas
) -> None:
    place = make_place(session, personas)
    number = resident_id()
    person = persons.register_person(
        session=session,
        actor=place.editor,
        person_in=PersonCreate(
            name="张三", document_number=number, phone="13812345678", area_code=GRID
        ),
    ).person
    with pytest.raises(FangkongError) as refused:
        persons.reveal_identity(
            session=session, actor=place.editor, person_id=person.id, reason="x"
        )
    epidemiologist = actor_of(personas, Role.EPIDEMIOLOGIST, LUSONG, "lusong-epi")
    revealed = persons.reveal_identity(
        session=session,
        actor=epidemiologist,
        person_id=person.id,
        reason="contact tracing, case 12",
    )
    assert refused.value.code == "permission.denied"
    assert (revealed.id_number, revealed.phone) == (number, "13812345678")
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "person.reveal_identity")
    ).one()
    assert (event.actor_label, event.subject_id, event.reason) == (
        "lusong-epi",
        str(person.id),
        "contact tracing, case 12",
    )
