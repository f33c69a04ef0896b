"""The grid worker's pages on a 360-pixel phone, in real Chromium: nothing overflows sideways
and the worker can go from "my grid" to a building, a household and a person by tapping."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from sqlalchemy.orm import sessionmaker

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Role
from fangkong.db import migrate
from fangkong.db.session import create_db_engine, session_scope
from fangkong.registry import persons
from fangkong.registry import service as registry_service
from fangkong.registry.schemas import PersonCreate
from tests.browser.serving import serve
from tests.personas import PASSWORD, Personas
from tests.registry.helpers import GRID, make_place, resident_id

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


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

    with serve(url, factory) as address:
        yield address
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
