"""A volunteer on a 360-pixel phone, in real Chromium: registers, claims the delivery task of a
locked-down building from the board (抢单) and completes it with a note; the hours appear and
nothing overflows sideways."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.db import migrate
from fangkong.db.session import create_db_engine, session_scope
from fangkong.logistics import service as logistics_service
from fangkong.logistics.enums import SupplyKind
from fangkong.logistics.models import DeliveryTask
from fangkong.logistics.schemas import SupplyRequestCreate
from fangkong.registry import service as registry_service
from fangkong.registry.enums import PersonTag
from tests.browser.serving import serve
from tests.city import City
from tests.personas import JIANNING, PASSWORD, Personas
from tests.situation import give_health_code, lock_down

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('board') / 'fangkong.db'}"
    migrate.upgrade(url)
    engine = create_db_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with session_scope(factory) as session:
        registry_service.load_divisions(session=session)
        personas = Personas(session)
        city = City(session)
        grid = city.grid()
        building = city.building(grid, "7栋")
        lock_down(session, building=building)
        household = city.household(building, "302")
        city.person(household, tags=PersonTag.ELDERLY_ALONE, name="独居的王奶奶")
        helper = city.person(name="小周")
        give_health_code(session, helper.id, "green")
        accounts_service.create_user(
            session=session,
            actor=None,
            username="vol-phone",
            password=PASSWORD,
            role=Role.VOLUNTEER,
            display_name="小周",
            area_code=JIANNING,
            person_id=helper.id,
        )
        worker = actor_for(personas.grid_worker())
        logistics_service.request_supplies(
            session=session,
            actor=worker,
            request_in=SupplyRequestCreate(
                household_id=household.id, kind=SupplyKind.FOOD, detail="米、面、青菜"
            ),
        )
        logistics_service.create_tasks(session=session, actor=worker, area_code=grid.code)

    with serve(url, factory) as address:
        yield address
    with session_scope(factory) as session:
        task = session.scalars(select(DeliveryTask)).one()
        assert (task.status, task.completion_note, task.minutes_worked) == (
            "completed",
            "交给王奶奶本人",
            40,
        )
    engine.dispose()


def test_it_lets_a_volunteer_claim_and_complete_a_task_on_a_360_pixel_phone(
    server: str, browser: Browser
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    widths = []
    try:
        page = context.new_page()
        page.goto(f"{server}/login")
        page.fill("input[name=username]", "vol-phone")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{server}/logistics/board")
        widths.append(page.evaluate("document.documentElement.scrollWidth"))
        page.fill("input[name=skills]", "驾驶, 搬运")
        page.click("form[action='/logistics/volunteers'] button[type=submit]")
        page.wait_for_selector("#open [data-task]")
        widths.append(page.evaluate("document.documentElement.scrollWidth"))
        assert "302" in page.locator("#open [data-task]").inner_text()

        page.click("#open [data-task] button")  # claimed through HTMX, no page load
        page.wait_for_selector("#mine [data-task]")
        assert page.locator("[data-count=mine]").inner_text() == "1"
        assert page.locator("[data-count=open]").inner_text() == "0"
        widths.append(page.evaluate("document.documentElement.scrollWidth"))

        page.fill("#mine input[name=note]", "交给王奶奶本人")
        page.fill("#mine input[name=minutes_worked]", "40")
        page.click("#mine button[type=submit]")
        page.wait_for_selector("#mine [data-task]", state="detached")
        hours = page.locator("[data-count=hours]").inner_text()
        widths.append(page.evaluate("document.documentElement.scrollWidth"))
    finally:
        context.close()
    assert hours == "0.7"
    assert all(width <= PHONE["width"] for width in widths), widths
