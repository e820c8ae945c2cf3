"""Signing in to the office console: passwords, lockout, sessions, CSRF, and who may."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import orjson
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from server.cli import main
from server.tables import audit, users
from tests.console_pages import PASSWORDS, csrf_of, give_passwords, sign_in

MINUTE = 60_000
START = int(datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc).timestamp() * 1000)  # 09:00 in Beijing


@pytest.fixture
def clock():
    return [START]


@pytest.fixture
def console(app_factory, people, clock):
    app = app_factory(CLOCK_MS=lambda: clock[0])
    give_passwords(app.extensions["fieldsync"].engine)
    return app


def _trail(engine, user_id: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(audit.c.op, audit.c.status, audit.c.code, audit.c.device_id)
            .where(audit.c.entity == "console_session", audit.c.row_id == user_id).order_by(audit.c.id))]


def test_without_a_session_every_console_page_sends_the_browser_to_sign_in(console):
    client = console.test_client()
    for path in ("/console/", "/console/tickets", "/console/tickets/t1"):
        answer = client.get(path)
        assert answer.status_code == 302
        assert answer.location.startswith("/console/login?next=")
    assert client.post("/console/tickets/t1/dispatch").status_code == 400  # no CSRF token: refused before all


def test_desk_signs_in_with_the_password_the_cli_set_and_the_trail_records_it(console, database_url):
    runner = CliRunner()
    answer = runner.invoke(main, ["user", "set-password", "u-desk"], input="新的前台密码二〇二六年\n",
                           env={"DATABASE_URL": database_url})
    assert answer.exit_code == 0, answer.output
    assert "password set for u-desk" in answer.output
    client = console.test_client()
    assert sign_in(client, "u-desk").status_code == 401  # the old password no longer opens it
    signed = sign_in(client, "u-desk", "新的前台密码二〇二六年")
    assert signed.status_code == 302 and signed.location == "/console/"
    assert client.get("/console/").location == "/console/tickets"
    board = client.get("/console/tickets", headers={"Accept-Language": "zh-CN"})
    assert board.status_code == 200
    assert _trail(console.extensions["fieldsync"].engine, "u-desk") == [
        ("login", "rejected", "bad_credentials", "console-u-desk"), ("login", "applied", None, "console-u-desk")]
    with console.extensions["fieldsync"].engine.connect() as conn:
        stored = conn.execute(sa.select(users.c.password_hash).where(users.c.id == "u-desk")).scalar_one()
    assert stored.startswith("$argon2id$") and "新的" not in stored


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one_until_the_lock_ends(console, clock):
    client = console.test_client()
    for attempt in range(4):
        clock[0] += MINUTE
        assert sign_in(client, "u-desk", "猜一个密码试试看").status_code == 401
    clock[0] += MINUTE
    locked = sign_in(client, "u-desk", "猜一个密码试试看")
    assert locked.status_code == 423
    assert "09:20" in locked.text  # locked at 09:05 Beijing time for 15 minutes
    clock[0] += 14 * MINUTE
    assert sign_in(client, "u-desk").status_code == 423  # the right password, still locked, not even checked
    clock[0] += MINUTE
    assert sign_in(client, "u-desk").status_code == 302
    codes = [code for _op, _status, code, _device in _trail(console.extensions["fieldsync"].engine, "u-desk")]
    assert codes == ["bad_credentials"] * 4 + ["locked", "locked", None]


def test_wrong_passwords_spread_over_more_than_the_window_never_lock(console, clock):
    client = console.test_client()
    for attempt in range(8):
        clock[0] += 4 * MINUTE  # four in any 15 minutes at most
        assert sign_in(client, "u-manager", "经理忘了密码").status_code == 401
    # the window restarts at the first failure after it ends: 8 failures, never 5 in one window
    assert sign_in(client, "u-manager").status_code == 302


def test_lockout_count_and_periods_are_configuration(app_factory, people, clock):
    app = app_factory(CLOCK_MS=lambda: clock[0], CONSOLE_LOGIN_MAX_FAILURES=2, CONSOLE_LOCKOUT_SECONDS=60)
    give_passwords(app.extensions["fieldsync"].engine)
    client = app.test_client()
    assert sign_in(client, "u-desk", "错的").status_code == 401
    assert sign_in(client, "u-desk", "又错了").status_code == 423
    clock[0] += MINUTE
    assert sign_in(client, "u-desk").status_code == 302


def test_an_engineer_cannot_open_the_console_even_with_a_password_hash_planted(console, people):
    runner = CliRunner()
    refused = runner.invoke(main, ["user", "set-password", "u-wang"], input="王师傅想进后台看看\n",
                            env={"DATABASE_URL": console.config["DATABASE_URL"]})
    assert refused.exit_code == 1
    assert "engineer signs in on their device" in refused.output
    engine = console.extensions["fieldsync"].engine
    with engine.begin() as conn:  # as if the database were edited by hand: the role still decides
        desk_hash = conn.execute(sa.select(users.c.password_hash).where(users.c.id == "u-desk")).scalar_one()
        conn.execute(users.update().where(users.c.id == "u-wang").values(password_hash=desk_hash))
    client = console.test_client()
    answer = sign_in(client, "u-wang", PASSWORDS["u-desk"])
    assert answer.status_code == 403
    assert "工程师" in answer.text
    assert client.get("/console/tickets").status_code == 302
    # nor does his device token open a page
    assert client.get("/console/tickets", headers={"Authorization": f"Bearer {people['wang'].token}"}).status_code == 302


def test_login_form_without_its_csrf_token_is_refused(console):
    client = console.test_client()
    answer = client.post("/console/login", data={"login": "u-desk", "password": PASSWORDS["u-desk"]})
    assert answer.status_code == 400
    assert client.get("/console/tickets").status_code == 302


def test_a_new_password_ends_the_sessions_opened_with_the_old_one(console, database_url):
    client = console.test_client()
    assert sign_in(client, "u-desk").status_code == 302
    assert client.get("/console/tickets").status_code == 200
    runner = CliRunner()
    assert runner.invoke(main, ["user", "set-password", "u-desk"], input="电脑丢了所以换个新密码\n",
                         env={"DATABASE_URL": database_url}).exit_code == 0
    assert client.get("/console/tickets").status_code == 302


def test_signing_out_ends_the_session_and_is_in_the_trail(console):
    client = console.test_client()
    sign_in(client, "u-depot")
    home = client.get("/console/")
    assert home.status_code == 200
    out = client.post("/console/logout", data={"csrf_token": csrf_of(home.text)})
    assert out.status_code == 302
    assert client.get("/console/").status_code == 302
    assert [op for op, *_ in _trail(console.extensions["fieldsync"].engine, "u-depot")] == ["login", "logout"]


@pytest.mark.parametrize("login", ["x" * 10_000, "u-desk\x00", "ｕ-desk", "", "'; DROP TABLE users; --"])
def test_strange_logins_are_refused_plainly(console, login):
    answer = sign_in(console.test_client(), login, "随便什么密码")
    assert answer.status_code in (401, 422)


def test_huge_passwords_are_refused_before_they_are_hashed(console):
    assert sign_in(console.test_client(), "u-desk", "密" * 100_000).status_code == 422
    assert sign_in(console.test_client(), "u-desk", "密" * 1_000_000).status_code == 413  # past the form's limit


def test_after_sign_in_next_leads_only_to_a_console_page(console):
    for wanted, lands in (("/console/tickets?status=late", "/console/tickets?status=late"),
                          ("https://evil.example/console/", "/console/"), ("//evil.example/console/", "/console/"),
                          ("/v1/me", "/console/")):
        client = console.test_client()
        page = client.get("/console/login")
        answer = client.post("/console/login", query_string={"next": wanted},
                             data={"csrf_token": csrf_of(page.text), "login": "u-desk",
                                   "password": PASSWORDS["u-desk"]})
        assert answer.location == lands


@pytest.mark.parametrize(("password", "said"), [
    ("短密码", "10 to 256 characters"), ("  前后有空格的密码很长  ", "no leading or trailing spaces"),
    ("", "no password on stdin"),
])
def test_set_password_says_plainly_what_is_wrong(console, password, said):
    answer = CliRunner().invoke(main, ["user", "set-password", "u-desk"], input=f"{password}\n",
                                env={"DATABASE_URL": console.config["DATABASE_URL"]})
    assert answer.exit_code == 1
    assert said in answer.output
    assert "Traceback" not in answer.output


def test_set_password_for_nobody_says_so(console):
    answer = CliRunner().invoke(main, ["user", "set-password", "u-nobody"], input="一个足够长的密码啊啊\n",
                                env={"DATABASE_URL": console.config["DATABASE_URL"]})
    assert answer.exit_code == 1
    assert "no user u-nobody" in answer.output


def test_trail_entries_read_as_json_field_lists(console):
    sign_in(console.test_client(), "u-desk")
    with console.extensions["fieldsync"].engine.connect() as conn:
        fields = conn.execute(sa.select(audit.c.fields).where(audit.c.entity == "console_session")).scalars().all()
    assert [orjson.loads(f) for f in fields] == [[]]


def test_console_pages_are_never_framed_cached_or_fed_from_elsewhere(console):
    page = console.test_client().get("/console/login")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert page.headers["Cache-Control"] == "no-store"
    assert "/console/static/htmx-2.0.4.min.js" in page.text
    script = console.test_client().get("/console/static/htmx-2.0.4.min.js")
    assert script.status_code == 200 and script.data.startswith(b"var htmx=function()")
    script.close()


def test_guesses_sent_in_parallel_are_each_counted(app_factory, people, clock):
    app = app_factory(CLOCK_MS=lambda: clock[0], CONSOLE_LOGIN_MAX_FAILURES=3)
    give_passwords(app.extensions["fieldsync"].engine)
    clients = [app.test_client() for _ in range(8)]
    pages = [client.get("/console/login") for client in clients]
    start = threading.Barrier(len(clients))

    def guess(index: int) -> int:
        start.wait()
        return clients[index].post("/console/login", data={"csrf_token": csrf_of(pages[index].text),
                                                           "login": "u-desk", "password": f"并发猜测{index}"}).status_code

    with ThreadPoolExecutor(len(clients)) as pool:
        statuses = sorted(pool.map(guess, range(len(clients))))
    assert statuses == [401, 401] + [423] * 6  # the third locks it; the other five meet the lock
