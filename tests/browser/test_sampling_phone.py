"""The sampler's page on a 360-pixel phone, in real Chromium, driven by the keyboard the way a
handheld (keyboard-wedge) scanner types: a tube, two people, n/N after each, then close."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import sessionmaker

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Role
from fangkong.accounts.service import actor_for
from fangkong.config import Settings
from fangkong.db import migrate
from fangkong.db.session import create_db_engine, session_scope
from fangkong.registry import service as registry_service
from fangkong.testing import sampling, service
from fangkong.testing.codes import issue_person_code
from tests.browser.serving import serve
from tests.city import City
from tests.personas import JIANNING, PASSWORD, Personas

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def sampling_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('sampling') / 'fangkong.db'}"
    migrate.upgrade(url)
    engine = create_db_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    now = datetime.now(UTC)
    keys = sampling.registration_keys(Settings().code_signing_key)
    with session_scope(factory) as session:
        registry_service.load_divisions(session=session)
        city = City(session)
        grid = city.grid(1)
        household = city.household()
        people = [city.person(household, name=name) for name in ("张三丰", "李小龙")]
        accounts_service.create_user(
            session=session,
            actor=None,
            username="sampler-phone",
            password=PASSWORD,
            role=Role.SAMPLER,
            display_name="采样员",
            area_code=JIANNING,
        )
        service.create_campaign(
            session=session,
            actor=actor_for(Personas(session).admin()),
            name="第3轮全员核酸",
            area_code=grid.code,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=23),
            max_pool_size=10,
            rule_ref="cn-9/4.2",
        )
        codes = [
            issue_person_code(
                private_key=keys.signing_key,
                key_id=keys.signing_key_id,
                person_id=person.id,
                issued_at=now - timedelta(days=1),
            )
            for person in people
        ]

    with serve(url, factory) as address:
        yield address, codes
    engine.dispose()


def test_a_sampler_scans_a_tube_and_two_people_then_closes_it_on_a_phone(
    sampling_site: tuple[str, list[str]], browser: Browser, artifacts_dir: Path
) -> None:
    base, codes = sampling_site
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "sampler-phone")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/sampling")

        tube_input = page.locator("#tube-input")
        expect(tube_input).to_be_focused()
        page.keyboard.type("ZZ4302000777")
        page.keyboard.press("Enter")
        expect(page.locator("#tube-status")).to_contain_text("ZZ4302000777 · 0/10")
        expect(page.locator("#person-input")).to_be_focused()
        for code in codes:  # the person input keeps the focus: scan after scan
            page.keyboard.type(code)
            page.keyboard.press("Enter")
        # Each scan is listed once stored, then with the person's masked name once checked.
        expect(page.locator("#scan-list li")).to_have_count(2)
        expect(page.locator("#tube-status")).to_contain_text("2/10")
        expect(page.locator("#scan-list li.scan-ok")).to_have_count(2, timeout=15_000)
        items = page.locator("#scan-list li").all_inner_texts()
        expect(page.locator("#person-input")).to_be_focused()
        width = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(artifacts_dir / "sampling-phone-360.png"), full_page=True)
        page.click("#close-tube")
        expect(page.locator("#tube-status")).to_contain_text("采样管已封管。 ZZ4302000777 · 2/10")
        expect(tube_input).to_be_focused()
    finally:
        context.close()
    assert items == ["李*龙 · 2/10", "张*丰 · 1/10"]
    assert width <= PHONE["width"]
