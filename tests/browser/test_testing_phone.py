"""The 应检未检 list of a building on a 360-pixel phone, in real Chromium: a grid worker opens
the round, drills down to the building and reads who still has to be sampled."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from playwright.sync_api import Browser
from sqlalchemy.orm import Session, sessionmaker

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Role
from fangkong.app import create_app
from fangkong.config import Settings
from fangkong.db import migrate
from fangkong.db.session import create_db_engine, session_scope
from fangkong.registry import service as registry_service
from fangkong.web.deps import get_session
from tests.personas import JIANNING, PASSWORD
from tests.testing import small_city
from tests.testing.small_city import T0

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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

    def request_session() -> Iterator[Session]:
        session = factory()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    app = create_app(Settings(database_url=url))
    app.dependency_overrides[get_session] = request_session
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", *ids
    server.should_exit = True
    thread.join(timeout=5)
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
