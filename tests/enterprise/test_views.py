from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from tests.authz import Refusal, assert_authorization_matrix, snapshot
from tests.enterprise.flow import approved, enterprise_in, registered
from tests.personas import HETANG, Personas
from tests.situation import give_health_code

NOW = datetime.now(UTC)
ANONYMOUS = Refusal("anonymous", {}, 401, "auth.required")

ENDPOINTS = [
    ("POST", "/api/v1/enterprise/enterprises"),
    ("GET", "/api/v1/enterprise/enterprises"),
    ("POST", "/api/v1/enterprise/enterprises/1/staff"),
    ("POST", "/api/v1/enterprise/enterprises/1/applications"),
    ("POST", "/api/v1/enterprise/applications/1/resubmit"),
    ("POST", "/api/v1/enterprise/applications/1/approve"),
    ("POST", "/api/v1/enterprise/applications/1/refuse"),
    ("POST", "/api/v1/enterprise/applications/1/request-changes"),
    ("POST", "/api/v1/enterprise/applications/1/liaison"),
    ("POST", "/api/v1/enterprise/enterprises/1/daily-reports"),
    ("GET", "/api/v1/enterprise/statistics?grouping=park&on=2022-11-20"),
    ("POST", "/api/v1/enterprise/passes/whitelist"),
    ("POST", "/api/v1/enterprise/passes/freight"),
    ("POST", "/api/v1/enterprise/passes/1/revoke"),
    ("GET", "/api/v1/enterprise/applications/1/passes.pdf"),
    ("POST", "/api/v1/enterprise/checkpoint/scan"),
    ("POST", "/api/v1/enterprise/tickets"),
    ("POST", "/api/v1/enterprise/tickets/1/close"),
    ("GET", "/api/v1/enterprise/tickets/summary"),
]


def test_it_refuses_anonymous_callers_and_residents_on_every_endpoint(
    client: TestClient, session: Session, personas: Personas
) -> None:
    resident = personas.bearer(personas.resident())
    before = snapshot(session)

    answers = {
        (method, url, label): (response.status_code, response.json()["code"])
        for method, url in ENDPOINTS
        for label, headers in (("anonymous", {}), ("resident", resident))
        for response in [client.request(method, url, json={}, headers=headers)]
    }

    assert answers == {
        (method, url, label): expected
        for method, url in ENDPOINTS
        for label, expected in (
            ("anonymous", (401, "auth.required")),
            ("resident", (403, "permission.denied")),
        )
    }
    assert snapshot(session) == before


def test_it_lets_only_the_bureau_of_the_area_approve(
    client: TestClient, session: Session, personas: Personas
) -> None:
    flow = registered(session, personas)
    application = client.post(
        f"/api/v1/enterprise/enterprises/{flow.enterprise.id}/applications",
        json={
            "is_closed_loop": True,
            "is_point_to_point_commuting": False,
            "dormitory_beds": 0,
            "prevention_officer": "李专员",
            "prevention_officer_phone": "13900000000",
            "emergency_plan": "预案",
            "staff_person_ids": [p.id for p in flow.staff],
        },
        headers=personas.bearer(personas.user("rail-company", Role.ENTERPRISE)),
    ).json()

    assert_authorization_matrix(
        client=client,
        session=session,
        method="POST",
        url=f"/api/v1/enterprise/applications/{application['id']}/approve",
        json={"note": ""},
        refusals=[
            ANONYMOUS,
            Refusal(
                "the enterprise itself",
                personas.bearer(personas.user("rail-company", Role.ENTERPRISE)),
                403,
                "permission.denied",
            ),
            Refusal(
                "another district's bureau",
                personas.bearer(personas.user("hetang-industry", Role.INDUSTRY_BUREAU, HETANG)),
                403,
                "permission.outside_jurisdiction",
            ),
        ],
        allowed_headers=personas.bearer(personas.user("lusong-industry", Role.INDUSTRY_BUREAU)),
        allowed_status=200,
        check_allowed=lambda body: _equal(body["status"], "approved"),
    )


def test_it_lets_only_the_bureau_issue_passes_and_checkpoints_scan_them(
    client: TestClient, session: Session, personas: Personas
) -> None:
    _flow, application = approved(session, personas)
    bureau = personas.bearer(personas.user("lusong-industry", Role.INDUSTRY_BUREAU))
    issue = {
        "application_id": application.id,
        "valid_from": (NOW - timedelta(hours=1)).isoformat(),
        "valid_until": (NOW + timedelta(days=7)).isoformat(),
        "route": "宿舍—厂区",
        "sites": [],
    }
    issued: list[dict[str, Any]] = []
    assert_authorization_matrix(
        client=client,
        session=session,
        method="POST",
        url="/api/v1/enterprise/passes/whitelist",
        json=issue,
        refusals=[
            ANONYMOUS,
            Refusal(
                "enterprise",
                personas.bearer(personas.user("rail-company", Role.ENTERPRISE)),
                403,
                "permission.denied",
            ),
            Refusal(
                "other bureau",
                personas.bearer(personas.user("hetang-industry", Role.INDUSTRY_BUREAU, HETANG)),
                403,
                "permission.outside_jurisdiction",
            ),
        ],
        allowed_headers=bureau,
        allowed_status=201,
        check_allowed=issued.extend,
    )
    assert len(issued) == 3

    give_health_code(session, issued[0]["person_id"], "green")
    scan = {"token": issued[0]["token"], "health_colour": "green"}
    assert_authorization_matrix(
        client=client,
        session=session,
        method="POST",
        url="/api/v1/enterprise/checkpoint/scan",
        json=scan,
        refusals=[ANONYMOUS, Refusal("bureau", bureau, 403, "permission.denied")],
        allowed_headers=personas.bearer(personas.user("city-checkpoint", Role.CHECKPOINT)),
        allowed_status=200,
        check_allowed=lambda body: _equal((body["is_admitted"], body["code"]), (True, None)),
    )
    give_health_code(session, issued[0]["person_id"], "red")
    red = client.post(
        "/api/v1/enterprise/checkpoint/scan",
        json=scan,  # the checkpoint says green; the stored red code decides
        headers=personas.bearer(personas.user("city-checkpoint", Role.CHECKPOINT)),
    ).json()
    assert (red["is_admitted"], red["code"]) == (False, "enterprise.health_code_not_green")

    sheet = client.get(
        f"/api/v1/enterprise/applications/{application.id}/passes.pdf", headers=bureau
    )
    assert (sheet.status_code, sheet.headers["content-type"], sheet.content[:5]) == (
        200,
        "application/pdf",
        b"%PDF-",
    )


def test_it_answers_a_bad_credit_code_with_its_code_and_changes_nothing(
    client: TestClient, session: Session, personas: Personas
) -> None:
    headers = personas.bearer(personas.user("lusong-industry", Role.INDUSTRY_BUREAU, "430203"))
    before = snapshot(session)

    response = client.post(
        "/api/v1/enterprise/enterprises",
        json=enterprise_in(credit_code="91350100M000100Y44").model_dump(),
        headers=headers,
    )

    assert (response.status_code, response.json()) == (
        400,
        {
            "code": "enterprise.credit_code_invalid",
            "field": "credit_code",
            "message": response.json()["message"],
        },
    )
    assert snapshot(session) == before


def _equal(actual: object, expected: object) -> None:
    assert actual == expected
