from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from tests.authz import Refusal, assert_authorization_matrix, snapshot
from tests.city import City
from tests.personas import JIANNING, Personas
from tests.situation import give_health_code, lock_down

ANONYMOUS = Refusal("anonymous", {}, 401, "auth.required")
ENDPOINTS = [
    ("POST", "/api/v1/logistics/requests", "volunteer"),
    ("GET", "/api/v1/logistics/requests", "volunteer"),
    ("POST", "/api/v1/logistics/tasks", "volunteer"),
    ("POST", "/api/v1/logistics/volunteers", "resident"),
    ("GET", "/api/v1/logistics/board", "resident"),
    ("POST", "/api/v1/logistics/tasks/1/claim", "resident"),
    ("POST", "/api/v1/logistics/tasks/1/complete", "resident"),
]


def test_it_refuses_anonymous_callers_and_the_wrong_role_on_every_endpoint(
    client: TestClient, session: Session, personas: Personas
) -> None:
    wrong = {
        "volunteer": personas.bearer(personas.user("vol-x", Role.VOLUNTEER, JIANNING)),
        "resident": personas.bearer(personas.resident()),
    }
    before = snapshot(session)

    answers = {
        (method, url, label): (response.status_code, response.json()["code"])
        for method, url, role in ENDPOINTS
        for label, headers in (("anonymous", {}), (role, wrong[role]))
        for response in [client.request(method, url, json={}, headers=headers)]
    }

    assert answers == {
        (method, url, label): expected
        for method, url, role in ENDPOINTS
        for label, expected in (
            ("anonymous", (401, "auth.required")),
            (role, (403, "permission.denied")),
        )
    }
    assert snapshot(session) == before


def test_it_takes_supply_requests_from_the_grid_and_the_household_only(
    client: TestClient, session: Session, personas: Personas
) -> None:
    city = City(session)
    lock_down(session, area=city.grid())
    household, other = city.household(room="301"), city.household(room="302")
    resident = personas.user(
        "resident-301",
        Role.RESIDENT,
        person_id=city.person(household).id,
        household_id=household.id,
    )

    assert_authorization_matrix(
        client=client,
        session=session,
        method="POST",
        url="/api/v1/logistics/requests",
        json={"household_id": other.id, "kind": "food", "detail": "蔬菜"},
        refusals=[
            ANONYMOUS,
            Refusal(
                "volunteer",
                personas.bearer(personas.user("vol-y", Role.VOLUNTEER, JIANNING)),
                403,
                "permission.denied",
            ),
            Refusal(
                "another household's resident",
                personas.bearer(resident),
                403,
                "permission.outside_jurisdiction",
            ),
            Refusal(
                "another district's officer",
                personas.bearer(personas.user("hetang-officer", Role.DISTRICT_OFFICER, "430202")),
                403,
                "permission.outside_jurisdiction",
            ),
        ],
        allowed_headers=personas.bearer(personas.grid_worker()),
        allowed_status=201,
        check_allowed=lambda body: _equal(
            (body["household_id"], body["status"]), (other.id, "open")
        ),
    )


def test_it_lets_a_registered_volunteer_claim_from_the_board(
    client: TestClient, session: Session, personas: Personas
) -> None:
    city = City(session)
    grid = city.grid()
    lock_down(session, area=grid)
    household = city.household(city.building(grid))
    worker = personas.bearer(personas.grid_worker())
    client.post(
        "/api/v1/logistics/requests",
        json={"household_id": household.id, "kind": "food", "detail": "米"},
        headers=worker,
    )
    task = client.post(
        "/api/v1/logistics/tasks", json={"area_code": grid.code}, headers=worker
    ).json()[0]
    person = city.person()
    give_health_code(session, person.id, "green")
    volunteer = personas.bearer(
        personas.user("vol-z", Role.VOLUNTEER, JIANNING, person_id=person.id)
    )
    registered = client.post(
        "/api/v1/logistics/volunteers",
        json={
            "name": "小周",
            "skills": ["driving"],
            "availability": "evenings",
            "area_code": JIANNING,
        },
        headers=volunteer,
    )
    assert registered.status_code == 201

    assert_authorization_matrix(
        client=client,
        session=session,
        method="POST",
        url=f"/api/v1/logistics/tasks/{task['id']}/claim",
        refusals=[
            ANONYMOUS,
            Refusal("grid worker", worker, 403, "permission.denied"),
            Refusal(
                "unregistered volunteer",
                personas.bearer(personas.user("vol-new", Role.VOLUNTEER, JIANNING)),
                403,
                "logistics.volunteer_not_registered",
            ),
        ],
        allowed_headers=volunteer,
        allowed_status=200,
        check_allowed=lambda body: _equal(body["status"], "claimed"),
    )
    done = client.post(
        f"/api/v1/logistics/tasks/{task['id']}/complete",
        json={"note": "送达", "minutes_worked": 20},
        headers=volunteer,
    )
    assert (done.status_code, done.json()["status"], done.json()["minutes_worked"]) == (
        200,
        "completed",
        20,
    )


def _equal(actual: object, expected: object) -> None:
    assert actual == expected
