"""The command centre's flow in real Chromium, on a 360-pixel phone and on a desktop screen:
today's bulletin, the curves, the map, the four lists, from a list to a person, and a list and
the work ledger exported to Excel (the downloaded workbooks read back). The data is the small
outbreak of tests/command/outbreak.py, served in a thread (one server for the module)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import sessionmaker

from fangkong.accounts.enums import Role
from fangkong.db import migrate
from fangkong.db.session import create_db_engine, session_scope
from fangkong.registry import service as registry_service
from tests.browser.serving import serve
from tests.command.outbreak import DAY1, DAY3, build
from tests.personas import PASSWORD, ZHUZHOU, Personas

pytestmark = pytest.mark.browser
SCREENS = {"360": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 800}}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('command') / 'fangkong.db'}"
    migrate.upgrade(url)
    engine = create_db_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with session_scope(factory) as session:
        registry_service.load_divisions(session=session)
        build(session)
        Personas(session).user("commander", Role.COMMAND_CENTRE, ZHUZHOU)
    with serve(url, factory) as address:
        yield address
    engine.dispose()


def _fits(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def _workbook_rows(page: Page, link: str) -> list[tuple[object, ...]]:
    with page.expect_download() as download:
        page.click(link)
    path = download.value.path()
    sheet = load_workbook(io.BytesIO(Path(path).read_bytes())).active
    assert sheet is not None
    return list(sheet.iter_rows(values_only=True))


@pytest.mark.parametrize("screen", list(SCREENS))
def test_the_command_centre_from_bulletin_to_a_person_and_an_excel_export(
    server: str, browser: Browser, artifacts_dir: Path, screen: str
) -> None:
    size = SCREENS[screen]
    context = browser.new_context(viewport=size, accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(f"{server}/login")
        page.fill("input[name=username]", "commander")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("#today-work li[data-item=ledger]")).to_be_visible()
        # the bulletin of the outbreak's last day, generated from the archive page
        page.goto(f"{server}/command/bulletins")
        page.fill("#generate input[name=day]", DAY3.isoformat())
        page.click("#generate button[type=submit]")
        expect(page.locator("#bulletin-zh")).to_contain_text("新冠肺炎疫情情况")
        expect(page.locator("#bulletin-en")).to_contain_text("and 1 death(s) were reported")
        _fits(page, size["width"])
        page.screenshot(path=str(artifacts_dir / f"command-flow-bulletin-{screen}.png"))
        # the dashboard of the three days: both curves, the districts, the live panels
        page.goto(f"{server}/command?until={DAY3.isoformat()}&days=3")
        expect(page.locator("#today dd[data-figure=new_asymptomatic]")).to_have_text("1")
        expect(page.locator("#report-curve svg")).to_be_visible()
        expect(page.locator("#onset-curve svg")).to_be_visible()
        expect(page.locator("#panels")).to_be_visible()
        _fits(page, size["width"])
        page.screenshot(
            path=str(artifacts_dir / f"command-flow-dashboard-{screen}.png"), full_page=True
        )
        # the map: 荷塘区 has a risk area in force, outlined
        page.goto(f"{server}/command/map")
        expect(page.locator("svg.area-map")).to_be_visible()
        expect(page.locator("#map-areas")).to_contain_text("荷塘区")
        _fits(page, size["width"])
        # the four lists, then the people under treatment, then one of them
        page.goto(f"{server}/command/lists")
        for kind in ("test", "isolate", "admit", "treat"):
            expect(page.locator(f"#board-{kind}")).to_be_visible()
        _fits(page, size["width"])
        page.click("#board-treat h2 a")
        expect(page.locator("#people tbody tr[data-person]")).to_have_count(2)
        _fits(page, size["width"])
        rows = _workbook_rows(page, "a.chip:has-text('Excel')")
        assert rows[0][:2] == ("序号 no", "姓名 name")
        assert [row[1] for row in rows[1:]] == ["张**", "张**"]
        assert {row[4] for row in rows[1:]} == {"in_hospital", "in_shelter_hospital"}
        page.click("#people tbody tr[data-person] a >> nth=0")
        expect(page.locator("h1")).to_contain_text("张c")
        _fits(page, size["width"])
        # the day's work ledger of the districts, exported
        page.goto(f"{server}/command/ledger?day={DAY1.isoformat()}")
        expect(page.locator("#ledger tr[data-area='/43/4302/430203/']")).to_be_visible()
        _fits(page, size["width"])
        page.screenshot(
            path=str(artifacts_dir / f"command-flow-ledger-{screen}.png"), full_page=True
        )
        ledger = _workbook_rows(page, "#ledger-xlsx")
        by_code = {row[1]: row[2:] for row in ledger[1:]}
        assert by_code["430203"] == (4, 2, 0, 1, 0, 1, 0, 0, 0)
        assert ledger[-1][0] == "合计 total" and ledger[-1][2:] == (6, 4, 0, 1, 0, 3, 0, 0, 0)
    finally:
        context.close()
