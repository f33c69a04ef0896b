"""The case, investigation and contact API: the authorization matrix of each call that changes
something, the answers' shapes, and the line-list export."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.core.clock import ManualClock, use_clock
from fangkong.core.errors import CoreErrorCode
from fangkong.tracing import service
from fangkong.tracing.errors import TracingErrorCode
from fangkong.tracing.linelist import HEADERS
from tests.authz import Refusal, assert_authorization_matrix
from tests.personas import HETANG, LUSONG, Personas
from tests.tracing.world import NOW, SAMPLED, build, epidemiologist, open_case


def _epi(personas: Personas, area: str = LUSONG) -> dict[str, str]:
    return personas.bearer(personas.user(f"epi-{area}", Role.EPIDEMIOLOGIST, area))


def _common_refusals(personas: Personas) -> list[Refusal]:
    return [
        Refusal("anonymous", {}, 401, CoreErrorCode.AUTH_REQUIRED),
        Refusal(
            "resident", personas.bearer(personas.resident()), 403, CoreErrorCode.PERMISSION_DENIED
        ),
        Refusal(
            "grid worker",
            personas.bearer(personas.grid_worker()),
            403,
            CoreErrorCode.PERMISSION_DENIED,
        ),
    ]


def _is_manual(answer: Any) -> None:
    assert (answer["kind"], answer["source"], answer["description"]) == (
        "place",
        "manual",
        "建设路菜市场",
    )


def _is_handed_over(answer: Any) -> None:
    assert (answer["status"], answer["isolation_ref"]) == ("handed_over", "order 5")


def test_only_an_investigator_of_the_persons_area_opens_a_case(
    client: TestClient, session: Session, personas: Personas
) -> None:
    world = build(session)
    body = {
        "person_id": world.case_person.id,
        "kind": "confirmed",
        "detection_route": "fever_clinic",
        "onset_date": "2022-11-07",
        "sampled_at": SAMPLED.isoformat(),
        "severity": "mild",
    }

    def check(answer: Any) -> None:
        assert {k: answer[k] for k in ("person_id", "kind", "status", "severity")} == {
            "person_id": world.case_person.id,
            "kind": "confirmed",
            "status": "reported",
            "severity": "mild",
        }

    with use_clock(ManualClock(NOW)):
        assert_authorization_matrix(
            client=client,
            session=session,
            method="POST",
            url="/api/v1/cases",
            json=body,
            refusals=[
                *_common_refusals(personas),
                Refusal(
                    "epidemiologist of another district",
                    _epi(personas, HETANG),
                    404,
                    TracingErrorCode.CASE_UNKNOWN_PERSON,
                ),
            ],
            allowed_headers=_epi(personas),
            allowed_status=201,
            check_allowed=check,
        )
        again = client.post("/api/v1/cases", json=body, headers=_epi(personas))
    assert (again.status_code, again.json()["code"]) == (
        409,
        str(TracingErrorCode.CASE_PERSON_ALREADY_CASE),
    )


def test_the_trajectory_is_edited_and_confirmed_only_in_the_investigators_area(
    client: TestClient, session: Session, personas: Personas
) -> None:
    world = build(session)
    case = open_case(session, epidemiologist(personas), world.case_person)
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None
    entry = {
        "kind": "place",
        "description": "建设路菜市场",
        "started_at": "2022-11-07T09:00:00+08:00",
        "ended_at": "2022-11-07T09:40:00+08:00",
    }
    with use_clock(ManualClock(NOW)):
        assert_authorization_matrix(
            client=client,
            session=session,
            method="POST",
            url=f"/api/v1/investigations/{investigation.id}/entries",
            json=entry,
            refusals=[
                *_common_refusals(personas),
                Refusal(
                    "epidemiologist of another district",
                    _epi(personas, HETANG),
                    403,
                    TracingErrorCode.INVESTIGATION_OUTSIDE_JURISDICTION,
                ),
            ],
            allowed_headers=_epi(personas),
            allowed_status=201,
            check_allowed=_is_manual,
        )
        confirmed = client.post(
            f"/api/v1/investigations/{investigation.id}/confirm", headers=_epi(personas)
        )
    assert confirmed.status_code == 200, confirmed.text
    answer = confirmed.json()
    assert answer["status"] == "confirmed"
    assert [e["kind"] for e in answer["trajectory"]] == [
        "household",
        "workplace",
        "place",  # 09:00 Beijing time
        "scan",  # 13:30 Beijing time
    ]
    shopper = next(c for c in answer["contacts"] if c["person_id"] == world.shopper.id)
    assert shopper["category"] == "close_contact"
    assert shopper["evidence"] == [
        {
            "case_id": case.id,
            "basis": "venue",
            "venue_id": world.market.id,
            "household_id": None,
            "workplace_id": None,
            "via_person_id": None,
            "journey_id": None,
            "detail": None,
            "at": "2022-11-07T05:40:00Z",
            "minutes": 20,
        }
    ]


def test_contacts_are_listed_for_the_area_they_live_in_and_handed_over(
    client: TestClient, session: Session, personas: Personas
) -> None:
    world = build(session)
    actor = epidemiologist(personas)
    case = open_case(session, actor, world.case_person)
    investigation = service.investigation_of_case(session=session, case_id=case.id)
    assert investigation is not None
    with use_clock(ManualClock(NOW)):
        client.post(f"/api/v1/investigations/{investigation.id}/confirm", headers=_epi(personas))
        hetang = client.get("/api/v1/contacts?status=identified", headers=_epi(personas, HETANG))
        assert [c["person_id"] for c in hetang.json()] == [world.colleague.id]
        contact_id = hetang.json()[0]["id"]
        assert_authorization_matrix(
            client=client,
            session=session,
            method="POST",
            url=f"/api/v1/contacts/{contact_id}/handed-over",
            json={"isolation_ref": "order 5"},
            refusals=[
                *_common_refusals(personas),
                Refusal(
                    "epidemiologist where the contact does not live",
                    _epi(personas),
                    404,
                    TracingErrorCode.CONTACT_NOT_FOUND,
                ),
            ],
            allowed_headers=_epi(personas, HETANG),
            allowed_status=200,
            check_allowed=_is_handed_over,
        )


def test_the_line_list_exports_the_cases_in_scope_as_xlsx_and_csv(
    client: TestClient, session: Session, personas: Personas
) -> None:
    world = build(session)
    actor = epidemiologist(personas)
    first = open_case(session, actor, world.case_person)
    with use_clock(ManualClock(NOW)):
        investigation = service.investigation_of_case(session=session, case_id=first.id)
        assert investigation is not None
        client.post(f"/api/v1/investigations/{investigation.id}/confirm", headers=_epi(personas))
        as_csv = client.get("/api/v1/exports/cases?format=csv", headers=_epi(personas))
        as_xlsx = client.get("/api/v1/exports/cases?format=xlsx", headers=_epi(personas))
        elsewhere = client.get("/api/v1/exports/cases?format=csv", headers=_epi(personas, HETANG))
        refused = client.get("/api/v1/exports/cases", headers=personas.bearer(personas.resident()))
    assert as_csv.status_code == 200
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[0] == list(HEADERS)
    assert rows[1][:8] == [
        str(first.id),
        "张病例",
        "4302**********0000",
        world.case_person.area_path,
        "asymptomatic",
        "reported",
        "",
        "fever_clinic",
    ]
    assert rows[1][-2:] == ["4", "1"]  # 2 housemates, colleague, shopper; the shopper's spouse
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert [cell.value for cell in sheet[2]][:2] == [str(first.id), "张病例"]
    assert len(list(csv.reader(io.StringIO(elsewhere.content.decode("utf-8-sig"))))) == 1
    assert refused.status_code == 403
