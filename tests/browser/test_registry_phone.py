"""The grid worker's pages on a 360-pixel phone, in real Chromium: nothing overflows sideways
and the worker can go from "my grid" to a building, a household and a person by tapping."""

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
from fangkong.registry import persons
from fangkong.registry import service as registry_service
from fangkong.registry.schemas import PersonCreate
from fangkong.web.deps import get_session
from tests.personas import PASSWORD, Personas
from tests.registry.helpers import GRID, make_place, resident_id

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('phone') / 'fangkong.db'}"
    migrate.upgrade(url)
    engine = create_db_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with session_scope(factory) as session:
        registry_service.load_divisions(session=session)
        place = make_place(session, Personas(session))
        accounts_service.create_user(
            session=session,
            actor=None,
            username="grid-phone",
            password=PASSWORD,
            role=Role.GRID_WORKER,
            display_name="网格员",
            area_code=GRID,
        )
        for i, tags in enumerate([["独居老人"], ["孕产妇", "卧床"], []]):
            persons.register_person(
                session=session,
                actor=place.editor,
                person_in=PersonCreate(
                    name=f"居民{i}",
                    document_number=resident_id(born=f"1960010{i + 1}"),
                    phone=f"1380000000{i}",
                    household_id=place.household.id,
                    tags=tags,
                ),
            )

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
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)
    engine.dispose()


def test_it_serves_the_grid_workers_pages_on_a_360_pixel_phone(
    server: str, browser: Browser
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{server}/login")
        page.fill("input[name=username]", "grid-phone")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{server}/my-grid")
        assert page.locator("[data-count=residents]").inner_text() == "3"
        assert page.locator("[data-count=ELDERLY_ALONE]").inner_text() == "1"
        assert page.locator("[data-count=BEDRIDDEN]").inner_text() == "1"
        assert page.locator("ul.people li").count() == 2  # the two tagged residents
        visited = []
        for link in ("a.chip:has-text('3栋')", "a:has-text('302')", "a:has-text('居民1')"):
            width = page.evaluate("document.documentElement.scrollWidth")
            visited.append((page.url.removeprefix(server), width))
            page.click(link)
        visited.append(
            (page.url.removeprefix(server), page.evaluate("document.documentElement.scrollWidth"))
        )
        assert page.locator("[data-field=id_number]").inner_text().count("*") == 8
    finally:
        context.close()
    assert [path.split("/")[1] for path, _ in visited] == [
        "my-grid",
        "buildings",
        "households",
        "persons",
    ]
    assert all(width <= PHONE["width"] for _, width in visited), visited
