from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.core.audit import AuditEvent
from fangkong.core.errors import FangkongError
from fangkong.registry import persons, places, service
from fangkong.registry.enums import PersonTag
from fangkong.registry.errors import RegistryErrorCode as Code
from fangkong.registry.models import Person
from fangkong.registry.schemas import PersonCreate
from tests.authz import snapshot
from tests.personas import HETANG, JIANNING, Personas
from tests.registry.helpers import COMMUNITY, GRID, actor_of, make_place, resident_id


def actions_for(session: Session, subject_type: str, subject_id: object) -> list[str]:
    stmt = select(AuditEvent.action).where(
        AuditEvent.subject_type == subject_type, AuditEvent.subject_id == str(subject_id)
    )
    return list(session.scalars(stmt.order_by(AuditEvent.id)))


def test_it_builds_the_tree_below_a_township_with_audit_events(
    session: Session, personas: Personas
) -> None:
    place = make_place(session, personas)
    assert (place.community.path, place.grid.path) == (
        "/43/4302/430203/430203003/430203003001/",
        "/43/4302/430203/430203003/430203003001/430203003001001/",
    )
    assert (place.building.area_path, place.household.area_path) == (
        place.grid.path,
        place.grid.path,
    )
    assert actions_for(session, "area", COMMUNITY) == ["area.create"]
    assert actions_for(session, "household", place.household.id) == ["household.create"]


@pytest.mark.parametrize(
    ("_case", "parent", "code", "problem"),
    [
        ("code of another township", JIANNING, "430203004001", Code.AREA_CODE_INVALID),
        ("under a county", "430203", "430203001", Code.AREA_PARENT_WRONG_LEVEL),
        ("unknown parent", "430203999", "430203999001", Code.AREA_PARENT_NOT_FOUND),
    ],
)
def test_it_refuses_bad_community_codes_and_changes_nothing(
    session: Session, personas: Personas, _case: str, parent: str, code: str, problem: Code
) -> None:
    editor = actor_of(personas, Role.DISTRICT_OFFICER, "430203", "lusong-officer")
    before = snapshot(session)
    with pytest.raises(FangkongError) as refused:
        service.create_community(
            session=session, actor=editor, township_code=parent, code=code, name="x"
        )
    assert refused.value.code == problem
    assert snapshot(session) == before


def test_it_refuses_a_taken_code_and_places_outside_the_jurisdiction(
    session: Session, personas: Personas
) -> None:
    place = make_place(session, personas)
    with pytest.raises(FangkongError) as taken:
        service.create_community(
            session=session, actor=place.editor, township_code=JIANNING, code=COMMUNITY, name="y"
        )
    hetang = actor_of(personas, Role.DISTRICT_OFFICER, HETANG, "hetang-officer")
    with pytest.raises(FangkongError) as outside:
        places.create_household(
            session=session,
            actor=hetang,
            building_id=place.building.id,
            unit=1,
            floor=1,
            room="101",
        )
    assert (taken.value.code, outside.value.code) == (
        Code.AREA_CODE_TAKEN,
        "permission.outside_jurisdiction",
    )


@pytest.mark.parametrize(
    ("_case", "unit", "floor", "room", "problem"),
    [
        ("unit 3 of 2", 3, 1, "101", Code.UNIT_OUT_OF_RANGE),
        ("floor 7 of 6", 1, 7, "701", Code.FLOOR_OUT_OF_RANGE),
        ("empty room", 1, 1, " ", Code.ROOM_INVALID),
        ("room taken", 1, 3, "302", Code.HOUSEHOLD_TAKEN),
    ],
)
def test_it_refuses_impossible_households(
    session: Session,
    personas: Personas,
    _case: str,
    unit: int,
    floor: int,
    room: str,
    problem: Code,
) -> None:
    place = make_place(session, personas)
    before = snapshot(session)
    with pytest.raises(FangkongError) as refused:
        places.create_household(
            session=session,
            actor=place.editor,
            building_id=place.building.id,
            unit=unit,
            floor=floor,
            room=room,
        )
    assert refused.value.code == problem
    assert snapshot(session) == before


def test_it_refuses_a_building_in_a_grid_of_another_community(
    session: Session, personas: Personas
) -> None:
    place = make_place(session, personas)
    service.create_community(
        session=session, actor=place.editor, township_code=JIANNING, code="430203003002", name="b"
    )
    service.create_grid(
        session=session,
        actor=place.editor,
        community_code="430203003002",
        code="430203003002001",
        name="g",
    )
    with pytest.raises(FangkongError) as refused:
        places.create_building(
            session=session,
            actor=place.editor,
            compound_id=place.compound.id,
            grid_code="430203003002001",
            label="9栋",
            units=1,
            floors=1,
        )
    assert refused.value.code == Code.GRID_NOT_IN_COMMUNITY


def test_it_registers_a_person_with_identity_encrypted_and_derived_details(
    session: Session, personas: Personas
) -> None:
    place = make_place(session, personas)
    number = resident_id("430221", "19751010", "222")
    registered = persons.register_person(
        session=session,
        actor=place.editor,
        person_in=PersonCreate(
            name="李四",
            document_number=number.lower(),
            phone="+86 138 1234 5678",
            household_id=place.household.id,
            tags=["独居老人", "dialysis"],
        ),
    )
    person = registered.person
    assert (person.sex, person.birth_date, person.id_number_masked, person.phone_masked) == (
        "F",
        date(1975, 10, 10),
        "430221********" + number[-4:],
        "138****5678",
    )
    assert number not in (person.id_number_encrypted or "")
    assert person.tags == PersonTag.ELDERLY_ALONE | PersonTag.DIALYSIS
    assert persons.find_by_id_number(session=session, number=number) == person
    assert actions_for(session, "person", person.id) == ["person.register"]


@pytest.mark.parametrize(
    ("_case", "changes", "problem"),
    [
        ("bad checksum", {"document_number": resident_id()[:17] + "0"}, Code.ID_CHECKSUM_INVALID),
        ("sex contradicts", {"sex": "F"}, Code.SEX_CONTRADICTS_ID),
        ("birth contradicts", {"birth_date": "1990-03-08"}, Code.BIRTH_DATE_CONTRADICTS_ID),
        ("bad phone", {"phone": "12345"}, Code.PHONE_INVALID),
        ("unknown tag", {"tags": ["vip"]}, Code.TAG_UNKNOWN),
        ("no name", {"name": "  "}, Code.NAME_REQUIRED),
        (
            "bad passport",
            {"document_type": "passport", "document_number": "E1"},
            Code.DOCUMENT_NUMBER_INVALID,
        ),
        ("no household", {"household_id": 999999}, Code.HOUSEHOLD_NOT_FOUND),
        (
            "future birth",
            {"document_number": None, "birth_date": "2999-01-01"},
            Code.BIRTH_DATE_INVALID,
        ),
    ],
)
def test_it_refuses_bad_person_details_and_changes_nothing(
    session: Session, personas: Personas, _case: str, changes: dict[str, object], problem: Code
) -> None:
    place = make_place(session, personas)
    body: dict[str, object] = {
        "name": "张三",
        "document_number": resident_id(),
        "household_id": place.household.id,
        **changes,
    }
    before = snapshot(session)
    with pytest.raises(FangkongError) as refused:
        persons.register_person(
            session=session, actor=place.editor, person_in=PersonCreate.model_validate(body)
        )
    assert refused.value.code == problem
    assert snapshot(session) == before


def test_it_refuses_a_second_person_with_the_same_id(session: Session, personas: Personas) -> None:
    place = make_place(session, personas)
    person_in = PersonCreate(
        name="张三", document_number=resident_id(), household_id=place.household.id
    )
    persons.register_person(session=session, actor=place.editor, person_in=person_in)
    before = snapshot(session)
    with pytest.raises(FangkongError) as refused:
        persons.register_person(
            session=session,
            actor=place.editor,
            person_in=person_in.model_copy(update={"name": "张三丰", "area_code": GRID}),
        )
    assert (refused.value.code, refused.value.status) == (Code.ID_NUMBER_TAKEN, 409)
    assert snapshot(session) == before


def test_it_finds_people_by_name_masked_id_full_id_and_phone_inside_the_jurisdiction(
    session: Session, personas: Personas
) -> None:
    place = make_place(session, personas)
    number = resident_id()
    person = persons.register_person(
        session=session,
        actor=place.editor,
        person_in=PersonCreate(
            name="王小明", document_number=number, phone="13812345678", area_code=GRID
        ),
    ).person
    masked = person.id_number_masked or ""
    queries = ["小明", masked, masked[:6] + "*" + masked[-4:], number, "+86 138-1234-5678"]
    found = [
        [p.id for p in persons.search(session=session, actor=place.editor, query=q)]
        for q in queries
    ]
    assert found == [[person.id]] * 5
    hetang = actor_of(personas, Role.DISTRICT_OFFICER, HETANG, "hetang-officer")
    assert persons.search(session=session, actor=hetang, query="小明") == []


def test_it_counts_households_residents_and_tags_under_an_area(
    session: Session, personas: Personas
) -> None:
    place = make_place(session, personas)
    for i, tags in enumerate([["孕产妇"], ["孕产妇", "卧床"], []]):
        persons.register_person(
            session=session,
            actor=place.editor,
            person_in=PersonCreate(
                name=f"居民{i}",
                document_number=resident_id(born=f"1980010{i + 1}"),
                household_id=place.household.id,
                tags=tags,
            ),
        )
    counts = service.counts_under(session=session, path=place.community.path)
    assert (counts.households, counts.residents) == (1, 3)
    assert (counts.by_tag["PREGNANT"], counts.by_tag["BEDRIDDEN"], counts.by_tag["DIALYSIS"]) == (
        2,
        1,
        0,
    )
    by_child = service.counts_by_child(session=session, children=[place.grid, place.other_grid])
    assert by_child == {place.grid.path: (1, 3), place.other_grid.path: (0, 0)}


def test_it_keeps_people_without_documents(session: Session, personas: Personas) -> None:
    place = make_place(session, personas)
    child = persons.register_person(
        session=session,
        actor=place.editor,
        person_in=PersonCreate(
            name="小宝", sex="M", birth_date=date(2021, 5, 1), household_id=place.household.id
        ),
    ).person
    stored = session.get(Person, child.id)
    assert stored is not None
    assert (stored.document_type, stored.id_number_index, stored.sex) == (None, None, "M")


def test_it_refuses_a_duplicate_id_that_slips_past_the_lookup_on_the_unique_index(
    session: Session, personas: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two clerks registering the same number at once both pass the lookup; the unique index
    decides, and the loser gets the same specific refusal, with nothing half-written."""
    place = make_place(session, personas)
    person_in = PersonCreate(name="张三", document_number=resident_id(), area_code=GRID)
    persons.register_person(session=session, actor=place.editor, person_in=person_in)
    monkeypatch.setattr(persons, "find_by_id_number", lambda **_: None)
    before = snapshot(session)
    with pytest.raises(FangkongError) as refused:
        persons.register_person(session=session, actor=place.editor, person_in=person_in)
    assert (refused.value.code, refused.value.status) == (Code.ID_NUMBER_TAKEN, 409)
    assert snapshot(session) == before
