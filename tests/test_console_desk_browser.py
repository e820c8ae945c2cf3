"""The desk's day in a real browser (Debian's Chromium, Playwright): a call taken, the
job dispatched to Wang, whose phone (the project's own Replica) finishes it offline with
the customer's signature and syncs; the desk's cancel of the same ticket, sent while the
phone was offline, lands in the conflict queue and is settled; then the follow-up call
and a complaint. A screenshot of each page is kept (``FIELDSYNC_SCREENSHOTS``, else the
test's temporary folder)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from server.tables import entity_table
from tests.console_pages import PASSWORDS, give_passwords
from tests.scenario import complete_and_sign
from tests.test_console_browser import CHROMIUM, browser, page, served, shots  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at "
                                "/usr/bin/chromium: `apt-get install -y chromium fonts-noto-cjk` (make does it as root)")


def test_desk_takes_a_call_the_engineer_finishes_offline_and_the_crossed_cancel_is_settled(
        app, people, replica_for, served, page, shots):  # noqa: F811
    from playwright.sync_api import expect

    engine = app.extensions["fieldsync"].engine
    give_passwords(engine)
    desk_phone = replica_for(people["desk"])
    customer = desk_phone.insert("customer", name="北京华信印刷厂", phone="010-6555-0101", address="海淀区中关村大街1号",
                                 zone="ring2")
    desk_phone.insert("equipment", customer_id=customer, model="海德堡 SM52", serial="HD-0042", warranty_end="2099-06-30")
    desk_phone.sync()

    page.goto(f"{served}/console/intake")
    page.fill("#login", "u-desk")
    page.fill("#password", PASSWORDS["u-desk"])
    page.click("button[type=submit]")
    page.wait_for_selector("form#intake")
    with page.expect_response(lambda answer: "/console/intake/customers" in answer.url):
        page.fill("#customer-search", "华信")  # htmx asks for the customers as the desk types
    page.check(f"[data-customer='{customer}'] input[name=customer_id]")
    page.check(f"[data-customer='{customer}'] input[name=equipment_id]")
    page.fill("textarea[name=fault]", "印刷机滚筒异响，印品有条纹")
    page.select_option("select[name=zone]", "ring2")
    expect(page.locator("#category")).to_have_text("C · 免费保修服务")  # shown before saving
    page.screenshot(path=shots / "intake.png", full_page=True)
    page.click("form#intake button[type=submit]")
    page.wait_for_selector(".flash.done")
    assert page.inner_text(".flash.done") == "来电已记录为工单。"
    ticket = entity_table("ticket")
    with engine.connect() as conn:
        ticket_id, number, category = conn.execute(sa.select(ticket.c.id, ticket.c.number, ticket.c.category)).one()
    assert category == "C" and number in page.inner_text("h1")
    page.screenshot(path=shots / "intake-saved.png", full_page=True)

    page.check("form#dispatch input[value='u-wang']")
    page.click("form#dispatch button[type=submit]")
    page.wait_for_selector(".flash.done")
    wang = replica_for(people["wang"])
    wang.sync()
    assert wang.get("ticket", ticket_id)["fault_description"] == "印刷机滚筒异响，印品有条纹"

    page.reload()  # the desk has the ticket open as dispatched...
    complete_and_sign(wang, ticket_id)  # ...while Wang, with no signal, finishes and the customer signs
    wang.sync()
    page.fill("form#cancel textarea", "客户来电说不用修了")
    page.click("form#cancel button[type=submit]")
    page.wait_for_selector(".flash.conflict")
    assert "冲突队列" in page.inner_text(".flash.conflict")
    assert page.inner_text("#status").startswith("已完工")  # the field work stands
    page.screenshot(path=shots / "cancel-lost.png", full_page=True)

    page.click("header >> text=冲突队列")
    row = page.locator("table#conflicts tbody tr").first
    expect(row.locator(".lost strong")).to_have_text("已取消")
    expect(row.locator(".kept strong")).to_have_text("已完工")
    page.screenshot(path=shots / "conflicts.png", full_page=True)
    row.locator("input[name=reason]").fill("客户已签字确认修好，保留现场结果")
    row.locator("button[value=kept]").click()
    page.wait_for_selector(".flash.done")
    expect(page.locator("table#conflicts tbody tr")).to_have_count(1)
    assert page.inner_text("table#conflicts") .strip().endswith("没有冲突。")
    conflict = entity_table("conflict")
    with engine.connect() as conn:
        assert conn.execute(sa.select(conflict.c.status)).scalars().all() == ["resolved"]
    page.goto(f"{served}/console/conflicts?status=resolved")
    page.screenshot(path=shots / "conflicts-resolved.png", full_page=True)

    page.click("header >> text=回访")
    page.click(f"tr[data-ticket='{ticket_id}'] a")
    for item, level in (("attitude", 4), ("skill", 4), ("arrival_time", 3), ("follow_through", 4)):
        page.check(f"input[name={item}][value='{level}']")
    page.fill("textarea[name=comment]", "师傅很专业")
    page.screenshot(path=shots / "followup.png", full_page=True)
    page.click("form#followup button[type=submit]")
    page.wait_for_selector(".flash.done")
    page.screenshot(path=shots / "followups.png", full_page=True)

    page.goto(f"{served}/console/complaints/new?ticket={number}")
    page.fill("textarea[name=description]", "修好后第二天又有条纹")
    page.click("form#complaint button[type=submit]")
    page.wait_for_selector(".flash.done")
    assert "剩 12 天" in page.inner_text("#deadline")
    page.screenshot(path=shots / "complaint.png", full_page=True)
    page.click("header >> text=投诉")
    page.wait_for_selector("table#complaints")
    page.screenshot(path=shots / "complaints.png", full_page=True)
