"""Enrolling a phone in a real browser: the desk registers Wang's new phone, the phone
reads the QR code off the screen (a screenshot of it, decoded by zxing-cpp), exchanges it
for its token and syncs his job with it; then the desk revokes his old phone.

Runs on the harness of ``tests/test_console_browser.py`` (Debian's Chromium, the app on a
loopback port, a screenshot of each page kept in ``FIELDSYNC_SCREENSHOTS`` or the test's
temporary folder); skipped, saying why, where Chromium is missing.
"""

from __future__ import annotations

import io

import httpx
import pytest
import sqlalchemy as sa

from server.console.accounts import set_password
from server.tables import users
from sync.client import Replica
from sync.enroll import enroll, read_code
from sync.errors import DeviceRevokedError
from sync.transport import HttpTransport
from tests.console_pages import PASSWORDS
from tests.scenario import desk_opens_ticket
from tests.test_console_browser import CHROMIUM, _sign_in, browser, page, served, shots  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at "
                                "/usr/bin/chromium: `apt-get install -y chromium fonts-noto-cjk` (make does it as root)")


def test_desk_enrolls_wangs_new_phone_from_its_qr_code_and_revokes_the_old_one(
        app, people, replica_for, served, page, shots, tmp_path):
    import zxingcpp
    from PIL import Image
    from playwright.sync_api import expect

    engine = app.extensions["fieldsync"].engine
    with engine.begin() as conn:
        set_password(conn, "u-desk", PASSWORDS["u-desk"])
        conn.execute(users.update().where(users.c.id == "u-wang").values(name="王建国"))
    old_phone = replica_for(people["wang"])
    old_phone.sync()
    job = desk_opens_ticket(replica_for(people["desk"]), "u-wang", zone="ring2",
                            fault_description="冷库压缩机不启动，报警代码E-17")["ticket"]

    page.goto(f"{served}/console/devices")
    _sign_in(page, served, "u-desk", PASSWORDS["u-desk"])
    page.wait_for_selector("table#devices")
    assert page.inner_text("h1") == "工程师的设备"
    assert "王建国" in page.inner_text("tbody[data-engineer='u-wang']")
    page.screenshot(path=shots / "devices.png", full_page=True)

    page.click("tbody[data-engineer='u-wang'] >> text=登记设备")
    page.wait_for_selector("form#enroll")
    assert page.input_value("#user") == "u-wang"
    page.fill("#device_name", "王建国的新手机")
    page.screenshot(path=shots / "device-enroll.png", full_page=True)
    page.click("form#enroll button[type=submit]")
    page.wait_for_selector("#qr svg")
    shown = page.inner_text("#code")
    page.screenshot(path=shots / "device-code.png", full_page=True)

    scanned = zxingcpp.read_barcodes(Image.open(io.BytesIO(page.locator("#qr").screenshot())))
    assert len(scanned) == 1
    server, code = read_code(scanned[0].text)
    assert server == served and code == shown.replace("-", "")

    with httpx.Client(base_url=server, timeout=30) as http:
        enrolled = enroll(http, code)
    assert enrolled.device_name == "王建国的新手机" and enrolled.person["name"] == "王建国"
    new_phone = Replica(tmp_path / "wang-new.replica", enrolled.device_id,
                        HttpTransport.connect(enrolled.server_url, enrolled.token, sleep=lambda _s: None))
    try:
        new_phone.sync()
        assert new_phone.get("ticket", job)["fault_description"] == "冷库压缩机不启动，报警代码E-17"
        new_phone.update("ticket", job, status="accepted")
        new_phone.sync()
    finally:
        new_phone.transport.client.close()
        new_phone.close()

    expect(page.locator("#enrolled")).to_be_visible(timeout=15_000)  # the page follows the code by htmx
    assert page.locator("#qr").count() == 0
    page.screenshot(path=shots / "device-enrolled.png", full_page=True)

    page.goto(f"{served}/console/devices")
    new_row = page.locator(f"tr[data-device='{enrolled.device_id}']")
    assert "使用中" in new_row.inner_text() and "从未" not in new_row.inner_text()
    page.click(f"tr[data-device='{people['wang'].device_id}'] a.revoke")
    page.wait_for_selector("form#revoke")
    assert "停用王建国的wang's device？" == page.inner_text("h1")
    page.screenshot(path=shots / "device-revoke.png", full_page=True)
    page.click("form#revoke button[type=submit]")
    page.wait_for_selector(".flash.done")
    assert "已停用" in page.inner_text(".flash.done")
    assert "已停用" in page.inner_text(f"tr[data-device='{people['wang'].device_id}']")
    page.screenshot(path=shots / "device-revoked.png", full_page=True)
    with pytest.raises(DeviceRevokedError):
        old_phone.sync()

    page.click("text=English")
    page.wait_for_selector("table#devices")
    assert page.inner_text("h1") == "Engineers' devices"
    page.screenshot(path=shots / "devices-en.png", full_page=True)
    with engine.connect() as conn:
        assert conn.execute(sa.select(users.c.name).where(users.c.id == "u-wang")).scalar() == "王建国"


def test_a_code_nobody_used_expires_on_screen_and_another_office_person_never_sees_it(
        app, people, served, browser, shots):
    engine = app.extensions["fieldsync"].engine
    with engine.begin() as conn:
        for user_id in ("u-desk", "u-manager"):
            set_password(conn, user_id, PASSWORDS[user_id])
    clock = [app.extensions["fieldsync"].now_ms()]
    app.extensions["fieldsync"].now_ms = lambda: clock[0]
    pages = {}
    for user_id in ("u-desk", "u-manager"):
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
        pages[user_id] = context.new_page()
        pages[user_id].goto(f"{served}/console/devices/enroll?user=u-chen")
        _sign_in(pages[user_id], served, user_id, PASSWORDS[user_id])
    desk, manager = pages["u-desk"], pages["u-manager"]
    desk.wait_for_selector("form#enroll")
    desk.fill("#device_name", "陈师傅的平板")
    desk.click("form#enroll button[type=submit]")
    desk.wait_for_selector("#qr svg")
    code = desk.inner_text("#code")

    manager.goto(desk.url)
    manager.wait_for_selector("#state")
    assert code not in manager.content() and manager.locator("#qr").count() == 0
    assert "只显示给申请它的人" in manager.inner_text("#state")
    manager.screenshot(path=shots / "device-code-others.png", full_page=True)
    manager.goto(f"{served}/console/devices")
    assert "陈师傅的平板" in manager.inner_text("tbody[data-engineer='u-chen']")
    manager.screenshot(path=shots / "devices-waiting.png", full_page=True)

    clock[0] += 16 * 60_000
    desk.wait_for_selector("#expired", timeout=15_000)  # the page follows the code by htmx
    assert desk.locator("#qr").count() == 0
    desk.screenshot(path=shots / "device-code-expired.png", full_page=True)
    for open_page in pages.values():
        open_page.context.close()
