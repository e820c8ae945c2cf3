"""One job from the call to the manager's figures, in a real browser (Debian's Chromium,
Playwright for Python), each person in a browser of their own and a screenshot of each page.

On 1 December 2026 in Beijing the desk (张丽) takes a call from 北京华信印刷厂 and dispatches
it to 王伟, whose phone (the project's own Replica) syncs and goes where there is no signal.
Offline he repairs the press, replaces the drive belt and the customer signs. Meanwhile
the customer's office rings the desk to cancel, and the desk does: the two crossed. When
the phone syncs, the field work stands and the cancel waits in the conflict queue, both
values side by side; the desk settles it, then records the follow-up call and a
complaint. 赵仓 at the depot books the old belt 王伟 brings back received, and the manager
(李强) sees this job turn up in the day's report and move December's quality chart.

Where the other browser tests go further: tests/test_console_browser.py (the board and
its htmx filter, the lockout), tests/test_console_depot_browser.py (issuing, counts,
consumptions), tests/test_console_browser_manager.py (appraisal, contracts, approvals).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from server.tables import entity_table
from tests.console_pages import PASSWORDS, give_passwords
from tests.manager_world import name_people
from tests.reports_world import bj, customer_signs, finish, log_work, open_ticket, set_clock
from tests.test_console_browser import (CHROMIUM, _sign_in, browser, page, served_world, shots,  # noqa: F401 (fixtures)
                                        world)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at "
                                "/usr/bin/chromium: `apt-get install -y chromium fonts-noto-cjk` (make does it as root)")


@pytest.fixture
def second_browser(browser):  # noqa: F811
    """``second_browser()``: a page in a browser context of its own (its own cookies), as a
    second person at another desk has; closed after the test."""
    contexts = []

    def open_page():
        contexts.append(browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800}))
        return contexts[-1].new_page()

    yield open_page
    for context in contexts:
        context.close()


def _figure(page, name: str) -> list[str]:
    """December's row of one quality figure: done, within target, the rate."""
    return page.inner_text(f"tr[data-figure={name}]").split("\t")[1:4]


def test_one_call_from_the_desk_through_wangs_offline_job_and_the_depot_to_the_managers_figures(
        world, people, engine, served_world, page, second_browser, shots):  # noqa: F811
    from playwright.sync_api import expect

    name_people(engine)
    give_passwords(engine)
    desk_phone, wang = world.device(people["desk"]), world.device(people["wang"])
    set_clock(world, "2026-11-02 08:00")  # November: one job of 王伟's, on time, for the chart to start from
    november = open_ticket(desk_phone, people["wang"], zone="ring1", reported="2026-11-02 08:00")["ticket"]
    wang.sync()
    finish(wang, november, arrived="2026-11-02 09:00", completed="2026-11-02 11:00")
    customer_signs(wang, november, "2026-11-02 11:10")
    wang.sync()
    belt = desk_phone.insert("part", code="BLT-200", name="传动皮带", unit="条", returnable=True, price=80.0)
    desk_phone.insert("stock_location", kind="depot", name="总仓", depot_id="depot-main")
    van = desk_phone.insert("stock_location", kind="van", name="王伟的服务车", engineer_id="u-wang",
                            depot_id="depot-main")
    customer = desk_phone.insert("customer", name="北京华信印刷厂", phone="010-6555-0101",
                                 address="海淀区中关村大街1号", zone="ring1")
    desk_phone.insert("equipment", customer_id=customer, model="海德堡 SM52", serial="HD-0042",
                      warranty_end="2099-06-30")
    desk_phone.sync()
    set_clock(world, "2026-12-01 08:00")
    base = served_world

    manager = second_browser()  # 李强 opens the morning's figures
    manager.goto(f"{base}/console/login?next=/console/daily")
    _sign_in(manager, base, "u-manager", PASSWORDS["u-manager"])
    manager.wait_for_selector("table#daily")
    assert "这些日期没有工程师的记录" in manager.inner_text("table#daily")
    manager.screenshot(path=shots / "manager-daily-before.png", full_page=True)
    manager.goto(f"{base}/console/quality")
    manager.wait_for_selector("table#month-figures")
    assert manager.locator("#chart-timeliness circle.point").count() == 1  # November's point alone
    assert _figure(manager, "timeliness")[:2] == ["0", "0"]
    manager.screenshot(path=shots / "manager-quality-before.png", full_page=True)

    page.goto(f"{base}/console/intake")  # the desk: the phone rings
    assert page.inner_text("h1") == "登录控制台"
    page.screenshot(path=shots / "desk-login.png", full_page=True)
    _sign_in(page, base, "u-desk", PASSWORDS["u-desk"])
    page.wait_for_selector("form#intake")
    with page.expect_response(lambda answer: "/console/intake/customers" in answer.url):
        page.fill("#customer-search", "华信")  # htmx asks for the customers as the desk types
    page.check(f"[data-customer='{customer}'] input[name=customer_id]")
    page.check(f"[data-customer='{customer}'] input[name=equipment_id]")
    page.fill("textarea[name=fault]", "印刷机滚筒异响，印品有条纹")
    page.select_option("select[name=zone]", "ring1")
    expect(page.locator("#category")).to_have_text("C · 免费保修服务")  # shown before saving
    page.screenshot(path=shots / "desk-intake.png", full_page=True)
    page.click("form#intake button[type=submit]")
    page.wait_for_selector(".flash.done")
    assert page.inner_text(".flash.done") == "来电已记录为工单。"
    ticket = entity_table("ticket")
    with engine.connect() as conn:
        job, number = conn.execute(sa.select(ticket.c.id, ticket.c.number).where(ticket.c.id != november)).one()
    assert number in page.inner_text("h1")
    page.screenshot(path=shots / "desk-ticket.png", full_page=True)
    page.check("form#dispatch input[value='u-wang']")
    page.click("form#dispatch button[type=submit]")
    page.wait_for_selector(".flash.done")
    assert page.inner_text(".flash.done") == "已派给王伟。"
    page.screenshot(path=shots / "desk-dispatched.png", full_page=True)

    wang.sync()  # 王伟's phone takes the job, then goes where there is no signal
    assert wang.get("ticket", job)["fault_description"] == "印刷机滚筒异响，印品有条纹"
    set_clock(world, "2026-12-01 11:00")
    finish(wang, job, arrived="2026-12-01 09:30", completed="2026-12-01 10:30")
    old_belt = wang.insert("stock_movement", kind="consume", part_id=belt, qty=1.0, from_location_id=van,
                           ticket_id=job)
    customer_signs(wang, job, "2026-12-01 10:35", signer="刘经理")
    log_work(wang, people["wang"], job, "2026-12-01 10:30", "C", 2.5, note="更换传动皮带，清洁滚筒")

    page.reload()  # the customer's office rings to cancel, not knowing the repair is done
    page.fill("form#cancel textarea", "客户来电说不用修了")
    page.click("form#cancel button[type=submit]")
    page.wait_for_selector(".flash.done")
    assert page.inner_text("#status").startswith("已取消")
    page.screenshot(path=shots / "desk-cancelled.png", full_page=True)

    wang.sync()  # back in signal: the field work stands over the cancel
    page.click("header >> text=冲突队列")
    row = page.locator(f"table#conflicts tbody tr:has(a:text('{number}'))")
    expect(row.locator(".kept strong")).to_have_text("已到现场")
    expect(row.locator(".lost strong")).to_have_text("已取消")
    assert "王伟" in row.locator(".kept").inner_text() and "张丽" in row.locator(".lost").inner_text()
    page.screenshot(path=shots / "desk-conflicts.png", full_page=True)
    row.locator("input[name=reason]").fill("客户已签字确认修好，保留现场结果")
    row.locator("button[value=kept]").click()
    page.wait_for_selector(".flash.done")
    assert page.inner_text("table#conflicts").strip().endswith("没有冲突。")
    page.goto(f"{base}/console/conflicts?status=resolved")
    assert "客户已签字确认修好" in page.inner_text("table#conflicts")
    page.screenshot(path=shots / "desk-conflicts-resolved.png", full_page=True)
    page.goto(f"{base}/console/tickets/{job}")
    assert page.inner_text("#status").startswith("已完工")
    page.screenshot(path=shots / "desk-ticket-completed.png", full_page=True)

    page.click("header >> text=回访")  # the follow-up call to the customer
    page.click(f"tr[data-ticket='{job}'] a")
    for item, level in (("attitude", 4), ("skill", 4), ("arrival_time", 3), ("follow_through", 4)):
        page.check(f"input[name={item}][value='{level}']")
    page.fill("textarea[name=comment]", "师傅很专业")
    page.screenshot(path=shots / "desk-followup.png", full_page=True)
    page.click("form#followup button[type=submit]")
    page.wait_for_selector(".flash.done")
    page.goto(f"{base}/console/complaints/new?ticket={number}")
    page.fill("textarea[name=description]", "修好后第二天又有条纹")
    page.click("form#complaint button[type=submit]")
    page.wait_for_selector(".flash.done")
    assert page.inner_text("#deadline").strip() == "2026-12-14 11:00 剩 13 天"
    page.screenshot(path=shots / "desk-complaint.png", full_page=True)

    wang.update("old_part_return", old_belt, status="collected", collected_at=bj("2026-12-01 10:40"))
    wang.insert("stock_movement", kind="old_part_collected", part_id=belt, qty=1.0, condition="old",
                to_location_id=van, ticket_id=job, return_id=old_belt)
    wang.sync()
    keeper = second_browser()  # 赵仓 at the depot: 王伟 hands the old belt over the counter
    keeper.goto(f"{base}/console/login")
    _sign_in(keeper, base, "u-depot", PASSWORDS["u-depot"])
    keeper.wait_for_selector("nav.tabs")
    keeper.click("nav.tabs >> text=旧件")
    back = keeper.locator(f"table#out tr[data-return='{old_belt}']")
    expect(back).to_contain_text("传动皮带")
    expect(back).to_contain_text(number)
    expect(back).to_contain_text("工程师已带回")
    keeper.screenshot(path=shots / "depot-old-parts.png", full_page=True)
    back.locator("button[type=submit]").click()
    keeper.wait_for_selector(".flash.done")
    assert keeper.inner_text(".flash.done") == "旧件已登记收到。"
    expect(keeper.locator(f"table#back tr[data-return='{old_belt}']")).to_contain_text("传动皮带")
    expect(keeper.locator(f"table#out tr[data-return='{old_belt}']")).to_have_count(0)
    keeper.screenshot(path=shots / "depot-old-part-received.png", full_page=True)
    wang.sync()
    assert wang.get("old_part_return", old_belt)["status"] == "received"
    assert wang.get("old_part_return", old_belt)["received_by"] == "u-depot"

    manager.reload()  # the manager's December, now with this job
    manager.wait_for_selector("table#month-figures")
    assert _figure(manager, "timeliness") == ["1", "1", "100.0%"]
    assert _figure(manager, "first_time_fix") == ["1", "1", "100.0%"]
    expect(manager.locator("#chart-timeliness circle.point")).to_have_count(2)
    assert manager.locator("#chart-timeliness polyline").count() == 1  # November joined to December
    assert "2026-12: 100.0% (1/1)" in manager.locator("#chart-timeliness").inner_html()
    manager.screenshot(path=shots / "manager-quality-after.png", full_page=True)
    manager.click("header >> text=工作日报")
    wang_row = manager.inner_text("table#daily tr[data-engineer=u-wang]").split("\t")
    assert wang_row[:2] == ["2026-12-01", "王伟"] and wang_row[4] == "2.5"  # 2.5 h of warranty work (C)
    assert wang_row[8:10] == ["1.0", "1"]  # the belt used, one signed service
    manager.screenshot(path=shots / "manager-daily-after.png", full_page=True)
