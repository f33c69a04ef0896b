"""The command dashboard's live panels and the schematic map on a 360 px phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from fangkong.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


def test_the_dashboard_panels_and_the_map_fit_a_phone(
    browser: Browser, live_server: str, artifacts_dir: Path
) -> None:
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill("command")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#today-work")).to_contain_text("应检未检")
    page.goto(f"{live_server}/command")
    expect(page.locator("#panels")).to_contain_text("混阳管")
    expect(page.locator("#onset-curve svg")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(artifacts_dir / "command-panels-360.png"), full_page=True)
    page.goto(f"{live_server}/command/map")
    expect(page.locator("svg.area-map")).to_be_visible()
    first = page.locator("svg.area-map a").first
    name = first.locator("title").text_content()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(artifacts_dir / "command-map-360.png"), full_page=True)
    href = first.get_attribute("href")
    assert name and href and href.startswith("/command/map?path=")
    page.goto(f"{live_server}{href}")  # one district: its streets
    expect(page.locator("h1")).to_contain_text("示意图")
    expect(page.locator("#map-areas")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "command-map-street-360.png"), full_page=True)
    page.close()
