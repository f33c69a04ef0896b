from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.core.errors import CoreErrorCode
from fangkong.registry import persons, spreadsheets
from fangkong.registry.schemas import PersonCreate
from tests.authz import Refusal, assert_authorization_matrix, snapshot
from tests.personas import HETANG, LUSONG, Personas
from tests.registry.helpers import COMMUNITY, GRID, Place, make_place, resident_id

JSON = {"Accept": "application/json"}
ANONYMOUS = Refusal("anonymous", JSON, 401, CoreErrorCode.AUTH_REQUIRED)


class World:
    """A place with one registered person and one merge proposal, and the people who act."""

    def __init__(self, session: Session, personas: Personas) -> None:
        self.place: Place = make_place(session, personas)
        self.personas = personas
        self.person = persons.register_person(
            session=session,
            actor=self.place.editor,
            person_in=PersonCreate(
                name="刘芳",
                document_number=resident_id(born="19880808", sequence="124"),
                phone="13900001111",
                household_id=self.place.household.id,
            ),
        ).person
        self.duplicate = persons.register_person(
            session=session,
            actor=self.place.editor,
            person_in=PersonCreate(
                name="刘芳",
                sex="F",
                birth_date=self.person.birth_date,
                phone="13900001111",
                area_code=GRID,
            ),
        )
        self.proposal_id = self.duplicate.proposals[0].id

    def headers(self, username: str, role: Role, area: str | None = LUSONG) -> dict[str, str]:
        return {**JSON, **self.personas.bearer(self.personas.user(username, role, area))}

    def wrong_role(self, role: Role = Role.CHECKPOINT) -> Refusal:
        return Refusal(
            "wrong role", self.headers("checkpoint", role), 403, CoreErrorCode.PERMISSION_DENIED
        )

    def outside(self, role: Role = Role.DISTRICT_OFFICER) -> Refusal:
        return Refusal(
            "other district",
            self.headers(f"hetang-{role}", role, HETANG),
            403,
            CoreErrorCode.OUTSIDE_JURISDICTION,
        )


@pytest.fixture
def world(session: Session, personas: Personas) -> World:
    return World(session, personas)


Case = tuple[str, str, Callable[[World], Any], Role, bool, int]

# (method, url, json body, allowed role, also refused outside the jurisdiction, allowed status)
CASES: list[Case] = [
    (
        "POST",
        "/api/v1/areas/communities",
        lambda w: {"parent_code": "430203003", "code": "430203003009", "name": "新社区"},
        Role.DISTRICT_OFFICER,
        True,
        201,
    ),
    (
        "POST",
        "/api/v1/areas/grids",
        lambda w: {"parent_code": COMMUNITY, "code": "430203003001009", "name": "第九网格"},
        Role.GRID_WORKER,
        True,
        201,
    ),
    (
        "POST",
        "/api/v1/compounds",
        lambda w: {"community_code": COMMUNITY, "name": "新小区"},
        Role.GRID_WORKER,
        True,
        201,
    ),
    (
        "POST",
        "/api/v1/buildings",
        lambda w: {
            "compound_id": w.place.compound.id,
            "grid_code": GRID,
            "label": "5栋",
            "units": 1,
            "floors": 3,
        },
        Role.GRID_WORKER,
        True,
        201,
    ),
    (
        "POST",
        "/api/v1/households",
        lambda w: {"building_id": w.place.building.id, "unit": 2, "floor": 1, "room": "101"},
        Role.GRID_WORKER,
        True,
        201,
    ),
    (
        "POST",
        "/api/v1/persons",
        lambda w: {
            "name": "新人",
            "document_number": resident_id(born="19990909"),
            "household_id": w.place.household.id,
        },
        Role.GRID_WORKER,
        True,
        201,
    ),
    ("GET", "/api/v1/persons/{person}", lambda w: None, Role.GRID_WORKER, True, 200),
    ("GET", "/api/v1/persons?q=刘", lambda w: None, Role.GRID_WORKER, False, 200),
    (
        "POST",
        "/api/v1/persons/{person}/reveal",
        lambda w: {"reason": "tracing"},
        Role.EPIDEMIOLOGIST,
        True,
        200,
    ),
    ("GET", "/api/v1/merge-proposals", lambda w: None, Role.DISTRICT_OFFICER, False, 200),
    (
        "POST",
        "/api/v1/merge-proposals/{proposal}/review",
        lambda w: {"accept": False, "reason": "two people"},
        Role.DISTRICT_OFFICER,
        True,
        200,
    ),
    (
        "GET",
        "/api/v1/imports/residents/template?format=csv",
        lambda w: None,
        Role.GRID_WORKER,
        False,
        200,
    ),
    (
        "GET",
        "/api/v1/exports/residents?building_id={building}&format=csv",
        lambda w: None,
        Role.GRID_WORKER,
        True,
        200,
    ),
    ("GET", "/api/v1/exports/residents?grid=" + GRID, lambda w: None, Role.GRID_WORKER, True, 200),
    ("GET", "/api/v1/areas?parent=430203003", lambda w: None, Role.GRID_WORKER, True, 200),
    ("GET", "/areas?code=" + COMMUNITY, lambda w: None, Role.GRID_WORKER, True, 200),
    ("GET", "/my-grid", lambda w: None, Role.GRID_WORKER, False, 200),
    ("GET", "/buildings/{building}", lambda w: None, Role.GRID_WORKER, True, 200),
    ("GET", "/households/{household}", lambda w: None, Role.GRID_WORKER, True, 200),
    ("GET", "/persons/{person}", lambda w: None, Role.GRID_WORKER, True, 200),
    ("GET", "/persons?q=刘", lambda w: None, Role.GRID_WORKER, False, 200),
    ("GET", "/registry/import", lambda w: None, Role.GRID_WORKER, False, 200),
    ("GET", "/registry/merges", lambda w: None, Role.DISTRICT_OFFICER, False, 200),
]


@pytest.mark.parametrize(
    ("method", "url", "body", "role", "scoped", "status"),
    CASES,
    ids=[f"{c[0]} {c[1]}" for c in CASES],
)
def test_it_authorises_every_registry_endpoint(
    client: TestClient,
    session: Session,
    world: World,
    method: str,
    url: str,
    body: Callable[[World], Any],
    role: Role,
    scoped: bool,
    status: int,
) -> None:
    url = url.format(
        person=world.person.id,
        proposal=world.proposal_id,
        building=world.place.building.id,
        household=world.place.household.id,
    )
    wrong = (
        Role.EPIDEMIOLOGIST if "imports" in url or "/registry/import" in url else Role.CHECKPOINT
    )
    if "reveal" in url:
        wrong = Role.GRID_WORKER
    if "review" in url:
        wrong = Role.GRID_WORKER
    refusals = [ANONYMOUS, world.wrong_role(wrong)]
    if scoped:
        refusals.append(world.outside(role))
    assert_authorization_matrix(
        client=client,
        session=session,
        method=method,
        url=url,
        json=body(world),
        refusals=refusals,
        allowed_headers=world.headers(f"lusong-{role}", role, LUSONG),
        allowed_status=status,
    )


def test_it_imports_an_uploaded_sheet_only_for_importers_in_the_jurisdiction(
    client: TestClient, session: Session, world: World
) -> None:
    content = spreadsheets.write_csv(
        [
            [
                "王五",
                "",
                resident_id(born="19770707"),
                "",
                "",
                "",
                "芦淞花园",
                "3栋",
                "2",
                "",
                "501",
                "",
            ]
        ]
    )
    files = {"file": ("residents.csv", content, "text/csv")}
    url = f"/api/v1/imports/residents?community={COMMUNITY}"
    for refusal in [
        ANONYMOUS,
        world.wrong_role(Role.EPIDEMIOLOGIST),
        world.outside(Role.GRID_WORKER),
    ]:
        before = snapshot(session)
        refused = client.post(url, files=files, headers=refusal.headers)
        assert (refused.status_code, refused.json()["code"]) == (refusal.status, refusal.code)
        assert snapshot(session) == before
    allowed = client.post(url, files=files, headers=world.headers("lusong-grid", Role.GRID_WORKER))
    assert allowed.status_code == 200, allowed.text
    assert allowed.json() == {
        "total_rows": 1,
        "loaded": 1,
        "households_created": 1,
        "merge_proposals": 0,
        "rejected": [],
    }


def test_it_answers_a_bad_id_with_its_code_and_field(
    client: TestClient, session: Session, world: World
) -> None:
    headers = world.headers("lusong-grid", Role.GRID_WORKER)
    before = snapshot(session)
    response = client.post(
        "/api/v1/persons",
        json={
            "name": "x",
            "document_number": "430203199013011234",
            "household_id": world.place.household.id,
        },
        headers=headers,
    )
    assert (response.status_code, response.json()["code"], response.json()["field"]) == (
        400,
        "registry.id_checksum_invalid",
        "document_number",
    )
    taken = client.post(
        "/api/v1/persons",
        json={
            "name": "x",
            "document_number": resident_id(born="19880808", sequence="124"),
            "area_code": GRID,
        },
        headers=headers,
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "registry.id_number_taken")
    assert snapshot(session) == before


def test_it_never_shows_a_full_number_on_a_page_without_the_permission(
    client: TestClient, world: World
) -> None:
    number = resident_id(born="19880808", sequence="124")
    headers = world.headers("lusong-grid", Role.GRID_WORKER)
    for url in (
        f"/persons/{world.person.id}",
        f"/households/{world.place.household.id}",
        "/persons?q=刘",
        "/my-grid",
    ):
        page = client.get(url, headers={"Authorization": headers["Authorization"]})
        assert page.status_code == 200
        assert number not in page.text and "13900001111" not in page.text
    assert (
        "139****1111"
        in client.get(
            f"/persons/{world.person.id}", headers={"Authorization": headers["Authorization"]}
        ).text
    )


FormCase = tuple[str, Callable[[World], dict[str, Any]], Role, Role, int]

# Page forms: (url, form, allowed role, a role without the permission, allowed status)
FORM_CASES: list[FormCase] = [
    (
        "/areas/communities",
        lambda w: {"parent_code": "430203003", "code": "430203003009", "name": "新"},
        Role.DISTRICT_OFFICER,
        Role.EPIDEMIOLOGIST,
        303,
    ),
    (
        "/areas/grids",
        lambda w: {"parent_code": COMMUNITY, "code": "430203003001009", "name": "九"},
        Role.GRID_WORKER,
        Role.EPIDEMIOLOGIST,
        303,
    ),
    (
        "/areas/compounds",
        lambda w: {"community_code": COMMUNITY, "name": "新小区"},
        Role.GRID_WORKER,
        Role.EPIDEMIOLOGIST,
        303,
    ),
    (
        "/areas/buildings",
        lambda w: {
            "compound_id": w.place.compound.id,
            "grid_code": GRID,
            "label": "5栋",
            "units": 1,
            "floors": 3,
        },
        Role.GRID_WORKER,
        Role.EPIDEMIOLOGIST,
        303,
    ),
    (
        "/households",
        lambda w: {"building_id": w.place.building.id, "unit": 2, "floor": 1, "room": "101"},
        Role.GRID_WORKER,
        Role.EPIDEMIOLOGIST,
        303,
    ),
    (
        "/persons",
        lambda w: {
            "household_id": w.place.household.id,
            "name": "新人",
            "document_number": resident_id(born="19990909"),
        },
        Role.GRID_WORKER,
        Role.EPIDEMIOLOGIST,
        303,
    ),
    (
        "/persons/{person}/reveal",
        lambda w: {"reason": "流调"},
        Role.EPIDEMIOLOGIST,
        Role.GRID_WORKER,
        200,
    ),
    (
        "/registry/merges/{proposal}",
        lambda w: {"decision": "reject", "reason": "两个人"},
        Role.DISTRICT_OFFICER,
        Role.GRID_WORKER,
        303,
    ),
]


@pytest.mark.parametrize(
    ("url", "form", "role", "wrong", "status"), FORM_CASES, ids=[c[0] for c in FORM_CASES]
)
def test_it_authorises_every_registry_form(
    client: TestClient,
    session: Session,
    world: World,
    url: str,
    form: Callable[[World], dict[str, Any]],
    role: Role,
    wrong: Role,
    status: int,
) -> None:
    url = url.format(person=world.person.id, proposal=world.proposal_id)
    for refusal in [ANONYMOUS, world.wrong_role(wrong), world.outside(role)]:
        before = snapshot(session)
        refused = client.post(
            url, data=form(world), headers=refusal.headers, follow_redirects=False
        )
        assert (refused.status_code, refused.json()["code"]) == (refusal.status, refusal.code), (
            refusal.label
        )
        assert snapshot(session) == before, refusal.label
    allowed = client.post(
        url, data=form(world), headers=world.headers(f"lusong-{role}", role), follow_redirects=False
    )
    assert allowed.status_code == status, allowed.text


def test_it_authorises_the_upload_form(client: TestClient, session: Session, world: World) -> None:
    content = spreadsheets.write_csv(
        [
            [
                "王五",
                "",
                resident_id(born="19770707"),
                "",
                "",
                "",
                "芦淞花园",
                "3栋",
                "2",
                "",
                "501",
                "",
            ]
        ]
    )
    for refusal in [
        ANONYMOUS,
        world.wrong_role(Role.EPIDEMIOLOGIST),
        world.outside(Role.GRID_WORKER),
    ]:
        before = snapshot(session)
        refused = client.post(
            "/registry/import",
            data={"community": COMMUNITY},
            files={"file": ("r.csv", content, "text/csv")},
            headers=refusal.headers,
        )
        assert (refused.status_code, refused.json()["code"]) == (refusal.status, refusal.code)
        assert snapshot(session) == before
    allowed = client.post(
        "/registry/import",
        data={"community": COMMUNITY},
        files={"file": ("r.csv", content, "text/csv")},
        headers=world.headers("lusong-grid", Role.GRID_WORKER),
    )
    assert allowed.status_code == 200 and 'data-count="loaded">1<' in allowed.text
