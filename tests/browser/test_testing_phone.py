"""The 应检未检 list of a building on a 360-pixel phone, in real Chromium: a grid worker opens
the round, drills down to the building and reads who still has to be sampled."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from sqlalchemy.orm import sessionmaker

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Role
from fangkong.db import migrate
from fangkong.db.session import create_db_engine, session_scope
from fangkong.registry import service as registry_service
from tests.browser.serving import serve
from tests.personas import JIANNING, PASSWORD
from tests.testing import small_city
from tests.testing.small_city import T0

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, int]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('testing-phone') / 'fangkong.db'}"
    migrate.upgrade(url)
    engine = create_db_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with session_scope(factory) as session:
        registry_service.load_divisions(session=session)
        city = small_city.build(session, phones=True)
        small_city.tube(session, "ZZ7001", city.ids("A2")[:1], at=T0, campaign_id=city.campaign.id)
        accounts_service.create_user(
            session=session,
            actor=None,
            username="grid-testing",
            password=PASSWORD,
            role=Role.GRID_WORKER,
            display_name="网格员",
            area_code=JIANNING,
        )
        ids = (city.campaign.id, city.buildings["A2"].id)

    with serve(url, factory) as address:
        yield address, *ids
    engine.dispose()


def test_a_grid_worker_reads_the_not_tested_list_on_a_phone(
    server: tuple[str, int, int], browser: Browser
) -> None:
    base, campaign_id, building_id = server
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    widths = []
    try:
        page = context.new_page()
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "grid-testing")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/testing")
        widths.append(page.evaluate("document.documentElement.scrollWidth"))
        page.click(f"tr[data-campaign='{campaign_id}'] a")
        widths.append(page.evaluate("document.documentElement.scrollWidth"))
        assert page.locator("[data-count=required]").inner_text() == "12"
        page.click(f"tr[data-row='{building_id}'] a")
        widths.append(page.evaluate("document.documentElement.scrollWidth"))
        assert page.locator("[data-count=missing]").inner_text() == "3"
        assert page.locator("#not-tested li").count() == 3
        assert page.locator("a[href^='tel:']").count() == 0  # masked for a grid worker
    finally:
        context.close()
    assert all(width <= PHONE["width"] for width in widths), widths
