"""The command centre on a phone: generate yesterday's bulletin, read it, open the four lists."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from fangkong.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


def test_the_command_centre_generates_and_reads_the_bulletin(
    browser: Browser, live_server: str, artifacts_dir: Path
) -> None:
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill("command")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#command-today")).to_be_visible()
    page.goto(f"{live_server}/command/bulletins")
    page.get_by_role("button", name="生成通报").click()
    expect(page.locator("#bulletin-zh")).to_contain_text("新冠肺炎疫情情况")
    page.screenshot(path=str(artifacts_dir / "command-bulletin-360.png"), full_page=True)
    page.goto(f"{live_server}/command/lists")
    expect(page.locator("#board-test")).to_contain_text("应检尽检")
    page.screenshot(path=str(artifacts_dir / "command-lists-360.png"), full_page=True)
    page.goto(f"{live_server}/command")
    expect(page.locator("#today")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "command-dashboard-360.png"), full_page=True)
    page.close()
