"""The authorization matrix of the case, investigation and contact calls not covered in
test_case_views.py: anonymous, a resident, a role without the permission, an epidemiologist of
another district, then the allowed call. Every refusal leaves the database as it was."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.core.clock import ManualClock, use_clock
from fangkong.core.errors import CoreErrorCode
from fangkong.tracing import actions, service
from fangkong.tracing.errors import TracingErrorCode
from tests.authz import Refusal, assert_authorization_matrix
from tests.personas import HETANG, LUSONG, Personas
from tests.tracing.world import NOW, build, epidemiologist, open_case, positive_tube


@dataclass(frozen=True)
class Ids:
    case: int
    investigation: int
    entry: int
    confirmed_investigation: int
    contact: int


def world(session: Session, personas: Personas) -> Ids:
    place = build(session)
    actor = epidemiologist(personas)
    case = open_case(session, actor, place.case_person)
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None
    other = open_case(session, actor, place.late_shopper)
    other_investigation = service.investigation_of_case(session=session, case_id=other.id)
    assert other_investigation is not None
    with use_clock(ManualClock(NOW)):
        actions.confirm_investigation(
            session=session, actor=actor, investigation_id=other_investigation.id
        )
        _, contacts = actions.confirm_investigation(
            session=session, actor=actor, investigation_id=investigation.id
        )
    positive_tube(session, [place.neighbour], barcode="A0001")
    # a fresh draft for the confirm call
    fresh = open_case(session, actor, place.shopper_spouse)
    fresh_investigation = service.investigation_of_case(session=session, case_id=fresh.id)
    assert fresh_investigation is not None
    entry = service.trajectory(session=session, investigation_id=fresh_investigation.id)[0]
    wife = next(c for c in contacts if c.person_id == place.housemates[0].id)
    return Ids(
        case=case.id,
        investigation=fresh_investigation.id,
        entry=entry.id,
        confirmed_investigation=investigation.id,
        contact=wife.id,
    )


def _bearer(personas: Personas, role: Role, area: str) -> dict[str, str]:
    return personas.bearer(personas.user(f"{role}-{area}", role, area))


@dataclass(frozen=True)
class Call:
    label: str
    method: str
    url: Callable[[Ids], str]
    json: Any
    allowed_status: int
    other_district: tuple[int, str]
    permission_role: Role = Role.GRID_WORKER  # a role without the permission


CALLS = [
    Call("list cases", "GET", lambda i: "/api/v1/cases", None, 200, (200, "")),
    Call(
        "read a case",
        "GET",
        lambda i: f"/api/v1/cases/{i.case}",
        None,
        200,
        (404, TracingErrorCode.CASE_NOT_FOUND),
    ),
    Call(
        "read an investigation",
        "GET",
        lambda i: f"/api/v1/cases/{i.case}/investigation",
        None,
        200,
        (404, TracingErrorCode.CASE_NOT_FOUND),
    ),
    Call(
        "change a status",
        "POST",
        lambda i: f"/api/v1/cases/{i.case}/status",
        {"status": "transferred"},
        200,
        (404, TracingErrorCode.CASE_NOT_FOUND),
        Role.COMMAND_CENTRE,
    ),
    Call(
        "reclassify",
        "POST",
        lambda i: f"/api/v1/cases/{i.case}/reclassify",
        {"severity": "mild"},
        200,
        (404, TracingErrorCode.CASE_NOT_FOUND),
        Role.COMMAND_CENTRE,
    ),
    Call(
        "strike an entry",
        "POST",
        lambda i: f"/api/v1/investigations/{i.investigation}/entries/{i.entry}/removal",
        {"removed": True},
        200,
        (403, TracingErrorCode.INVESTIGATION_OUTSIDE_JURISDICTION),
        Role.COMMAND_CENTRE,
    ),
    Call(
        "confirm",
        "POST",
        lambda i: f"/api/v1/investigations/{i.investigation}/confirm",
        None,
        200,
        (403, TracingErrorCode.INVESTIGATION_OUTSIDE_JURISDICTION),
        Role.DISTRICT_OFFICER,
    ),
    Call(
        "find contacts again",
        "POST",
        lambda i: f"/api/v1/investigations/{i.confirmed_investigation}/find-contacts",
        None,
        200,
        (403, TracingErrorCode.INVESTIGATION_OUTSIDE_JURISDICTION),
        Role.DISTRICT_OFFICER,
    ),
    Call(
        "cases from positive results",
        "POST",
        lambda i: "/api/v1/cases/from-positive-results",
        None,
        200,
        (200, ""),
        Role.COMMAND_CENTRE,
    ),
    Call(
        "contacts due for isolation",
        "GET",
        lambda i: "/api/v1/contacts/due-for-isolation",
        None,
        200,
        (200, ""),
        Role.COMMAND_CENTRE,
    ),
]


@pytest.mark.parametrize("call", CALLS, ids=[call.label for call in CALLS])
def test_each_call_is_refused_to_the_wrong_people_and_changes_nothing(
    client: TestClient, session: Session, personas: Personas, call: Call
) -> None:
    ids = world(session, personas)
    refusals = [
        Refusal("anonymous", {}, 401, CoreErrorCode.AUTH_REQUIRED),
        Refusal(
            "resident", personas.bearer(personas.resident()), 403, CoreErrorCode.PERMISSION_DENIED
        ),
        Refusal(
            "role without the permission",
            _bearer(personas, call.permission_role, LUSONG),
            403,
            CoreErrorCode.PERMISSION_DENIED,
        ),
    ]
    status, code = call.other_district
    if code:
        refusals.append(
            Refusal(
                "epidemiologist of another district",
                _bearer(personas, Role.EPIDEMIOLOGIST, HETANG),
                status,
                code,
            )
        )
    with use_clock(ManualClock(NOW)):
        assert_authorization_matrix(
            client=client,
            session=session,
            method=call.method,
            url=call.url(ids),
            json=call.json,
            refusals=refusals,
            allowed_headers=_bearer(personas, Role.EPIDEMIOLOGIST, LUSONG),
            allowed_status=call.allowed_status,
        )


def test_the_isolation_side_hands_contacts_over_without_tracing_rights(
    client: TestClient, session: Session, personas: Personas
) -> None:
    ids = world(session, personas)
    with use_clock(ManualClock(NOW)):
        due = client.get(
            "/api/v1/contacts/due-for-isolation",
            headers=_bearer(personas, Role.ISOLATION_MANAGER, LUSONG),
        )
        assert ids.contact in [c["id"] for c in due.json()]
        answer = client.post(
            f"/api/v1/contacts/{ids.contact}/handed-over",
            json={"isolation_ref": "order 3"},
            headers=_bearer(personas, Role.ISOLATION_MANAGER, LUSONG),
        )
        refused = client.post(
            f"/api/v1/contacts/{ids.contact}/handed-over",
            json={},
            headers=_bearer(personas, Role.GRID_WORKER, LUSONG),
        )
    assert (answer.status_code, answer.json()["status"]) == (200, "handed_over")
    assert (refused.status_code, refused.json()["code"]) == (
        403,
        str(CoreErrorCode.PERMISSION_DENIED),
    )
