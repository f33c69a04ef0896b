"""Risk-areas HTTP contract and authorization matrix."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.areas.enums import RiskLevel, TargetKind
from fangkong.areas.errors import AreasErrorCode
from fangkong.core.errors import CoreErrorCode
from tests import places
from tests.authz import Refusal, assert_authorization_matrix, snapshot
from tests.personas import HETANG, LUSONG, Personas


def officer_headers(personas: Personas, area_code: str = LUSONG) -> dict[str, str]:
    return personas.bearer(personas.user(f"officer-{area_code}", Role.DISTRICT_OFFICER, area_code))


def refusals(personas: Personas, *, outside_code: str) -> list[Refusal]:
    return [
        Refusal("anonymous", {}, 401, CoreErrorCode.AUTH_REQUIRED),
        Refusal(
            "resident", personas.bearer(personas.resident()), 403, CoreErrorCode.PERMISSION_DENIED
        ),
        Refusal(
            "grid worker (may view, not designate)",
            personas.bearer(personas.grid_worker()),
            403,
            CoreErrorCode.PERMISSION_DENIED,
        ),
        Refusal(
            "officer of another district",
            officer_headers(personas, HETANG),
            *_outside(outside_code),
        ),
    ]


def _outside(code: str) -> tuple[int, str]:
    return (404, code) if code == AreasErrorCode.DESIGNATION_NOT_FOUND else (403, code)


def designate(
    client: TestClient, headers: dict[str, str], compound_id: int, level: str = "high"
) -> int:
    response = client.post(
        "/api/v1/risk-areas?pack_id=cn-9",
        json={
            "target_kind": "compound",
            "target_id": compound_id,
            "level": level,
            "reason": "case 1",
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_it_lets_only_officers_of_the_district_designate(
    client: TestClient, session: Session, personas: Personas
) -> None:
    compound = places.compound(session, "芦淞花园")

    def check(body: dict[str, object]) -> None:
        assert (body["name"], body["level"], body["status"], body["pack_id"]) == (
            "芦淞花园",
            "high",
            "proposed",
            "cn-9",
        )

    assert_authorization_matrix(
        client=client,
        session=session,
        method="POST",
        url="/api/v1/risk-areas?pack_id=cn-9",
        json={
            "target_kind": TargetKind.COMPOUND,
            "target_id": compound.id,
            "level": RiskLevel.HIGH,
            "controls": ["stay_home"],
            "reason": "case 1 lives here",
        },
        refusals=refusals(personas, outside_code=CoreErrorCode.OUTSIDE_JURISDICTION),
        allowed_headers=officer_headers(personas),
        allowed_status=201,
        check_allowed=check,
    )


def test_it_lets_only_officers_of_the_district_confirm(
    client: TestClient, session: Session, personas: Personas
) -> None:
    compound = places.compound(session, "芦淞花园")
    designation_id = designate(client, officer_headers(personas), compound.id)

    def check(body: dict[str, object]) -> None:
        assert (body["id"], body["status"]) == (designation_id, "confirmed")

    assert_authorization_matrix(
        client=client,
        session=session,
        method="POST",
        url=f"/api/v1/risk-areas/{designation_id}/confirm",
        refusals=refusals(personas, outside_code=AreasErrorCode.DESIGNATION_NOT_FOUND),
        allowed_headers=officer_headers(personas),
        allowed_status=200,
        check_allowed=lambda body: (
            body["status"] == "confirmed" or (_ for _ in ()).throw(AssertionError(body))
        ),
    )


def test_it_refuses_to_lift_over_the_api_while_a_case_is_open(
    client: TestClient, session: Session, personas: Personas
) -> None:
    headers = officer_headers(personas)
    compound = places.compound(session, "芦淞花园")
    designation_id = designate(client, headers, compound.id)
    assert (
        client.post(f"/api/v1/risk-areas/{designation_id}/confirm", headers=headers).status_code
        == 200
    )
    day = client.put(
        f"/api/v1/risk-areas/{designation_id}/days",
        json={"day": "2022-11-12", "new_infections": 0, "open_cases": 1},
        headers=headers,
    )
    assert day.status_code == 204, day.text
    before = snapshot(session)

    response = client.post(
        f"/api/v1/risk-areas/{designation_id}/lift", json={"reason": "assessed"}, headers=headers
    )

    assert (response.status_code, response.json()["code"]) == (409, AreasErrorCode.CASE_OPEN)
    assert snapshot(session) == before


def test_it_refuses_facts_for_a_day_that_has_not_come(
    client: TestClient, session: Session, personas: Personas
) -> None:
    headers = officer_headers(personas)
    compound = places.compound(session, "芦淞花园")
    designation_id = designate(client, headers, compound.id)
    before = snapshot(session)

    response = client.put(
        f"/api/v1/risk-areas/{designation_id}/days",
        json={"day": "2999-01-01", "new_infections": 0},
        headers=headers,
    )

    assert (response.status_code, response.json()["code"]) == (400, AreasErrorCode.DAY_IN_FUTURE)
    assert snapshot(session) == before


def test_it_publishes_current_risk_areas_without_login(
    client: TestClient, session: Session, personas: Personas
) -> None:
    headers = officer_headers(personas)
    confirmed = designate(client, headers, places.compound(session, "芦淞花园").id)
    designate(client, headers, places.compound(session, "建宁小区").id, level="medium")
    client.post(f"/api/v1/risk-areas/{confirmed}/confirm", headers=headers)

    response = client.get("/api/v1/risk-areas/public")

    assert response.status_code == 200
    assert response.json() == [{"name": "芦淞花园", "level": "high"}]


def test_it_lists_designations_inside_the_jurisdiction_only(
    client: TestClient, session: Session, personas: Personas
) -> None:
    designate(client, officer_headers(personas), places.compound(session, "芦淞花园").id)
    designate(
        client,
        officer_headers(personas, HETANG),
        places.compound(session, "荷塘小区", township_code="430202001").id,
    )

    lusong = client.get("/api/v1/risk-areas", headers=personas.bearer(personas.grid_worker()))
    resident = client.get("/api/v1/risk-areas", headers=personas.bearer(personas.resident()))

    assert [row["name"] for row in lusong.json()] == ["芦淞花园"]
    assert (resident.status_code, resident.json()["code"]) == (403, CoreErrorCode.PERMISSION_DENIED)
