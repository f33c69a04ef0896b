"""The self-check (自查) on a 360-pixel phone, in real Chromium: a resident opens it from the
menu, checks a place and a time, reads the answer, and nothing overflows sideways."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser
from sqlalchemy.orm import sessionmaker

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Role
from fangkong.db import migrate
from fangkong.db.session import create_db_engine, session_scope
from fangkong.registry import persons
from fangkong.registry import service as registry_service
from fangkong.registry.models import Venue
from fangkong.registry.schemas import PersonCreate
from tests.browser.serving import serve
from tests.personas import PASSWORD, Personas
from tests.registry.helpers import make_place, resident_id

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}
YESTERDAY = (datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)).isoformat()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('selfcheck') / 'fangkong.db'}"
    migrate.upgrade(url)
    engine = create_db_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with session_scope(factory) as session:
        registry_service.load_divisions(session=session)
        personas = Personas(session)
        place = make_place(session, personas)
        person = persons.register_person(
            session=session,
            actor=place.editor,
            person_in=PersonCreate(
                name="王小明",
                document_number=resident_id(born="19800101"),
                household_id=place.household.id,
            ),
        ).person
        accounts_service.create_user(
            session=session,
            actor=None,
            username="selfcheck-phone",
            password=PASSWORD,
            role=Role.RESIDENT,
            display_name="王小明",
            person_id=person.id,
            household_id=place.household.id,
        )
        session.add(Venue(name="芦淞服装城", kind="market", area_path=place.household.area_path))

    with serve(url, factory) as address:
        yield address
    engine.dispose()


def test_a_resident_checks_a_place_on_a_360_pixel_phone(server: str, browser: Browser) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    widths = []
    try:
        page = context.new_page()
        page.goto(f"{server}/login")
        page.fill("input[name=username]", "selfcheck-phone")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.click("nav.menu a[href='/self-check']")
        widths.append(page.evaluate("document.documentElement.scrollWidth"))
        page.select_option("select[name=venue_id]", label="芦淞服装城")
        page.fill("input[name=day]", YESTERDAY)
        page.fill("input[name=start]", "00:10")
        page.fill("input[name=end]", "00:40")
        page.click("form[action='/self-check'] button[type=submit]")
        answer = page.locator(".self-check-answer")
        overlap = answer.get_attribute("data-overlap")
        heading = answer.locator("h2").inner_text()
        widths.append(page.evaluate("document.documentElement.scrollWidth"))
    finally:
        context.close()

    assert (overlap, heading) == ("no", "未发现交集")
    assert all(width <= PHONE["width"] for width in widths), widths
