"""Mass-testing pages and the alert / coverage API: what each role sees and may do."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.core.clock import ManualClock, use_clock
from fangkong.core.errors import CoreErrorCode
from fangkong.testing.errors import TestingErrorCode
from fangkong.testing.models import Alert, TestCampaign, Tube
from tests.authz import Refusal, assert_authorization_matrix
from tests.personas import HETANG, JIANNING, LUSONG, Personas, login
from tests.testing import small_city
from tests.testing.hl7_samples import batch, oru
from tests.testing.small_city import T0
from tests.testing.test_effects import DETECTED, REPORTED
from tests.testing.test_monitoring import a_round


def test_an_organiser_opens_watches_and_closes_a_round(
    client: TestClient, session: Session, personas: Personas
) -> None:
    city = small_city.build(session)
    personas.user("lusong-officer", Role.DISTRICT_OFFICER, LUSONG)
    csrf = login(client, "lusong-officer")
    listing = client.get("/testing")
    assert listing.status_code == 200 and 'name="area_code"' in listing.text
    opened = client.post(
        "/testing/campaigns",
        data={
            "csrf_token": csrf,
            "name": "芦淞区第2轮",
            "area_code": LUSONG,
            "starts_at": "2022-11-11T08:00",
            "hours": "24",
            "max_pool_size": "10",
        },
        follow_redirects=False,
    )
    assert opened.status_code == 303
    campaign = session.scalars(select(TestCampaign).where(TestCampaign.name == "芦淞区第2轮")).one()
    assert campaign.starts_at == T0 + timedelta(days=1)
    assert opened.headers["location"] == f"/testing/campaigns/{campaign.id}"
    small_city.tube(session, "ZZ0501", city.ids("A1")[:2], at=T0, campaign_id=campaign.id)

    page = client.get(f"/testing/campaigns/{campaign.id}")
    assert page.status_code == 200
    assert '<dd data-count="required">16</dd>' in page.text
    assert '<dd data-count="sampled">2</dd>' in page.text
    street = client.get(f"/testing/campaigns/{campaign.id}?area={JIANNING}")
    assert f"/testing/campaigns/{campaign.id}/buildings/{city.buildings['A1'].id}" in street.text

    closed = client.post(
        f"/testing/campaigns/{campaign.id}/close",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert closed.status_code == 303
    session.refresh(campaign)
    assert campaign.status == "closed"
    assert 'id="close-round"' not in client.get(f"/testing/campaigns/{campaign.id}").text


def test_a_grid_worker_gets_the_not_tested_list_of_a_building(
    client: TestClient, session: Session, personas: Personas
) -> None:
    city = a_round(session)
    personas.grid_worker()
    login(client, "jianning-grid")
    page = client.get(f"/testing/campaigns/{city.campaign.id}/buildings/{city.buildings['A2'].id}")
    assert page.status_code == 200
    assert '<strong data-count="missing">3</strong> / 4' in page.text
    assert "138****1001" in page.text and "tel:" not in page.text
    # A grid worker may not open a round.
    assert 'name="area_code"' not in client.get("/testing").text


def test_a_lab_uploads_a_file_and_reads_its_report(
    client: TestClient, session: Session, personas: Personas
) -> None:
    city = a_round(session)
    small_city.tube(session, "ZZ0601", city.ids("B1")[:2], at=T0, campaign_id=city.campaign.id)
    personas.user("lab-1", Role.LABORATORY, LUSONG)
    csrf = login(client, "lab-1")
    assert client.get("/testing/results").status_code == 200
    content = batch(
        [
            oru(control_id="L1", tube="ZZ0601", result=DETECTED, reported=REPORTED),
            oru(control_id="L2", tube="ZZ9999"),
            oru(control_id="L3", tube="ZZ0602", loinc="12345-6"),
        ]
    ).encode()
    with use_clock(ManualClock(T0 + timedelta(hours=7))):
        report = client.post(
            "/testing/results",
            data={"csrf_token": csrf, "format": "hl7v2"},
            files={"file": ("lab.hl7", content, "text/plain")},
        )
    assert report.status_code == 200
    for name, value in [("accepted", 2), ("stored", 2), ("unmatched", 1), ("rejected", 1)]:
        assert f'<dd data-count="{name}">{value}</dd>' in report.text
    assert f'data-code="{TestingErrorCode.TEST_CODE_NOT_ACCEPTED}"' in report.text
    assert '<dd data-effect="pending_review">1</dd>' in report.text
    assert '<dd data-effect="negative">0</dd>' in report.text
    again = client.post(
        "/testing/results",
        data={"csrf_token": csrf, "format": "hl7v2"},
        files={"file": ("lab.hl7", content, "text/plain")},
    )
    assert 'id="already-uploaded"' in again.text
    tube = session.scalars(select(Tube).where(Tube.barcode == "ZZ0601")).one()
    assert session.scalars(select(Alert.kind).where(Alert.tube_id == tube.id)).one() == (
        "positive_pool"
    )


def test_alerts_and_orders_pages_for_the_community(
    client: TestClient, session: Session, personas: Personas
) -> None:
    a_round(session)
    personas.grid_worker()
    csrf = login(client, "jianning-grid")
    page = client.get("/testing/alerts")
    alert_id = session.scalars(select(Alert.id)).one()
    assert f'data-alert="{alert_id}" data-status="open"' in page.text
    done = client.post(
        f"/testing/alerts/{alert_id}/acknowledge",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert (
        f'data-alert="{alert_id}" data-status="acknowledged"' in client.get("/testing/alerts").text
    )
    orders = client.get("/testing/resample-orders")
    assert orders.text.count("data-order=") == 4


def test_the_alert_api_refuses_those_who_may_not(
    client: TestClient, session: Session, personas: Personas
) -> None:
    a_round(session)
    alert_id = session.scalars(select(Alert.id)).one()
    assert_authorization_matrix(
        client=client,
        session=session,
        method="POST",
        url=f"/api/v1/testing/alerts/{alert_id}/acknowledge",
        refusals=[
            Refusal("anonymous", {}, 401, CoreErrorCode.AUTH_REQUIRED),
            Refusal(
                "sampler",
                personas.bearer(personas.user("s-1", Role.SAMPLER, JIANNING)),
                403,
                CoreErrorCode.PERMISSION_DENIED,
            ),
            Refusal(
                "officer of another district",
                personas.bearer(personas.user("hetang-officer", Role.DISTRICT_OFFICER, HETANG)),
                404,
                TestingErrorCode.ALERT_NOT_FOUND,
            ),
        ],
        allowed_headers=personas.bearer(personas.grid_worker()),
        allowed_status=200,
    )


def test_the_coverage_api_is_scoped(
    client: TestClient, session: Session, personas: Personas
) -> None:
    city = a_round(session)
    url = f"/api/v1/testing/campaigns/{city.campaign.id}/coverage?area={JIANNING}"
    mine = client.get(url, headers=personas.bearer(personas.grid_worker()))
    assert mine.status_code == 200
    body = mine.json()
    assert (body["total"]["required"], body["total"]["sampled"]) == (12, 9)
    assert [(r["label"], r["sampled"], r["required"]) for r in body["rows"]] == [
        ("荷花小区 1栋", 8, 8),
        ("荷花小区 2栋", 1, 4),
    ]
    stranger = personas.bearer(personas.user("hetang-officer", Role.DISTRICT_OFFICER, HETANG))
    refused = client.get(url, headers=stranger)
    assert (refused.status_code, refused.json()["code"]) == (
        404,
        TestingErrorCode.CAMPAIGN_NOT_FOUND,
    )


def test_the_schedule_page_prints_slots_for_a_street(
    client: TestClient, session: Session, personas: Personas
) -> None:
    city = small_city.build(session)
    personas.grid_worker()
    login(client, "jianning-grid")
    page = client.get(
        f"/testing/campaigns/{city.campaign.id}/schedule",
        params={"area": JIANNING, "opens": "08:00", "closes": "09:00", "slot": "20"},
    )
    assert page.status_code == 200
    assert page.text.count("data-slot=") == 3
    assert "08:00–08:20" in page.text
    bad = client.get(
        f"/testing/campaigns/{city.campaign.id}/schedule",
        params={"area": JIANNING, "opens": "09:00", "closes": "08:00"},
    )
    assert bad.status_code == 400
    assert TestingErrorCode.SCHEDULE_INVALID in bad.text


def test_the_pages_refuse_those_who_may_not(
    client: TestClient, session: Session, personas: Personas
) -> None:
    city = a_round(session)
    personas.user("s-2", Role.SAMPLER, JIANNING)
    login(client, "s-2")
    assert client.get("/testing").status_code == 403
    assert client.get("/testing/alerts").status_code == 403
    assert client.get("/testing/results").status_code == 403

    client.cookies.clear()
    personas.grid_worker()
    csrf = login(client, "jianning-grid")
    refused = client.post(
        "/testing/campaigns",
        data={
            "csrf_token": csrf,
            "name": "x",
            "area_code": JIANNING,
            "starts_at": "2022-11-11T08:00",
        },
    )
    assert refused.status_code == 403
    assert session.scalars(select(TestCampaign.id)).all() == [city.campaign.id]
    closing = client.post(f"/testing/campaigns/{city.campaign.id}/close", data={"csrf_token": csrf})
    assert closing.status_code == 403

    client.cookies.clear()
    personas.user("hetang-officer", Role.DISTRICT_OFFICER, HETANG)
    login(client, "hetang-officer")
    assert client.get(f"/testing/campaigns/{city.campaign.id}").status_code == 404
    building = city.buildings["A2"].id
    assert (
        client.get(f"/testing/campaigns/{city.campaign.id}/buildings/{building}").status_code == 404
    )
