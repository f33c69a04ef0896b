from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Role
from fangkong.core.audit import AuditEvent
from fangkong.registry import persons, service, spreadsheets
from fangkong.registry.models import Area, Building, Compound, Person
from fangkong.registry.schemas import PersonCreate
from tests.authz import snapshot
from tests.personas import JIANNING, Personas, login
from tests.registry.helpers import COMMUNITY, GRID, make_place, resident_id


def test_it_lets_a_grid_worker_build_the_tree_and_register_a_person_through_forms(
    client: TestClient, session: Session, personas: Personas
) -> None:
    personas.grid_worker()
    csrf = login(client, "jianning-grid")

    def post(url: str, **form: object) -> str:
        response = client.post(url, data={"csrf_token": csrf, **form}, follow_redirects=False)
        assert response.status_code == 303, response.text
        return str(response.headers["location"])

    assert post("/areas/communities", parent_code=JIANNING, code=COMMUNITY, name="建宁社区") == (
        f"/areas?code={COMMUNITY}"
    )
    post("/areas/grids", parent_code=COMMUNITY, code=GRID, name="第一网格")
    post("/areas/compounds", community_code=COMMUNITY, name="芦淞花园")
    compound = session.scalars(select(Compound)).one()
    building_url = post(
        "/areas/buildings", compound_id=compound.id, grid_code=GRID, label="3栋", units=2, floors=6
    )
    building = session.scalars(select(Building)).one()
    assert building_url == f"/buildings/{building.id}"
    household_url = post("/households", building_id=building.id, unit=1, floor=3, room="302")
    number = resident_id()
    person_url = post(
        "/persons",
        household_id=household_url.rsplit("/", 1)[1],
        name="张三",
        document_number=number,
        phone="13812345678",
        tags=["elderly_alone", "dialysis"],
    )
    person = session.scalars(select(Person)).one()
    assert person_url == f"/persons/{person.id}"
    page = client.get(person_url + "?lang=zh_CN")
    assert ("张三" in page.text, number in page.text, person.id_number_masked in page.text) == (
        True,
        False,
        True,
    )
    assert "独居老人" in page.text and "透析患者" in page.text
    area_page = client.get(f"/areas?code={COMMUNITY}")
    assert 'data-count="residents">1<' in area_page.text
    assert 'data-count="ELDERLY_ALONE">1<' in area_page.text
    created = session.scalars(
        select(AuditEvent.action).where(AuditEvent.actor_label == "jianning-grid")
    ).all()
    assert [a for a in created if a != "session.start"] == [
        "area.create",
        "area.create",
        "compound.create",
        "building.create",
        "household.create",
        "person.register",
    ]
    assert session.scalars(select(Area).where(Area.code == GRID)).one().level == "grid"


def test_it_shows_a_refused_form_in_chinese_and_changes_nothing(
    client: TestClient, session: Session, personas: Personas
) -> None:
    place = make_place(session, personas)
    csrf = login(client, "jianning-grid")
    before = snapshot(session)
    bad_id = client.post(
        "/persons?lang=zh_CN",
        data={
            "csrf_token": csrf,
            "household_id": place.household.id,
            "name": "李四",
            "document_number": resident_id()[:17] + "0",
        },
    )
    bad_date = client.post(
        "/persons",
        data={
            "csrf_token": csrf,
            "household_id": place.household.id,
            "name": "小宝",
            "birth_date": "2021-02-30",
        },
    )
    assert (bad_id.status_code, bad_date.status_code) == (400, 400)
    assert 'data-code="registry.id_checksum_invalid"' in bad_id.text
    assert "身份证号校验位不对" in bad_id.text
    assert 'data-code="registry.birth_date_invalid"' in bad_date.text
    no_csrf = client.post("/persons", data={"household_id": place.household.id, "name": "王五"})
    assert no_csrf.status_code == 403
    assert snapshot(session) == before


def test_it_reveals_a_number_on_the_person_page_with_a_reason(
    client: TestClient, session: Session, personas: Personas
) -> None:
    place = make_place(session, personas)
    number = resident_id()
    person = persons.register_person(
        session=session,
        actor=place.editor,
        person_in=PersonCreate(name="张三", document_number=number, area_code=GRID),
    ).person
    personas.user("lusong-epi", Role.EPIDEMIOLOGIST, "430203")
    csrf = login(client, "lusong-epi")
    assert number not in client.get(f"/persons/{person.id}").text
    revealed = client.post(
        f"/persons/{person.id}/reveal", data={"csrf_token": csrf, "reason": "流调"}
    )
    assert revealed.status_code == 200 and number in revealed.text
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "person.reveal_identity")
    ).one()
    assert (event.actor_label, event.reason) == ("lusong-epi", "流调")


def test_it_imports_a_sheet_through_the_upload_page_and_lists_rejected_rows(
    client: TestClient, session: Session, personas: Personas
) -> None:
    make_place(session, personas)
    csrf = login(client, "jianning-grid")
    page = client.get("/registry/import")
    assert f'value="{COMMUNITY}"' in page.text
    rows = [
        [
            "王五",
            "",
            resident_id(born="19770707"),
            "",
            "",
            "",
            "芦淞花园",
            "3栋",
            "1",
            "",
            "302",
            "",
        ],
        [
            "赵六",
            "",
            resident_id(born="19770708"),
            "",
            "",
            "",
            "芦淞花园",
            "8栋",
            "1",
            "",
            "302",
            "",
        ],
    ]
    response = client.post(
        "/registry/import",
        data={"csrf_token": csrf, "community": COMMUNITY},
        files={
            "file": ("r.xlsx", spreadsheets.write_xlsx(rows, title="r"), "application/octet-stream")
        },
    )
    assert response.status_code == 200, response.text
    assert 'data-count="loaded">1<' in response.text
    assert '<tr data-code="registry.building_not_found"><td>3</td>' in response.text


def test_it_names_each_grids_grid_workers_on_the_area_page(
    client: TestClient, session: Session, personas: Personas
) -> None:
    make_place(session, personas)
    worker = personas.user("grid-li", Role.GRID_WORKER, GRID)
    worker.display_name = "李网格"
    session.flush()
    login(client, "jianning-grid")
    community = client.get(f"/areas?code={COMMUNITY}&lang=zh_CN")
    grid = client.get(f"/areas?code={GRID}&lang=zh_CN")
    assert "李网格" in community.text
    assert "网格员: 李网格" in grid.text


def test_it_lists_a_proposal_whose_other_person_lives_outside_the_jurisdiction(
    client: TestClient, session: Session, personas: Personas
) -> None:
    place = make_place(session, personas)
    hetang = personas.user("hetang-officer", Role.DISTRICT_OFFICER, "430202")
    hetang_actor = accounts_service.actor_for(hetang)
    hetang_community = "430202001001"
    from_hetang = {"name": "陈七", "sex": "M", "phone": "13700000007"}
    service.create_community(
        session=session,
        actor=hetang_actor,
        township_code="430202001",
        code=hetang_community,
        name="h",
    )
    persons.register_person(
        session=session,
        actor=hetang_actor,
        person_in=PersonCreate(birth_date="1970-07-07", area_code=hetang_community, **from_hetang),
    )
    registered = persons.register_person(
        session=session,
        actor=place.editor,
        person_in=PersonCreate(birth_date="1970-07-07", area_code=GRID, **from_hetang),
    )
    assert len(registered.proposals) == 1
    personas.user("lusong-officer", Role.DISTRICT_OFFICER, "430203")
    login(client, "lusong-officer")
    page = client.get("/registry/merges?lang=zh_CN")
    assert page.status_code == 200
    assert "另一人不在您的管辖范围内" in page.text and "陈七" in page.text
