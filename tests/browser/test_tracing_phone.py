"""An epidemiologist on a 360-pixel phone, in real Chromium: from the case list to a case,
confirming its trajectory, and reading the contacts with their evidence, without anything
overflowing sideways."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from sqlalchemy.orm import sessionmaker

from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.db import migrate
from fangkong.db.session import create_db_engine, session_scope
from fangkong.registry import service as registry_service
from tests.browser.serving import serve
from tests.personas import LUSONG, PASSWORD, Personas
from tests.tracing.world import build, open_case

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('tracing') / 'fangkong.db'}"
    migrate.upgrade(url)
    engine = create_db_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with session_scope(factory) as session:
        registry_service.load_divisions(session=session)
        world = build(session)
        user = Personas(session).user("epi-phone", Role.EPIDEMIOLOGIST, LUSONG)
        open_case(session, actor_for(user), world.case_person)

    with serve(url, factory) as address:
        yield address
    engine.dispose()


def test_an_epidemiologist_confirms_a_trajectory_on_a_phone(server: str, browser: Browser) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    widths = []
    try:
        page = context.new_page()
        page.goto(f"{server}/login")
        page.fill("input[name=username]", "epi-phone")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{server}/cases")
        widths.append(page.evaluate("document.documentElement.scrollWidth"))
        page.click("tr[data-case] a:has-text('张病例')")
        assert page.locator("tr[data-entry]").count() == 3  # home, workplace, market scan
        assert page.locator("li[data-contact]").count() == 0
        widths.append(page.evaluate("document.documentElement.scrollWidth"))
        page.click("button:has-text('确认轨迹并判定接触者')")
        page.wait_for_selector("li[data-contact]")
        contacts = page.locator("li[data-contact]")
        assert contacts.count() == 5
        assert "同场所同时段" in page.locator("#contacts").inner_text()
        widths.append(page.evaluate("document.documentElement.scrollWidth"))
        page.goto(f"{server}/contacts")
        assert page.locator("tr[data-contact]").count() == 4  # the colleague lives elsewhere
        widths.append(page.evaluate("document.documentElement.scrollWidth"))
    finally:
        context.close()
    assert all(width <= PHONE["width"] for width in widths), widths
