"""The daily home check-in on a 360-pixel phone, in real Chromium: the resident checks in with
a fever and a symptom, nothing overflows sideways, and the grid worker's list shows the flag."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser
from sqlalchemy.orm import sessionmaker

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.core import clock
from fangkong.db import migrate
from fangkong.db.session import create_db_engine, session_scope
from fangkong.isolation import service as isolation_service
from fangkong.isolation.enums import Category
from fangkong.registry import persons
from fangkong.registry import service as registry_service
from fangkong.registry.schemas import PersonCreate
from tests.browser.serving import serve
from tests.personas import LUSONG, PASSWORD, Personas
from tests.registry.helpers import make_place, resident_id

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('checkin') / 'fangkong.db'}"
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
            username="resident-phone",
            password=PASSWORD,
            role=Role.RESIDENT,
            display_name="王小明",
            person_id=person.id,
            household_id=place.household.id,
        )
        manager = actor_for(personas.user("iso-phone", Role.ISOLATION_MANAGER, LUSONG))
        now = clock.now()
        isolation_service.create_order(  # cn-10: 5 days of home isolation
            session=session,
            actor=manager,
            person_id=person.id,
            category=Category.CLOSE_CONTACT,
            last_exposure_at=now - timedelta(hours=1),
            section=isolation_service.section_for(pack_id="cn-10", version=None, now=now),
        )

    with serve(url, factory) as address:
        yield address
    engine.dispose()


def test_it_takes_a_home_check_in_on_a_360_pixel_phone(server: str, browser: Browser) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    widths = []
    try:
        page = context.new_page()
        page.goto(f"{server}/login")
        page.fill("input[name=username]", "resident-phone")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.click("nav.menu a[href='/isolation/checkin']")
        widths.append(page.evaluate("document.documentElement.scrollWidth"))
        page.fill("input[name=temperature]", "37.8")
        page.check("input[name=symptoms][value=cough]")
        page.click("button:has-text('打卡')")
        saved = page.locator("p.notice").all_inner_texts()
        widths.append(page.evaluate("document.documentElement.scrollWidth"))
        page.click("button:has-text('退出')")
        page.goto(f"{server}/login")
        page.fill("input[name=username]", "jianning-grid")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{server}/isolation/checkins")
        missed = page.locator("[data-count=missed]").inner_text()
        flagged = page.locator("#flagged li").all_inner_texts()
        widths.append(page.evaluate("document.documentElement.scrollWidth"))
    finally:
        context.close()

    assert saved[0] == "打卡已保存，谢谢。" and saved[1].startswith("今日已打卡。")
    assert missed == "0"
    assert flagged == ["王小明 · 37.8 °C 咳嗽"]
    assert all(width <= PHONE["width"] for width in widths), widths
