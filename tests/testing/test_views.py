from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.core.errors import CoreErrorCode
from tests.authz import snapshot
from tests.personas import ZHUZHOU, Personas
from tests.testing.hl7_samples import batch, oru

URL = "/api/v1/testing/result-files"


def hl7_file() -> dict[str, tuple[str, bytes, str]]:
    content = batch([oru(control_id="M1", tube="ZZ0001"), oru(control_id="M2", tube="Z")])
    return {"file": ("lab-20221110.hl7", content.encode(), "application/hl7-v2")}


def test_it_lets_only_a_laboratory_upload_results(
    client: TestClient, session: Session, personas: Personas
) -> None:
    grid_worker = personas.bearer(personas.grid_worker())
    lab = personas.bearer(personas.user("zz-lab-1", Role.LABORATORY, ZHUZHOU))
    refusals = [
        ("anonymous", {}, 401, CoreErrorCode.AUTH_REQUIRED),
        ("bad token", {"Authorization": "Bearer nope"}, 401, CoreErrorCode.AUTH_TOKEN_INVALID),
        ("wrong role", grid_worker, 403, CoreErrorCode.PERMISSION_DENIED),
    ]
    for label, headers, status, code in refusals:
        before = snapshot(session)
        response = client.post(URL, files=hl7_file(), data={"format": "hl7v2"}, headers=headers)
        assert (response.status_code, response.json()["code"]) == (status, code), label
        assert snapshot(session) == before, f"{label}: a refused call changed data"

    response = client.post(URL, files=hl7_file(), data={"format": "hl7v2"}, headers=lab)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["filename"] == "lab-20221110.hl7"
    assert (body["accepted_count"], body["stored_count"], body["rejected_count"]) == (1, 1, 1)
    assert body["rejections"][0]["code"] == "testing.tube_id_invalid"


def test_it_answers_a_repeated_upload_with_the_first_report(
    client: TestClient, session: Session, personas: Personas
) -> None:
    lab = personas.bearer(personas.user("zz-lab-1", Role.LABORATORY, ZHUZHOU))
    first = client.post(URL, files=hl7_file(), data={"format": "hl7v2"}, headers=lab)
    before = snapshot(session)

    again = client.post(URL, files=hl7_file(), data={"format": "hl7v2"}, headers=lab)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert snapshot(session) == before


def test_it_refuses_an_unknown_format_and_changes_nothing(
    client: TestClient, session: Session, personas: Personas
) -> None:
    lab = personas.bearer(personas.user("zz-lab-1", Role.LABORATORY, ZHUZHOU))
    before = snapshot(session)

    response = client.post(URL, files=hl7_file(), data={"format": "xml"}, headers=lab)

    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == (
        CoreErrorCode.REQUEST_INVALID,
        "format",
    )
    assert snapshot(session) == before
