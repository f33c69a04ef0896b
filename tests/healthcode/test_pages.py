"""The officials' pages: overrides with a second approver, appeals decided from the list, the
unexplained-code report and a person's code with its explanation."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.core import clock
from fangkong.healthcode import appeals
from fangkong.healthcode.models import CodeOverride, HealthCode
from tests.healthcode.test_appeals import resident_of
from tests.healthcode.test_overrides import NOW, isolated_person
from tests.personas import LUSONG, Personas, login


def test_two_officers_override_a_red_code_from_the_page(
    client: TestClient, session: Session, personas: Personas
) -> None:
    with clock.use_clock(clock.ManualClock(NOW)):
        person = isolated_person(session)
        personas.user("officer-a", Role.DISTRICT_OFFICER, LUSONG)
        personas.user("officer-b", Role.DISTRICT_OFFICER, LUSONG)
        csrf = login(client, "officer-a")
        form = client.get("/healthcode/overrides")
        sent = client.post(
            "/healthcode/overrides",
            data={
                "person_id": str(person.id),
                "colour": "green",
                "reason": "namesake",
                "expires_at": "2022-11-17T12:00",
                "csrf_token": csrf,
            },
            follow_redirects=False,
        )
        override = session.query(CodeOverride).one()
        listed = client.get("/healthcode/overrides")
        client.post("/logout", data={"csrf_token": csrf})
        csrf = login(client, "officer-b")
        offered = client.get("/healthcode/overrides")
        approved = client.post(
            f"/healthcode/overrides/{override.id}/approve",
            data={"note": "", "csrf_token": csrf},
            follow_redirects=False,
        )
        shown = client.get(f"/healthcode/persons/{person.id}?lang=en")
        report = client.get("/healthcode/unexplained")

    assert form.status_code == 200 and 'name="expires_at"' in form.text
    assert sent.status_code == 303
    # 12:00 in Zhuzhou is 04:00 UTC
    assert override.expires_at == NOW + timedelta(days=2)
    # the requester is not offered the approval of their own request
    assert f'data-override="{override.id}"' in listed.text
    assert f"/healthcode/overrides/{override.id}/approve" not in listed.text
    assert f"/healthcode/overrides/{override.id}/approve" in offered.text
    assert approved.status_code == 303
    code = session.get(HealthCode, person.id)
    assert code is not None and code.colour == "green"
    assert "Your code is green because your code was set by an official." in shown.text
    assert report.status_code == 200 and 'data-count="0"' in report.text


def test_a_reviewer_rejects_an_appeal_from_the_list(
    client: TestClient, session: Session, personas: Personas
) -> None:
    with clock.use_clock(clock.ManualClock(NOW)):
        person = isolated_person(session)
        appeal = appeals.submit_appeal(
            session=session, actor=resident_of(personas, person), text="not me", now=NOW
        )
        personas.user("reviewer", Role.DISTRICT_OFFICER, LUSONG)
        csrf = login(client, "reviewer")
        listed = client.get("/healthcode/appeals")
        decided = client.post(
            f"/healthcode/appeals/{appeal.id}/decide",
            data={"decision": "reject", "reason": "the order stands", "csrf_token": csrf},
            follow_redirects=False,
        )
        after = client.get("/healthcode/appeals")

    assert f'data-appeal="{appeal.id}"' in listed.text and "not me" in listed.text
    assert decided.status_code == 303
    session.refresh(appeal)
    assert (appeal.status, appeal.decision_reason) == ("rejected", "the order stands")
    assert f'data-appeal="{appeal.id}"' not in after.text
