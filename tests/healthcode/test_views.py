"""The code page, explanations, tokens and the checkpoint, overrides and appeals over HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.core import clock
from fangkong.healthcode import service, tokens
from fangkong.healthcode.models import HealthCode
from fangkong.registry.models import Person
from tests import places
from tests.healthcode import world
from tests.personas import HETANG, LUSONG, Personas, login

NOW = datetime(2022, 11, 15, 4, 0, tzinfo=UTC)  # 12:00 in Zhuzhou
API = "/api/v1/healthcode"


@pytest.fixture
def manual() -> Iterator[clock.ManualClock]:
    with clock.use_clock(clock.ManualClock(NOW)) as installed:
        assert isinstance(installed, clock.ManualClock)
        yield installed


def skipper(session: Session, name: str = "未检者") -> Person:
    """A resident of 建宁街道 who skipped the round that closed at noon on 14 November."""
    home = places.household(
        session, places.building(session, places.compound(session, f"{name}小区"), "1栋")
    )
    person = places.person(session, name, at=home)
    world.campaign(
        session,
        area_code="430203003",
        starts_at=NOW - timedelta(days=2),
        ends_at=NOW - timedelta(days=1),
        closed=True,
    )
    return person


def resident(personas: Personas, person: Person) -> str:
    assert person.household_id is not None
    user = personas.user(
        f"resident-{person.id}",
        Role.RESIDENT,
        person_id=person.id,
        household_id=person.household_id,
    )
    return user.username


def test_the_resident_sees_colour_reason_qr_and_appeals(
    client: TestClient, session: Session, personas: Personas, manual: clock.ManualClock
) -> None:
    person = skipper(session)
    csrf = login(client, resident(personas, person))

    page = client.get("/my-code")
    english = client.get("/my-code?lang=en")
    fragment = client.get("/my-code/qr")

    assert page.status_code == 200
    assert 'data-colour="yellow"' in page.text
    assert "您的健康码为黄码，因为您未参加11月14日的全员核酸检测。完成一次核酸检测后转为绿码。" in (
        page.text
    )
    assert "<svg" in page.text and 'hx-trigger="every 50s"' in page.text
    assert (
        "Your code is yellow because you missed the test round of 14 November. "
        "It turns green when you take a test." in english.text
    )
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith('<div id="qr"')

    sent = client.post(
        "/my-code/appeal",
        data={"text": "I was tested elsewhere", "csrf_token": csrf},
        follow_redirects=False,
    )
    after = client.get("/my-code")

    assert sent.status_code == 303
    assert 'data-status="open"' in after.text and "I was tested elsewhere" in after.text


def test_the_explanation_api_speaks_both_languages(
    client: TestClient, session: Session, personas: Personas, manual: clock.ManualClock
) -> None:
    person = skipper(session)
    user = personas.user(
        f"resident-{person.id}",
        Role.RESIDENT,
        person_id=person.id,
        household_id=person.household_id or 0,
    )
    headers = personas.bearer(user)

    zh = client.get(f"{API}/me/explanation", headers=headers).json()
    en = client.get(f"{API}/me/explanation?lang=en", headers=headers).json()

    assert zh["sentence"] == (
        "您的健康码为黄码，因为您未参加11月14日的全员核酸检测。完成一次核酸检测后转为绿码。"
    )
    assert en == {
        "locale": "en",
        "colour": "yellow",
        "sentence": "Your code is yellow because you missed the test round of 14 November. "
        "It turns green when you take a test.",
        "reasons": ["you missed the test round of 14 November"],
        "to_green": ["when you take a test"],
        "valid_until": None,
    }


def _forge(token: str, colour: str) -> str:
    prefix, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["c"] = colour
    raw = json.dumps(claims, separators=(",", ":")).encode()
    return f"{prefix}.{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}.{signature}"


def test_a_checkpoint_verifies_once_and_refuses_forged_replayed_and_expired_tokens(
    client: TestClient, session: Session, personas: Personas, manual: clock.ManualClock
) -> None:
    person = skipper(session)
    world.tube(session, [person], sampled_at=NOW - timedelta(days=3), result="not_detected")
    world.dose(session, person, 1, NOW.date() - timedelta(days=400), NOW)
    assert person.household_id is not None
    me = personas.bearer(
        personas.user(
            "holder", Role.RESIDENT, person_id=person.id, household_id=person.household_id
        )
    )
    gate = personas.bearer(personas.user("gate-1", Role.CHECKPOINT, LUSONG))

    token = client.get(f"{API}/me/token", headers=me).json()["token"]
    first = client.post(f"{API}/verify", json={"token": token}, headers=gate)
    replayed = client.post(f"{API}/verify", json={"token": token}, headers=gate)
    forged = client.post(f"{API}/verify", json={"token": _forge(token, "red")}, headers=gate)
    stale = client.get(f"{API}/me/token", headers=me).json()["token"]
    manual.advance(timedelta(minutes=2))
    expired = client.post(f"{API}/verify", json={"token": stale}, headers=gate)
    by_resident = client.post(f"{API}/verify", json={"token": stale}, headers=me)

    assert first.status_code == 200
    assert first.json() == {
        "colour": "yellow",  # the negative test predates the round it skipped
        "issued_at": "2022-11-15T04:00:00Z",
        "latest_negative_at": "2022-11-12T04:00:00Z",
        "negative_age_hours": 72,
        "doses": 1,
        "last_dose_on": (NOW.date() - timedelta(days=400)).isoformat(),
    }
    assert replayed.json()["code"] == "healthcode.token_replayed"
    assert forged.json()["code"] == "healthcode.token_forged"
    assert expired.json()["code"] == "healthcode.token_expired"
    assert by_resident.status_code == 403


def test_the_checkpoint_page_shows_only_colour_test_age_and_vaccination(
    client: TestClient, session: Session, personas: Personas, manual: clock.ManualClock
) -> None:
    person = skipper(session)
    assert person.household_id is not None
    me = personas.bearer(
        personas.user(
            "holder", Role.RESIDENT, person_id=person.id, household_id=person.household_id
        )
    )
    token = client.get(f"{API}/me/token", headers=me).json()["token"]
    csrf = login(client, personas.user("gate-2", Role.CHECKPOINT, LUSONG).username)

    page = client.get("/checkpoint")
    result = client.post(
        "/checkpoint/verify",
        data={"token": token, "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    again = client.post(
        "/checkpoint/verify",
        data={"token": token, "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )

    assert page.status_code == 200 and "data-scanner" in page.text and "autofocus" in page.text
    assert 'data-colour="yellow"' in result.text
    assert person.name not in result.text
    assert 'data-field="doses">0' in result.text
    assert 'data-refusal="healthcode.token_replayed"' in again.text


def test_the_public_keys_verify_a_token_offline(
    client: TestClient, session: Session, personas: Personas, manual: clock.ManualClock
) -> None:
    person = skipper(session)
    assert person.household_id is not None
    me = personas.bearer(
        personas.user(
            "holder", Role.RESIDENT, person_id=person.id, household_id=person.household_id
        )
    )
    token = client.get(f"{API}/me/token", headers=me).json()["token"]

    published = client.get(f"{API}/public-keys")
    claims = tokens.verify(
        token=token, public_keys=tokens.parse_public_keys(published.text), now=NOW
    )

    assert published.status_code == 200
    assert (claims.person_ref, claims.colour) == (f"p{person.id}", "yellow")


def test_overrides_over_http_need_a_second_approver(
    client: TestClient, session: Session, personas: Personas, manual: clock.ManualClock
) -> None:
    home = places.household(
        session, places.building(session, places.compound(session, "隔离小区"), "1栋")
    )
    person = places.person(session, "隔离者", at=home)
    world.order(session, person, kind="centralised", since=NOW - timedelta(days=1), status="active")
    asker = personas.bearer(personas.user("officer-a", Role.DISTRICT_OFFICER, LUSONG))
    second = personas.bearer(personas.user("officer-b", Role.DISTRICT_OFFICER, LUSONG))
    outsider = personas.bearer(personas.user("officer-h", Role.DISTRICT_OFFICER, HETANG))
    grid = personas.bearer(personas.grid_worker())
    body = {
        "person_id": person.id,
        "colour": "green",
        "reason": "order issued to a namesake",
        "expires_at": (NOW + timedelta(days=2)).isoformat(),
    }

    no_reason = client.post(f"{API}/overrides", json={**body, "reason": ""}, headers=asker)
    outside = client.post(f"{API}/overrides", json=body, headers=outsider)
    not_allowed = client.post(f"{API}/overrides", json=body, headers=grid)
    anonymous = client.post(f"{API}/overrides", json=body)
    created = client.post(f"{API}/overrides", json=body, headers=asker)
    override_id = created.json()["id"]
    self_approved = client.post(f"{API}/overrides/{override_id}/approve", json={}, headers=asker)
    before = client.get(f"{API}/persons/{person.id}", headers=asker).json()["colour"]
    approved = client.post(f"{API}/overrides/{override_id}/approve", json={}, headers=second)
    after = client.get(f"{API}/persons/{person.id}", headers=asker).json()

    assert no_reason.json()["code"] == "healthcode.override_reason_required"
    assert outside.json()["code"] == "permission.outside_jurisdiction"
    assert not_allowed.json()["code"] == "permission.denied"
    assert anonymous.status_code == 401
    assert (created.status_code, created.json()["status"]) == (201, "pending")
    assert self_approved.status_code == 403
    assert self_approved.json()["code"] == "healthcode.override_same_approver"
    assert before == "red"
    assert approved.json()["status"] == "active"
    assert (after["colour"], after["rule_id"]) == ("green", f"override.{override_id}")
    assert client.get(f"{API}/unexplained", headers=asker).json() == []


def test_a_reviewer_decides_an_appeal_over_http(
    client: TestClient, session: Session, personas: Personas, manual: clock.ManualClock
) -> None:
    person = skipper(session)
    assert person.household_id is not None
    me = personas.bearer(
        personas.user(
            "holder", Role.RESIDENT, person_id=person.id, household_id=person.household_id
        )
    )
    reviewer = personas.bearer(personas.user("officer-r", Role.DISTRICT_OFFICER, LUSONG))

    appeal = client.post(f"{API}/appeals", json={"text": "tested in Changsha"}, headers=me).json()
    listed = client.get(f"{API}/appeals", headers=reviewer).json()
    manual.advance(timedelta(hours=25))
    overdue = client.get(f"{API}/appeals", headers=reviewer).json()
    unknown = client.post(
        f"{API}/appeals/{appeal['id']}/decide",
        json={"decision": "maybe", "reason": "x"},
        headers=reviewer,
    )
    decided = client.post(
        f"{API}/appeals/{appeal['id']}/decide",
        json={
            "decision": "accept",
            "reason": "Changsha result confirmed",
            "override_colour": "green",
            "override_expires_at": (NOW + timedelta(days=3)).isoformat(),
        },
        headers=reviewer,
    )
    mine = client.get(f"{API}/me/appeals", headers=me).json()

    assert [a["id"] for a in listed] == [appeal["id"]] and not listed[0]["is_overdue"]
    assert overdue[0]["is_overdue"] is True
    assert unknown.json()["code"] == "healthcode.appeal_decision_unknown"
    assert decided.status_code == 200
    assert decided.json()["override"]["status"] == "active"  # yellow → green: one approver
    assert (mine[0]["status"], mine[0]["decision_reason"]) == (
        "accepted",
        "Changsha result confirmed",
    )
    assert client.get(f"{API}/me", headers=me).json()["colour"] == "green"


def test_my_code_computes_a_first_code_then_reads_the_stored_one(
    client: TestClient, session: Session, personas: Personas, manual: clock.ManualClock
) -> None:
    person = skipper(session, "查码者")
    assert person.household_id is not None
    me = personas.bearer(
        personas.user(
            "looker", Role.RESIDENT, person_id=person.id, household_id=person.household_id
        )
    )
    assert service.get(session=session, person_id=person.id) is None

    first = client.get(f"{API}/me", headers=me)

    assert first.status_code == 200, first.text
    assert first.json() == {
        "person_id": person.id,
        "colour": "yellow",
        "rule_id": "zz.skipped_round",
        "pack_id": "zhuzhou-2022-11",
        "pack_version": 1,
        "reasons": ["skipped_required_round"],
        "decided_at": "2022-11-15T04:00:00Z",
        "valid_until": None,
    }
    stored = service.get(session=session, person_id=person.id)
    assert stored is not None and stored.revision == 1
    # the stored row is what the next lookup answers, even after the facts moved on
    session.execute(
        update(HealthCode).where(HealthCode.person_id == person.id).values(colour="red")
    )
    assert client.get(f"{API}/me", headers=me).json() == {**first.json(), "colour": "red"}
