"""Command-centre pages through the real forms: generate a bulletin, read it in the archive,
download it as text and PDF, the dashboard and the home page, the four lists with their
exports; and who may see them."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Role
from fangkong.core import clock
from tests.authz import snapshot
from tests.command.outbreak import DAY1, DAY2, DAY3, NOW, build
from tests.personas import HETANG, ZHUZHOU, Personas, login


def test_a_bulletin_is_generated_archived_and_downloaded(
    client: TestClient, session: Session, personas: Personas
) -> None:
    build(session)
    personas.user("commander", Role.COMMAND_CENTRE, ZHUZHOU)
    with clock.use_clock(clock.ManualClock(NOW)):
        csrf = login(client, "commander")
        for day in (DAY1, DAY2, DAY3):
            generated = client.post(
                "/command/bulletins",
                data={"csrf_token": csrf, "day": day.isoformat()},
                follow_redirects=False,
            )
            assert generated.status_code == 303
        page_url = generated.headers["location"]
        page = client.get(page_url)
        archive = client.get("/command/bulletins")
        text = client.get(f"{page_url}/text")
        pdf = client.get(f"{page_url}/pdf")
        dashboard = client.get("/command", params={"until": DAY3.isoformat(), "days": 3})
        home = client.get("/")
    assert page.status_code == 200
    assert "株洲市2022年11月12日新冠肺炎疫情情况" in page.text
    assert "新增本土无症状感染者1例（芦淞区1例）" in page.text
    assert archive.text.count('href="/command/bulletins/') == 3 * 3 - 0  # page, PDF, text each
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text.startswith("株洲市2022年11月12日新冠肺炎疫情情况\n")
    assert "Zhuzhou" not in text.text and "COVID-19 situation on 12 November 2022" in text.text
    assert pdf.content.startswith(b"%PDF") and b"STSong-Light" in pdf.content
    assert dashboard.status_code == 200
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in dashboard.text
    assert 'data-figure="under_treatment">2<' in dashboard.text
    assert dashboard.text.count("<rect ") == 4  # day 1: two bars; day 2: one; day 3: one
    assert "芦淞区" in dashboard.text and "荷塘区" in dashboard.text
    assert 'id="command-today"' in home.text and 'data-figure="new_asymptomatic">1<' in home.text
    assert 'href="/command/lists"' in home.text


def test_the_four_lists_drill_down_and_export(
    client: TestClient, session: Session, personas: Personas
) -> None:
    build(session)
    personas.user("commander", Role.COMMAND_CENTRE, ZHUZHOU)
    with clock.use_clock(clock.ManualClock(NOW)):
        login(client, "commander")
        boards = client.get("/command/lists")
        treat = client.get("/command/lists/treat")
        xlsx = client.get("/command/lists/test/export", params={"format": "xlsx"})
        as_csv = client.get("/command/lists/test/export", params={"format": "csv"})
    assert boards.status_code == 200
    for title in ("应检尽检", "应隔尽隔", "应收尽收", "应治尽治"):
        assert title in boards.text
    assert treat.text.count("data-person=") == 2 and "张**" in treat.text
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("序号 no", "姓名 name", "证件号 id_number")
    assert len(values) == 1 + 6
    assert {row[1] for row in values[1:]} == {"张**"}
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert len(rows) == 1 + 6 and rows[1][0] == "1"


def test_who_may_see_the_command_pages(
    client: TestClient, session: Session, personas: Personas
) -> None:
    build(session)
    personas.user("sampler", Role.SAMPLER, ZHUZHOU)
    personas.user("hetang-commander", Role.COMMAND_CENTRE, HETANG)
    with clock.use_clock(clock.ManualClock(NOW)):
        anonymous = client.get("/command", follow_redirects=False)
        csrf = login(client, "sampler")
        before = snapshot(session)
        refused = [
            client.get(url).status_code
            for url in ("/command", "/command/bulletins", "/command/lists", "/command/lists/admit")
        ]
        refused_post = client.post(
            "/command/bulletins",
            data={"csrf_token": csrf, "day": DAY1.isoformat()},
            follow_redirects=False,
        )
        refused_export = client.get("/command/lists/admit/export")
        assert snapshot(session) == before
        login(client, "hetang-commander")
        outside = client.get("/command", params={"path": "/43/4302/430203/"})
        own = client.get("/command/lists/admit")
        outside_list = client.get("/command/lists/admit", params={"path": "/43/4302/430203/"})
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert refused == [403, 403, 403, 403]
    assert refused_post.status_code == 403 and refused_export.status_code == 403
    assert outside.status_code == 403
    assert own.status_code == 200 and "data-person=" not in own.text
    assert outside_list.status_code == 403
