"""The manager in a real browser (Debian's Chromium, Playwright): the day's report and
the quality chart before and after an engineer's phone (the project's Replica) syncs a
job it completed offline with the customer's signature; appraisal, contracts and an
approval decided from the page. Each page is kept as a screenshot (``FIELDSYNC_SCREENSHOTS``,
else the test's temporary folder), as in :mod:`tests.test_console_browser`."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import Timeline
from tests.console_pages import PASSWORDS, give_passwords
from tests.manager_world import build_november, name_people
from tests.reports_world import at, customer_signs, finish, log_work, open_ticket, set_clock
from tests.test_console_browser import CHROMIUM, browser, page, shots  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at "
                                "/usr/bin/chromium: `apt-get install -y chromium fonts-noto-cjk` (make does it as root)")


@pytest.fixture
def world(app_factory, replica_for) -> Timeline:
    made = Timeline(replica_for, at("2026-11-01 08:00"))
    made.app = app_factory(CLOCK_MS=lambda: made.now)
    return made


@pytest.fixture
def served_world(world):
    """The world's app (on its Beijing clock) on a free loopback port."""
    server = make_server("127.0.0.1", 0, world.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_manager_sees_the_days_report_and_the_quality_chart_change_when_wangs_signed_job_syncs(
        world, people, engine, served_world, page, shots):  # noqa: F811
    from playwright.sync_api import expect

    november = build_november(world, people)
    name_people(engine)
    give_passwords(engine)
    set_clock(world, "2026-12-01 08:00")
    desk = world.device(people["desk"])
    job = open_ticket(desk, people["wang"], zone="ring1", reported="2026-12-01 08:00", customer="首都图书馆",
                      fault_description="自助借还机卡书，屏幕黑屏")["ticket"]
    wang = world.device(people["wang"])
    wang.sync()  # 王伟's phone takes the job, then goes where there is no signal

    base = served_world
    page.goto(f"{base}/console/login?next=/console/daily")
    page.fill("#login", "u-manager")
    page.fill("#password", PASSWORDS["u-manager"])
    page.click("button[type=submit]")
    page.wait_for_selector("table#daily")
    assert page.inner_text("h1") == "技术员工作日报表"
    assert "这些日期没有工程师的记录" in page.inner_text("table#daily")
    page.screenshot(path=shots / "manager-daily-before.png", full_page=True)
    page.goto(f"{base}/console/quality")
    page.wait_for_selector("table#month-figures")
    assert page.locator("#chart-timeliness circle.point").count() == 1  # November's point alone
    assert page.inner_text("tr[data-figure=timeliness]").split("\t")[1:3] == ["0", "0"]
    page.screenshot(path=shots / "manager-quality-before.png", full_page=True)

    set_clock(world, "2026-12-01 11:00")  # offline: arrives, repairs, the customer signs; then it syncs
    finish(wang, job, arrived="2026-12-01 09:30", completed="2026-12-01 10:30")
    customer_signs(wang, job, "2026-12-01 10:35", signer="馆长王女士")
    log_work(wang, people["wang"], job, "2026-12-01 10:30", "A", 2.5, note="更换借还机皮带，清理传感器")
    wang.sync()

    page.reload()
    page.wait_for_selector("table#month-figures")
    assert page.inner_text("tr[data-figure=timeliness]").split("\t")[1:4] == ["1", "1", "100.0%"]
    assert page.inner_text("tr[data-figure=first_time_fix]").split("\t")[1:4] == ["1", "1", "100.0%"]
    expect(page.locator("#chart-timeliness circle.point")).to_have_count(2)
    assert page.locator("#chart-timeliness polyline").count() == 1  # November joined to December
    assert "2026-12: 100.0% (1/1)" in page.locator("#chart-timeliness").inner_html()
    page.screenshot(path=shots / "manager-quality-after.png", full_page=True)

    page.click("header >> text=工作日报")
    page.wait_for_selector("table#daily tr[data-engineer=u-wang]")
    row = page.inner_text("table#daily tr[data-engineer=u-wang]").split("\t")
    assert row[:2] == ["2026-12-01", "王伟"] and row[2] == "2.5" and row[9] == "1"  # 2.5 h of A, one signed service
    page.screenshot(path=shots / "manager-daily-after.png", full_page=True)

    page.click("header >> text=考核")
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
