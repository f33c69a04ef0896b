"""Every role's home page on a 360-pixel phone, in real Chromium against the demo: each lands on
its own work for today (the entries only that role gets) and nothing overflows sideways."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from fangkong.accounts.enums import Role
from fangkong.demo import DEMO_ACCOUNTS, DEMO_PASSWORD

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}

# role → the entries of its "Today" list (from command/homes.py), and the role's Chinese name
HOMES: dict[Role, tuple[tuple[str, ...], str]] = {
    Role.COMMAND_CENTRE: (
        ("list_test", "list_isolate", "list_admit", "list_treat", "ledger"),
        "指挥部",
    ),
    Role.DISTRICT_OFFICER: (("list_test", "bulletins", "map", "ledger"), "区县工作人员"),
    Role.GRID_WORKER: (("my_grid", "not_tested", "missed_checkins"), "社区/网格员"),
    Role.SAMPLER: (("open_rounds",), "采样人员"),
    Role.LABORATORY: (("tubes_waiting",), "检测机构"),
    Role.EPIDEMIOLOGIST: (("open_investigations", "investigations_due"), "流调人员"),
    Role.ISOLATION_MANAGER: (
        ("due_contacts", "overdue_transfers", "missed_checkins"),
        "隔离点管理",
    ),
    Role.TRANSFER_TEAM: (("open_transfers", "overdue_transfers"), "转运专班"),
    Role.INDUSTRY_BUREAU: (("to_review", "open_tickets"), "工信部门"),
    Role.ENTERPRISE: (("application",), "企业"),
    Role.VOLUNTEER: (("open_tasks", "my_tasks"), "志愿者"),
    Role.CHECKPOINT: (("scan_code", "scan_pass"), "卡口/场所查验"),
    Role.RESIDENT: (("my_code", "checkin", "supplies"), "居民"),
    Role.ADMINISTRATOR: (("audit",), "系统管理员"),
}
USERNAMES = {account.role: account.username for account in DEMO_ACCOUNTS}


def test_every_role_has_a_home() -> None:
    assert set(HOMES) == set(Role) == set(USERNAMES)


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_the_role_lands_on_its_work_for_today_on_a_phone(
    browser: Browser, live_server: str, artifacts_dir: Path, role: Role
) -> None:
    items, role_word = HOMES[role]
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{live_server}/login")
        page.get_by_label("用户名").fill(USERNAMES[role])
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.locator("#today-work")).to_be_visible()
        expect(page.locator("section.card").first.locator("p.muted")).to_contain_text(role_word)
        for item in items:
            expect(page.locator(f"#today-work li[data-item={item}] a")).to_be_visible()
        shown = page.locator("#today-work li[data-item]").evaluate_all(
            "items => items.map(i => i.dataset.item)"
        )
        assert set(items) <= set(shown)
        width = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(artifacts_dir / f"home-{role.value}-360.png"), full_page=True)
    finally:
        context.close()
    assert width <= PHONE["width"]
