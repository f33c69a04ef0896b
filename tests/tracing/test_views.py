from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.core.clock import ManualClock, use_clock
from fangkong.core.errors import CoreErrorCode
from fangkong.tracing.errors import TracingErrorCode
from fangkong.tracing.models import PlaceScan
from tests.authz import Refusal, assert_authorization_matrix
from tests.personas import HETANG, LUSONG, Personas
from tests.tracing.places import NOW, make_places


def test_it_admits_only_scan_recorders_to_the_scan_api(
    client: TestClient, session: Session, personas: Personas
) -> None:
    places = make_places(session, people=2)
    gateway = personas.user("market-gateway", Role.CHECKPOINT, LUSONG)
    body = {
        "scans": [
            {
                "person_id": places.persons[0],
                "venue_id": places.market,
                "scanned_at": "2022-11-09T11:00:00Z",
            },
            {
                "person_id": places.persons[1],
                "venue_id": 999_999,
                "scanned_at": "2022-11-09T11:00:00Z",
            },
        ]
    }

    def check(answer: Any) -> None:
        assert answer == {
            "stored": 1,
            "rejected": [
                {
                    "index": 1,
                    "code": str(TracingErrorCode.SCAN_UNKNOWN_VENUE),
                    "field": "venue_id",
                    "message": "no such venue",
                }
            ],
        }

    with use_clock(ManualClock(NOW)):
        assert_authorization_matrix(
            client=client,
            session=session,
            method="POST",
            url="/api/v1/scans",
            json=body,
            refusals=[
                Refusal("anonymous", {}, 401, CoreErrorCode.AUTH_REQUIRED),
                Refusal(
                    "bad token",
                    {"Authorization": "Bearer nope"},
                    401,
                    CoreErrorCode.AUTH_TOKEN_INVALID,
                ),
                Refusal(
                    "resident",
                    personas.bearer(personas.resident()),
                    403,
                    CoreErrorCode.PERMISSION_DENIED,
                ),
                Refusal(
                    "grid worker",
                    personas.bearer(personas.grid_worker()),
                    403,
                    CoreErrorCode.PERMISSION_DENIED,
                ),
                Refusal(
                    "administrator",
                    personas.bearer(personas.admin()),
                    403,
                    CoreErrorCode.PERMISSION_DENIED,
                ),
            ],
            allowed_headers=personas.bearer(gateway),
            allowed_status=200,
            check_allowed=check,
        )
    [(person_id, recorded_by)] = session.execute(
        select(PlaceScan.person_id, PlaceScan.recorded_by_user_id)
    ).all()
    assert (person_id, recorded_by) == (places.persons[0], gateway.id)


def test_it_refuses_an_oversized_batch_and_stores_nothing(
    client: TestClient, session: Session, personas: Personas
) -> None:
    places = make_places(session, people=1)
    gateway = personas.user("market-gateway", Role.CHECKPOINT, LUSONG)
    scan = {
        "person_id": places.persons[0],
        "venue_id": places.market,
        "scanned_at": "2022-11-09T11:00:00Z",
    }
    with use_clock(ManualClock(NOW)):
        response = client.post(
            "/api/v1/scans", json={"scans": [scan] * 1001}, headers=personas.bearer(gateway)
        )
    assert (response.status_code, response.json()["code"], response.json()["field"]) == (
        413,
        str(TracingErrorCode.SCANS_BATCH_TOO_LARGE),
        "scans",
    )
    assert session.scalars(select(PlaceScan.id)).all() == []


def test_it_refuses_scans_of_a_venue_outside_the_senders_area(
    client: TestClient, session: Session, personas: Personas
) -> None:
    places = make_places(session, people=1)  # the venues are in 芦淞区
    hetang_gateway = personas.user("hetang-gateway", Role.CHECKPOINT, HETANG)
    scan = {
        "person_id": places.persons[0],
        "venue_id": places.market,
        "scanned_at": "2022-11-09T11:00:00Z",
    }
    with use_clock(ManualClock(NOW)):
        response = client.post(
            "/api/v1/scans", json={"scans": [scan]}, headers=personas.bearer(hetang_gateway)
        )
    assert response.status_code == 200
    assert [(r["index"], r["code"]) for r in response.json()["rejected"]] == [
        (0, str(TracingErrorCode.SCAN_VENUE_OUTSIDE_JURISDICTION))
    ]
    assert session.scalars(select(PlaceScan.id)).all() == []
