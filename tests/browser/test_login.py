from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from fangkong.demo import DEMO_PASSWORD, JIANNING_FIRST_GRID

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


def test_it_logs_a_grid_worker_in_on_a_phone_and_shows_their_home(
    browser: Browser, live_server: str, artifacts_dir: Path
) -> None:
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{live_server}/")
    expect(page).to_have_url(f"{live_server}/login?next=/&reason=auth.required")
    page.get_by_label("用户名").fill("grid")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator("h1")).to_contain_text("您好")
    expect(page.locator(".role")).to_have_text("社区/网格员")
    expect(page.locator("main")).to_contain_text(JIANNING_FIRST_GRID)
    # Nothing may be wider than the phone: field roles work on 360-pixel screens.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts_dir / "home-grid-worker-360.png"), full_page=True)
    page.close()


def test_it_shows_a_wrong_password_in_english_when_asked(
    browser: Browser, live_server: str
) -> None:
    page = browser.new_page()
    page.goto(f"{live_server}/login?lang=en")
    page.get_by_label("Username").fill("grid")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    page.close()


def test_it_logs_out_through_the_menu(browser: Browser, live_server: str) -> None:
    page = browser.new_page()
    page.goto(f"{live_server}/login?lang=en")
    page.get_by_label("Username").fill("command")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".role")).to_have_text("Command centre")
    page.get_by_role("link", name="Areas").first.click()
    expect(page.locator("h1")).to_contain_text("株洲市")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server}/login")
    page.close()


def test_it_logs_the_demo_resident_in_to_their_own_home(browser: Browser, live_server: str) -> None:
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{live_server}/login?lang=en")
    page.get_by_label("Username").fill("resident")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".role")).to_have_text("Resident")
    # A resident has no area jurisdiction: the registry menu is not theirs.
    expect(page.get_by_role("link", name="Areas")).to_have_count(0)
    page.close()
