"""Risk-area pages through the real forms: propose, confirm, record days, the explanation of
today's decision, a refused lift while a case is open, and the public list without login."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.areas.models import RiskDesignation
from fangkong.core import clock
from tests import places
from tests.authz import snapshot
from tests.personas import LUSONG, Personas, login

DESIGNATED = datetime(2022, 7, 1, 2, 0, tzinfo=UTC)  # cn-9 is in force


def test_it_explains_the_daily_decision_and_refuses_a_lift_while_a_case_is_open(
    client: TestClient, session: Session, personas: Personas
) -> None:
    personas.user("officer", Role.DISTRICT_OFFICER, LUSONG)
    compound = places.compound(session, "芦淞花园")
    manual = clock.ManualClock(DESIGNATED)
    with clock.use_clock(manual):
        token = csrf = login(client, "officer")

        def post(url: str, **data: object) -> str:
            response = client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)
            assert response.status_code == 303, response.text
            return str(response.headers["location"])

        page_url = post(
            "/risk-areas",
            target_kind="compound",
            target_id=compound.id,
            level="high",
            reason="病例居住",
            controls="足不出户, 上门服务",
        )
        proposed = client.get("/risk-areas/public")
        post(f"{page_url}/confirm")
        manual.set(DESIGNATED + timedelta(days=5))
        token = csrf = login(client, "officer")  # the login of five days ago has expired
        for offset in range(1, 6):
            day = (DESIGNATED + timedelta(days=offset)).date().isoformat()
            post(f"{page_url}/days", day=day, rounds=1, negative_rounds=1, open_cases=offset // 5)
        page = client.get(page_url)
        listing = client.get("/risk-areas")
        before = snapshot(session)
        refused = client.post(
            f"{page_url}/lift", data={"csrf_token": csrf, "reason": "评估"}, follow_redirects=False
        )
        after = snapshot(session)
        client.post("/logout", data={"csrf_token": csrf})
        public = client.get("/risk-areas/public")

    designation = session.scalars(select(RiskDesignation)).one()
    assert page_url == f"/risk-areas/{designation.id}"
    assert "芦淞花园" not in proposed.text
    assert (
        '<p class="notice" id="decision" data-rule="area.high_to_medium">今日判定: 2 more days '
        "without a new infection, an all-negative round on day 7 and no open case (now 1) lift "
        "this area to medium (area.high_to_medium)</p>"
    ) in page.text
    assert "足不出户、上门服务" in page.text
    assert page.text.count("areas.day.recorded") == 5
    assert f'data-designation="{designation.id}"' in listing.text
    assert (refused.status_code, 'data-code="areas.case_open"' in refused.text) == (409, True)
    assert after == before
    assert public.status_code == 200
    assert '<li data-level="high"><span class="badge">高风险</span> 芦淞花园</li>' in public.text


def test_it_keeps_the_designation_pages_behind_a_login(client: TestClient) -> None:
    response = client.get("/risk-areas", follow_redirects=False)

    assert (response.status_code, response.headers["location"].startswith("/login")) == (303, True)
