"""The enterprise pages through the TestClient: apply, review, passes, checkpoint, reports,
statistics and problem tickets, each as the role that uses it."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.config import Settings
from fangkong.core import clock
from fangkong.enterprise import passes, tickets
from fangkong.enterprise.enums import TicketCategory
from fangkong.enterprise.models import Enterprise, EnterprisePass, ProblemTicket
from fangkong.enterprise.schemas import TicketCreate
from fangkong.registry.models import Person
from tests.city import City
from tests.enterprise.flow import CREDIT_CODE, approved
from tests.personas import JIANNING, LUSONG, ZHUZHOU, Personas, login
from tests.situation import give_health_code

UNKNOWN_ID_NUMBER = "43020319900101123X"


def as_user(client: TestClient, username: str) -> str:
    client.cookies.clear()
    return login(client, username)


def form(client: TestClient, url: str, csrf: str, **fields: object) -> str:
    response = client.post(url, data={"csrf_token": csrf, **fields}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def test_it_takes_an_enterprise_from_its_application_to_passes_checked_at_the_checkpoint(
    client: TestClient, session: Session, personas: Personas, settings: Settings
) -> None:
    personas.user("rail-company", Role.ENTERPRISE, LUSONG)
    personas.user("lusong-industry", Role.INDUSTRY_BUREAU, LUSONG)
    liaison = personas.user("liaison-wang", Role.INDUSTRY_BUREAU, LUSONG)
    personas.user("gate-3", Role.CHECKPOINT, ZHUZHOU)
    city = City(session)
    household = city.household()
    staff = [city.person(household, name=name) for name in ("赵工", "钱工")]
    for person in staff:
        give_health_code(session, person.id, "green")
    staff_file = "\n".join(["身份证号", *(city.id_numbers[p.id] for p in staff), UNKNOWN_ID_NUMBER])
    plan = {
        "is_closed_loop": "true",
        "dormitory_beds": "40",
        "prevention_officer": "李专员",
        "prevention_officer_phone": "13900000000",
        "emergency_plan": "阳性即封闭车间",
    }

    csrf = as_user(client, "rail-company")
    detail_url = form(
        client,
        "/enterprise",
        csrf,
        credit_code=CREDIT_CODE,
        name="株洲轨道装备有限公司",
        industry="rail_equipment",
        is_above_scale="true",
        park="董家塅高科园",
        address="董家塅街道",
        area_code=JIANNING,
        contact_name="王经理",
        contact_phone="13800000000",
    )
    enterprise = session.scalars(select(Enterprise)).one()
    assert detail_url == f"/enterprise/{enterprise.id}"
    applied = client.post(
        f"{detail_url}/applications",
        data={"csrf_token": csrf, **plan},
        files={"staff_file": ("staff.csv", staff_file.encode(), "text/csv")},
    )
    assert applied.status_code == 200
    assert 'data-count="staff-accepted">2<' in applied.text
    assert applied.text.count('data-code="enterprise.staff_number_unknown"') == 1
    application_id = int(re.findall(r'data-application="(\d+)"', applied.text)[0])

    csrf = as_user(client, "lusong-industry")
    assert "株洲轨道装备有限公司" in client.get("/enterprise/reviews").text
    page_url = f"/enterprise/applications/{application_id}"
    form(client, f"{page_url}/decide", csrf, decision="changes", note="补充宿舍管理")
    csrf = as_user(client, "rail-company")
    resubmitted = client.post(
        f"{detail_url}/applications",
        data={"csrf_token": csrf, "application_id": application_id, **plan},
        files={"staff_file": ("staff.csv", staff_file.encode(), "text/csv")},
    )
    assert resubmitted.status_code == 200
    csrf = as_user(client, "lusong-industry")
    refused_without_reason = client.post(
        f"{page_url}/decide", data={"csrf_token": csrf, "decision": "refuse"}
    )
    form(client, f"{page_url}/decide", csrf, decision="approve")
    form(client, f"{page_url}/liaison", csrf, liaison_user_id=liaison.id)
    issued_url = form(
        client,
        f"{page_url}/passes",
        csrf,
        valid_from=clock.now().date().isoformat(),
        valid_until=(clock.now().date() + timedelta(days=7)).isoformat(),
        route="枫溪小区—董家塅厂区",
        sites="董家塅厂区, 宿舍",
    )
    application_page = client.get(page_url)
    sheet = client.get(f"{page_url}/passes.pdf")

    assert refused_without_reason.status_code == 400
    assert 'data-code="enterprise.reason_required"' in refused_without_reason.text
    assert issued_url == f"{page_url}?issued=2"
    assert 'data-status="approved"' in application_page.text
    assert 'data-field="liaison">liaison-wang<' in application_page.text
    assert application_page.text.count('data-pass="') == 2
    assert (sheet.status_code, sheet.content[:5]) == (200, b"%PDF-")

    keys = passes.keys_from_spec(settings.code_signing_key)
    card = session.scalars(
        select(EnterprisePass).where(EnterprisePass.person_id == staff[0].id)
    ).one()
    token = passes.sign(keys=keys, serial=card.serial, kind=card.kind)
    as_user(client, "gate-3")
    checkpoint = client.get("/enterprise/checkpoint")
    assert re.search(r"<input name=\"token\" data-scanner autofocus", checkpoint.text)

    def scan(csrf: str) -> str:
        answer = client.post(
            "/enterprise/checkpoint",
            data={"csrf_token": csrf, "token": token, "site": "董家塅厂区"},
            headers={"HX-Request": "true"},
        )
        assert answer.status_code == 200 and "<html" not in answer.text
        return answer.text

    csrf = as_user(client, "gate-3")
    green = scan(csrf)
    give_health_code(session, staff[0].id, "red")
    red = scan(csrf)
    give_health_code(session, staff[0].id, "green")
    csrf = as_user(client, "lusong-industry")
    form(client, f"/enterprise/passes/{card.id}/revoke", csrf, reason="离职")
    csrf = as_user(client, "gate-3")
    revoked = scan(csrf)

    assert 'data-admitted="yes"' in green and "赵工" in green and staff[0].id_number_masked in green
    assert re.search(r'data-field="health_colour">绿码', green)
    assert 'data-code="enterprise.health_code_not_green"' in red
    assert 'data-code="enterprise.pass_revoked"' in revoked
    assert city.id_numbers[staff[0].id] not in green


def test_it_shows_daily_reports_in_the_statistics_and_routes_tickets_to_departments(
    client: TestClient, session: Session, personas: Personas
) -> None:
    flow, _ = approved(session, personas, staff_count=4)
    session.commit()
    long_ago = clock.now() - timedelta(days=3)
    with clock.use_clock(clock.ManualClock(long_ago)):
        stuck = tickets.open_ticket(
            session=session,
            actor=flow.company,
            ticket_in=TicketCreate(
                enterprise_id=flow.enterprise.id,
                category=TicketCategory.LOGISTICS,
                description="原材料运不进来",
            ),
        )
    today = clock.now().date()

    csrf = as_user(client, "rail-company")
    form(
        client,
        f"/enterprise/{flow.enterprise.id}/daily-report",
        csrf,
        report_date=today.isoformat(),
        staff_on_site=3,
    )
    form(
        client,
        f"/enterprise/{flow.enterprise.id}/tickets",
        csrf,
        category="staff",
        description="两名员工被封在小区",
    )
    too_many = client.post(
        f"/enterprise/{flow.enterprise.id}/daily-report",
        data={"csrf_token": csrf, "report_date": today.isoformat(), "staff_on_site": 9},
    )

    csrf = as_user(client, "lusong-industry")
    statistics = client.get(f"/enterprise/statistics?on={today.isoformat()}")
    escalated = form(client, "/enterprise/tickets/escalate", csrf)
    queue = client.get("/enterprise/tickets?department=transport")
    dashboard = client.get("/enterprise/tickets")
    form(
        client,
        f"/enterprise/tickets/{stuck.id}/close",
        csrf,
        resolution="交通局开具货车通行证",
        department="transport",
    )

    assert too_many.status_code == 400
    assert 'data-code="enterprise.staff_on_site_invalid"' in too_many.text
    park_table = statistics.text.split('data-grouping="park"')[1].split("</section>")[0]
    assert re.search(
        r'data-group="董家塅高科园">.*?data-rate="resumption">100.0%', park_table, re.S
    )
    assert re.search(r'data-rate="on-duty">75.0%', park_table)
    assert escalated == "/enterprise/tickets?escalated=1"
    assert f'data-ticket="{stuck.id}"' in queue.text and 'data-escalation="3"' in queue.text
    assert "两名员工被封在小区" not in queue.text  # the staff ticket went to human resources
    assert re.search(r'data-department="transport">.*?data-age="&gt;72h">1<', dashboard.text, re.S)
    assert re.search(
        r'data-department="human_resources">.*?data-age="&lt;24h">1<', dashboard.text, re.S
    )
    closed = session.get(ProblemTicket, stuck.id)
    assert closed is not None
    session.refresh(closed)
    assert (closed.status, closed.resolution) == ("closed", "交通局开具货车通行证")


def test_it_keeps_each_page_to_the_roles_that_use_it(
    client: TestClient, session: Session, personas: Personas
) -> None:
    personas.user("rail-company", Role.ENTERPRISE, LUSONG)
    personas.grid_worker()
    as_user(client, "rail-company")
    company = {url: client.get(url).status_code for url in ("/enterprise", "/enterprise/reviews")}
    as_user(client, "jianning-grid")
    grid = {
        url: client.get(url).status_code
        for url in ("/enterprise", "/enterprise/checkpoint", "/enterprise/statistics")
    }
    assert company == {"/enterprise": 200, "/enterprise/reviews": 403}
    assert grid == {
        "/enterprise": 403,
        "/enterprise/checkpoint": 403,
        "/enterprise/statistics": 403,
    }
    assert session.scalars(select(Person)).first() is None


def test_it_issues_a_freight_pass_from_the_application_page_and_refuses_a_bad_plate(
    client: TestClient, session: Session, personas: Personas
) -> None:
    _, application = approved(session, personas)
    session.commit()
    csrf = as_user(client, "lusong-industry")
    fields = {
        "driver_name": "赵师傅",
        "route": "G60—董家塅",
        "loading_points": "董家塅厂区，株洲北站货场",
        "valid_from": clock.now().date().isoformat(),
        "valid_until": (clock.now().date() + timedelta(days=2)).isoformat(),
    }
    url = f"/enterprise/applications/{application.id}/freight"

    bad = client.post(url, data={"csrf_token": csrf, "plate": "B12345", **fields})
    issued = form(client, url, csrf, plate="湘B·12345", **fields)
    page = client.get(f"/enterprise/applications/{application.id}")

    assert (bad.status_code, 'data-code="enterprise.pass_plate_invalid"' in bad.text) == (400, True)
    assert issued == f"/enterprise/applications/{application.id}?issued=1#passes"
    record = session.scalars(select(EnterprisePass)).one()
    assert (record.kind, record.plate, record.sites) == (
        "freight",
        "湘B12345",
        ["董家塅厂区", "株洲北站货场"],
    )
    assert f'data-pass="{record.id}"' in page.text and "湘B12345" in page.text
