"""The depot keeper's console in a real browser (Debian's Chromium, Playwright for Python),
with the harness of tests/test_console_browser.py: each page kept as a screenshot.

赵敏 signs in at the main depot and goes through her rooms: 王磊's approved requisition,
issued beyond its approval, is refused in words by the requisition rule, then issued as
approved; the count sheet shows its difference; 陈浩's consumption waits to be written
off. (Booking an old part received is part of the one job followed from the call to the
manager's figures: tests/test_console_journey_browser.py.)
"""

from __future__ import annotations

import pytest

from tests.console_pages import PASSWORDS
from tests.depot_world import depot_world
from tests.test_console_browser import CHROMIUM, _sign_in, browser, page, served, shots  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at "
                                "/usr/bin/chromium: `apt-get install -y chromium fonts-noto-cjk` (make does it as root)")


def test_depot_keeper_issues_the_approved_requisition_reads_the_count_and_the_open_consumption(
        app, engine, people, replica_for, served, page, shots):  # noqa: F811
    from playwright.sync_api import expect

    world = depot_world(engine, people, replica_for)
    page.goto(f"{served}/console/login")
    _sign_in(page, served, "u-depot", PASSWORDS["u-depot"])
    page.wait_for_selector("nav.tabs")
    assert page.inner_text("h1") == "欢迎，赵敏"
    page.screenshot(path=shots / "depot-home.png", full_page=True)
    page.click("text=发料到服务车")
    page.wait_for_selector("table#requisitions")
    page.screenshot(path=shots / "depot-requisitions.png", full_page=True)
    page.click(f"tr[data-requisition='{world.requisition}'] a")
    page.wait_for_selector("form#issue")
    page.fill(f"input[name='qty-{world.belt}']", "3")
    page.fill(f"input[name='qty-{world.hose}']", "")
    page.click("form#issue button[type=submit]")
    page.wait_for_selector(".flash.refused")
    assert "超出批准后可发的数量（over_issue）" in page.inner_text(".flash.refused")
    page.screenshot(path=shots / "depot-issue-refused.png", full_page=True)
    page.fill(f"input[name='qty-{world.belt}']", "2")
    page.fill(f"input[name='qty-{world.hose}']", "1.5")
    page.click("form#issue button[type=submit]")
    page.wait_for_selector(".flash.done")
    assert page.inner_text(".flash.done") == "已发到服务车：传动皮带、液压软管。"
    expect(page.locator("#approval")).to_have_text("已批准")
    page.screenshot(path=shots / "depot-issued.png", full_page=True)

    page.click("text=盘点表")
    page.wait_for_selector("table#approved")
    expect(page.locator(f"[data-count='{world.count}']")).to_contain_text("-2")
    page.screenshot(path=shots / "depot-counts.png", full_page=True)

    page.click("text=未核销消耗")
    page.wait_for_selector("table#open")
    expect(page.locator(f"tr[data-movement='{world.board_back}']")).to_contain_text("陈浩")
    page.screenshot(path=shots / "depot-consumptions.png", full_page=True)

    page.click("text=English")
    page.wait_for_selector("table#open")
    assert page.inner_text("h1") == "Consumptions not yet written off"
    page.screenshot(path=shots / "depot-consumptions-en.png", full_page=True)
