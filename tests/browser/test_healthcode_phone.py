"""The resident's code page on a 360-pixel phone, in real Chromium: the colour and a QR code,
nothing wider than the screen, and the QR refreshed by the page itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from fangkong.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


def test_the_resident_sees_their_colour_and_a_qr_code(
    browser: Browser, live_server: str, artifacts_dir: Path
) -> None:
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{live_server}/login?next=/my-code")
    page.get_by_label("用户名").fill("resident")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{live_server}/my-code")

    colour = page.locator(".code-colour")
    expect(colour).to_be_visible()
    assert colour.get_attribute("data-colour") in {"green", "yellow", "red", "withheld"}
    qr = page.locator("#qr svg.qr")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and 200 <= box["width"] <= PHONE["width"]
    expect(page.locator("[data-field=explanation]")).to_contain_text("您的健康码为")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The page fetches a new QR by itself (HTMX), so a screenshot goes stale.
    first = page.locator("#qr").get_attribute("data-expires")
    with page.expect_response(lambda r: r.url.endswith("/my-code/qr")):
        page.evaluate("htmx.ajax('GET', '/my-code/qr', {target: '#qr', swap: 'outerHTML'})")
    expect(page.locator("#qr svg.qr")).to_be_visible()
    assert first is not None and page.locator("#qr").get_attribute("data-expires") is not None
    page.screenshot(path=str(artifacts_dir / "healthcode-resident-360.png"), full_page=True)
    page.close()
