from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from tests.authz import Refusal, assert_authorization_matrix, snapshot
from tests.city import City
from tests.personas import HETANG, LUSONG, Personas

ANONYMOUS = Refusal("anonymous", {}, 401, "auth.required")
ENDPOINTS = [
    ("POST", "/api/v1/vaccination/imports/csv"),
    ("GET", "/api/v1/vaccination/persons/1/status"),
    ("GET", "/api/v1/vaccination/coverage?on=2022-11-20"),
    ("GET", "/api/v1/vaccination/unvaccinated-elderly?on=2022-11-20"),
]


def test_it_refuses_anonymous_callers_and_enterprises_on_every_endpoint(
    client: TestClient, session: Session, personas: Personas
) -> None:
    enterprise = personas.bearer(personas.user("some-company", Role.ENTERPRISE, LUSONG))
    before = snapshot(session)

    answers = {
        (method, url, label): (response.status_code, response.json()["code"])
        for method, url in ENDPOINTS
        for label, headers in (("anonymous", {}), ("enterprise", enterprise))
        for response in [client.request(method, url, headers=headers)]
    }

    assert answers == {
        (method, url, label): expected
        for method, url in ENDPOINTS
        for label, expected in (
            ("anonymous", (401, "auth.required")),
            ("enterprise", (403, "permission.denied")),
        )
    }
    assert snapshot(session) == before


def test_it_lets_only_recorders_import_doses(
    client: TestClient, session: Session, personas: Personas
) -> None:
    city = City(session)
    person = city.person()
    content = (
        "id_number,product,dose_number,administered_on,site,lot_number\n"
        f"{city.id_numbers[person.id]},510,1,2021-05-01,建宁社区,\n"
    ).encode()
    refusals = [
        ANONYMOUS,
        Refusal(
            "grid worker (views, does not record)",
            personas.bearer(personas.grid_worker()),
            403,
            "permission.denied",
        ),
    ]
    for refusal in refusals:
        before = snapshot(session)
        response = client.post(
            "/api/v1/vaccination/imports/csv", content=content, headers=refusal.headers
        )
        assert (response.status_code, response.json()["code"]) == (refusal.status, refusal.code)
        assert snapshot(session) == before

    outside = client.post(
        "/api/v1/vaccination/imports/csv",
        content=content,
        headers=personas.bearer(personas.user("hetang-officer", Role.DISTRICT_OFFICER, HETANG)),
    )
    allowed = client.post(
        "/api/v1/vaccination/imports/csv",
        content=content,
        headers=personas.bearer(personas.user("lusong-officer", Role.DISTRICT_OFFICER, LUSONG)),
    )

    assert [(p["code"]) for p in outside.json()["refused"]] == ["vaccination.person_not_found"]
    assert (allowed.status_code, allowed.json()["accepted"]) == (200, 1)


def test_it_shows_status_only_inside_the_jurisdiction(
    client: TestClient, session: Session, personas: Personas
) -> None:
    person = City(session).person()

    assert_authorization_matrix(
        client=client,
        session=session,
        method="GET",
        url=f"/api/v1/vaccination/persons/{person.id}/status",
        refusals=[
            ANONYMOUS,
            Refusal(
                "other district",
                personas.bearer(personas.user("hetang-officer", Role.DISTRICT_OFFICER, HETANG)),
                404,
                "vaccination.person_not_found",
            ),
        ],
        allowed_headers=personas.bearer(personas.grid_worker()),
        allowed_status=200,
        check_allowed=lambda body: _equal((body["level_name"], body["doses"]), ("none", 0)),
    )


def _equal(actual: object, expected: object) -> None:
    assert actual == expected
