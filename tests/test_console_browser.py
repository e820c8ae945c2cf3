"""The console in a real browser: Debian's Chromium driven by Playwright for Python.

The app serves on a loopback port from a thread of this process; a desk phone (the
project's own Replica) records the call, the desk signs in, reads the board in Chinese,
dispatches, and the engineer's phone pulls the job. Each page is kept as a screenshot, in
a folder named after the test: under ``FIELDSYNC_SCREENSHOTS`` when set (``make test``
sets ``.test-logs/screenshots/<database>``), else in the test's temporary folder.

Skipped, saying why, where ``/usr/bin/chromium`` is missing (``make .venv/.installed``
installs it through apt when it can: docs/decisions.md, "Chromium for the browser tests").
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from server.tables import entity_table
from tests.conftest import Timeline
from tests.console_pages import PASSWORDS, give_passwords
from tests.reports_world import at
from tests.scenario import desk_opens_ticket

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at "
                                "/usr/bin/chromium: `apt-get install -y chromium fonts-noto-cjk` (make does it as root)")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@contextmanager
def serving(app):
    """``app`` on a free loopback port, its base URL; stopped on leaving."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def served(app):
    """The app on a free loopback port, its base URL; stopped after the test."""
    with serving(app) as base_url:
        yield base_url


@pytest.fixture
def world(app_factory, replica_for) -> Timeline:
    """A department on a Beijing clock that starts at 2026-11-01 08:00 (:mod:`tests.reports_world`)."""
    made = Timeline(replica_for, at("2026-11-01 08:00"))
    made.app = app_factory(CLOCK_MS=lambda: made.now)
    return made


@pytest.fixture
def served_world(world):
    """The world's app (on its Beijing clock) on a free loopback port."""
    with serving(world.app) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the module's tests (each gets a new context: its own cookies and
    storage); a launch costs 9-13 s on the loaded machine, a context 2 s. A module that
    imports this fixture gets a Chromium of its own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


@pytest.fixture
def shots(request, tmp_path) -> Path:
    """Where the test keeps its screenshots: a folder named after it, so two tests' pages of
    the same name never overwrite each other."""
    root = os.environ.get("FIELDSYNC_SCREENSHOTS")
    folder = Path(root) / request.node.name if root else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sign_in(page, base_url: str, login: str, password: str) -> None:
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_desk_reads_the_board_in_chinese_and_dispatches_a_call_the_engineer_pulls(
        app, people, replica_for, served, page, shots):
    give_passwords(app.extensions["fieldsync"].engine)
    desk_phone = replica_for(people["desk"])
    call = desk_opens_ticket(desk_phone, None, status="reported", zone="ring2",
                             fault_description="数控机床主轴过热，报警代码E-204")["ticket"]
    desk_opens_ticket(desk_phone, people["chen"].user_id, zone="ring3", fault_description="冷库压缩机不启动")

    page.goto(f"{served}/console/tickets")
    assert page.url.startswith(f"{served}/console/login?next=")
    assert page.inner_text("h1") == "登录控制台"
    page.screenshot(path=shots / "login.png", full_page=True)
    _sign_in(page, served, "u-desk", PASSWORDS["u-desk"])
    page.wait_for_selector("table#board")
    assert page.inner_text("h1") == "工单看板"
    assert page.locator("table#board tbody tr").count() == 2
    assert "数控机床主轴过热" in page.inner_text("table#board")
    page.screenshot(path=shots / "board.png", full_page=True)

    from playwright.sync_api import expect

    page.fill("#q", "冷库")  # htmx asks for the rows as the desk types
    expect(page.locator("table#board tbody tr")).to_have_count(1)
    assert "冷库压缩机不启动" in page.inner_text("table#board")
    page.fill("#q", "")
    expect(page.locator("table#board tbody tr")).to_have_count(2)

    page.click(f"tr[data-ticket='{call}'] a")
    page.wait_for_selector("form#dispatch")
    page.screenshot(path=shots / "ticket.png", full_page=True)
    page.check("form#dispatch input[value='u-wang']")
    page.click("form#dispatch button[type=submit]")
    page.wait_for_selector(".flash.done")
    assert page.inner_text(".flash.done") == "已派给wang。"
    assert page.inner_text("h2") == "改派"
    page.screenshot(path=shots / "dispatched.png", full_page=True)

    ticket = entity_table("ticket")
    with app.extensions["fieldsync"].engine.connect() as conn:
        stored = conn.execute(sa.select(ticket.c.status, ticket.c.assignee_id).where(ticket.c.id == call)).one()
    assert tuple(stored) == ("dispatched", "u-wang")
    wang = replica_for(people["wang"])
    wang.sync()
    assert wang.get("ticket", call)["status"] == "dispatched"

    page.click("text=English")
    page.wait_for_selector("form#dispatch")
    assert page.inner_text("h2") == "Reassign"


def test_guessing_the_desk_password_in_the_browser_locks_the_account(app, people, served, page, shots):
    give_passwords(app.extensions["fieldsync"].engine)
    page.goto(f"{served}/console/login")
    for attempt in range(5):
        _sign_in(page, served, "u-desk", f"猜的密码{attempt}")
        page.wait_for_selector(".problem")
    assert "失败次数过多" in page.inner_text(".problem")
    page.screenshot(path=shots / "locked.png", full_page=True)
    _sign_in(page, served, "u-desk", PASSWORDS["u-desk"])
    page.wait_for_selector(".problem")
    assert "已锁定" in page.inner_text(".problem")
    assert page.url.startswith(f"{served}/console/login")
