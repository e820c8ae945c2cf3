"""The manager in a real browser (Debian's Chromium, Playwright): appraisal, contracts
near their end, and approvals decided from the page — one refused because the engineer
changed the claim while the page was open — on November's records (:mod:`tests.manager_world`).
Each page is kept as a screenshot, as in :mod:`tests.test_console_browser`. (The day's
report and the quality chart moved by a job the desk dispatched are in the one job
followed from the call: tests/test_console_journey_browser.py.)"""

from __future__ import annotations

import pytest

from tests.console_pages import PASSWORDS, give_passwords
from tests.manager_world import build_november, name_people
from tests.test_console_browser import CHROMIUM, browser, page, served_world, shots, world  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at "
                                "/usr/bin/chromium: `apt-get install -y chromium fonts-noto-cjk` (make does it as root)")


def test_the_manager_reads_appraisal_and_contracts_and_decides_approvals_one_refused_as_stale(
        world, people, engine, served_world, page, shots):  # noqa: F811
    from playwright.sync_api import expect

    november = build_november(world, people)
    name_people(engine)
    give_passwords(engine)
    wang = world.device(people["wang"])
    wang.sync()

    base = served_world
    page.goto(f"{base}/console/login?next=/console/appraisal")
    page.fill("#login", "u-manager")
    page.fill("#password", PASSWORDS["u-manager"])
    page.click("button[type=submit]")
    page.wait_for_selector("table#appraisal")
    page.screenshot(path=shots / "manager-appraisal.png", full_page=True)
    page.click("header >> text=合同到期")
    page.wait_for_selector("table#contracts")
    assert "HT-2025-017" in page.inner_text("table#contracts")
    page.screenshot(path=shots / "manager-contracts.png", full_page=True)

    page.click("header >> text=审批")
    page.wait_for_selector("table#approvals")
    page.screenshot(path=shots / "manager-approvals.png", full_page=True)
    page.click(f"tr[data-record='requisition/{november.requisition}'] button[value=approved]")
    page.wait_for_selector(".flash.done")
    assert page.inner_text(".flash.done") == f"已批准：领料申请 {november.requisition}。"
    assert page.locator(f"tr[data-record='requisition/{november.requisition}']").count() == 0
    page.screenshot(path=shots / "manager-approved.png", full_page=True)
    wang.sync()
    assert wang.get("requisition", november.requisition)["status"] == "approved"
    wang.update("expense_claim", november.advance, amount=3500.0)  # while the page is open, he asks for more
    wang.sync()
    page.click(f"tr[data-record='expense_claim/{november.advance}'] button[value=approved]")
    page.wait_for_selector(".flash.refused")
    assert "您打开本页后该记录已被修改" in page.inner_text(".flash.refused")
    assert "3,500.00 元" in page.inner_text(f"tr[data-record='expense_claim/{november.advance}']")
    page.screenshot(path=shots / "manager-approval-refused.png", full_page=True)

    page.goto(f"{base}/console/quality?month=2026-13")
    page.wait_for_selector(".problem")
    assert "月份的写法如 2026-11" in page.inner_text(".problem")
    page.screenshot(path=shots / "manager-quality-bad-month.png", full_page=True)
