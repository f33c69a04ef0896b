"""Isolation HTTP contract and authorization matrices."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.core.errors import CoreErrorCode
from fangkong.isolation.errors import IsolationErrorCode
from tests import places
from tests.authz import Refusal, assert_authorization_matrix, snapshot
from tests.personas import HETANG, LUSONG, Personas


def manager_headers(personas: Personas, area_code: str = LUSONG) -> dict[str, str]:
    return personas.bearer(personas.user(f"iso-{area_code}", Role.ISOLATION_MANAGER, area_code))


def base_refusals(personas: Personas) -> list[Refusal]:
    return [
        Refusal("anonymous", {}, 401, CoreErrorCode.AUTH_REQUIRED),
        Refusal(
            "resident", personas.bearer(personas.resident()), 403, CoreErrorCode.PERMISSION_DENIED
        ),
        Refusal(
            "grid worker (may view, not manage)",
            personas.bearer(personas.grid_worker()),
            403,
            CoreErrorCode.PERMISSION_DENIED,
        ),
    ]


def test_it_lets_only_managers_of_the_district_order_isolation(
    client: TestClient, session: Session, personas: Personas
) -> None:
    compound = places.compound(session, "芦淞花园")
    person = places.person(
        session, "张三", at=places.household(session, places.building(session, compound, "1栋"))
    )

    def check(body: dict[str, object]) -> None:
        assert (body["person_id"], body["kind"], body["rule_id"], body["pack_id"]) == (
            person.id,
            "centralised",
            "iso.close_contact",
            "cn-9",
        )

    assert_authorization_matrix(
        client=client,
        session=session,
        method="POST",
        url="/api/v1/isolation/orders?pack_id=cn-9",
        json={
            "person_id": person.id,
            "category": "close_contact",
            "last_exposure_at": "2022-07-01T10:00:00+08:00",
        },
        refusals=[
            *base_refusals(personas),
            Refusal(
                "manager of another district",
                manager_headers(personas, HETANG),
                403,
                CoreErrorCode.OUTSIDE_JURISDICTION,
            ),
        ],
        allowed_headers=manager_headers(personas),
        allowed_status=201,
        check_allowed=check,
    )


def test_it_lets_only_managers_of_the_district_open_a_facility(
    client: TestClient, session: Session, personas: Personas
) -> None:
    def check(body: dict[str, object]) -> None:
        assert (body["name"], body["status"], body["area_path"]) == (
            "芦淞隔离点",
            "in_use",
            "/43/4302/430203/",
        )

    assert_authorization_matrix(
        client=client,
        session=session,
        method="POST",
        url="/api/v1/isolation/facilities",
        json={"name": "芦淞隔离点", "area_code": LUSONG, "status": "in_use"},
        refusals=[
            *base_refusals(personas),
            Refusal(
                "manager of another district",
                manager_headers(personas, HETANG),
                403,
                CoreErrorCode.OUTSIDE_JURISDICTION,
            ),
        ],
        allowed_headers=manager_headers(personas),
        allowed_status=201,
        check_allowed=check,
    )


def test_it_answers_a_full_room_with_its_code(
    client: TestClient, session: Session, personas: Personas
) -> None:
    headers = manager_headers(personas)
    facility = client.post(
        "/api/v1/isolation/facilities",
        json={"name": "芦淞隔离点", "area_code": LUSONG, "status": "in_use"},
        headers=headers,
    ).json()
    room = client.post(
        f"/api/v1/isolation/facilities/{facility['id']}/rooms",
        json={"label": "101", "capacity": 1},
        headers=headers,
    ).json()
    compound = places.compound(session, "芦淞花园")
    home = places.household(session, places.building(session, compound, "1栋"))
    orders = [
        client.post(
            "/api/v1/isolation/orders?pack_id=cn-9",
            json={
                "person_id": places.person(session, name, at=home).id,
                "category": "close_contact",
                "last_exposure_at": "2022-07-01T10:00:00+08:00",
            },
            headers=headers,
        ).json()["id"]
        for name in ("张三", "李四")
    ]
    first = client.post(
        f"/api/v1/isolation/orders/{orders[0]}/assign",
        json={"room_id": room["id"]},
        headers=headers,
    )
    assert first.status_code == 200, first.text
    before = snapshot(session)

    second = client.post(
        f"/api/v1/isolation/orders/{orders[1]}/assign",
        json={"room_id": room["id"]},
        headers=headers,
    )

    assert (second.status_code, second.json()["code"], second.json()["field"]) == (
        409,
        IsolationErrorCode.ROOM_FULL,
        "room_id",
    )
    assert snapshot(session) == before
    rooms = client.get(f"/api/v1/isolation/facilities/{facility['id']}/rooms", headers=headers)
    assert [(r["label"], r["capacity"], r["occupancy"]) for r in rooms.json()] == [("101", 1, 1)]
    # A grid worker of 建宁街道 may view isolation, but this district facility is not theirs.
    hidden = client.get(
        f"/api/v1/isolation/facilities/{facility['id']}/rooms",
        headers=personas.bearer(personas.grid_worker()),
    )
    assert (hidden.status_code, hidden.json()["code"]) == (
        404,
        IsolationErrorCode.FACILITY_NOT_FOUND,
    )


def test_it_proposes_placements_keeping_households_together(
    client: TestClient, session: Session, personas: Personas
) -> None:
    headers = manager_headers(personas)
    facility = client.post(
        "/api/v1/isolation/facilities",
        json={"name": "芦淞隔离点", "area_code": LUSONG, "status": "in_use"},
        headers=headers,
    ).json()
    rooms = [
        client.post(
            f"/api/v1/isolation/facilities/{facility['id']}/rooms",
            json={"label": label, "capacity": capacity},
            headers=headers,
        ).json()["id"]
        for label, capacity in (("101", 1), ("102", 2))
    ]
    building = places.building(session, places.compound(session, "芦淞花园"), "1栋")
    family, single = (
        places.household(session, building, "301"),
        places.household(session, building, "302"),
    )
    people = [
        places.person(session, "张三", at=family),
        places.person(session, "张小三", at=family),
        places.person(session, "李四", at=single),
        places.person(session, "王五", at=places.household(session, building, "303"), tags=128),
    ]
    orders = [
        client.post(
            "/api/v1/isolation/orders?pack_id=cn-9",
            json={
                "person_id": p.id,
                "category": "close_contact",
                "last_exposure_at": "2022-07-01T10:00:00+08:00",
            },
            headers=headers,
        ).json()["id"]
        for p in people
    ]
    before = snapshot(session)

    response = client.post(
        "/api/v1/isolation/placements", json={"order_ids": orders}, headers=headers
    )

    assert response.status_code == 200, response.text
    assert [(r["person_id"], r["room_id"], r["reason"]) for r in response.json()] == [
        (people[0].id, rooms[1], "placed"),
        (people[1].id, rooms[1], "placed"),
        (people[2].id, rooms[0], "placed"),
        (people[3].id, None, "bedridden"),
    ]
    assert snapshot(session) == before
