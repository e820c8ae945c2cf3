"""Enrolling an engineer's device from the console: the one-time code, its exchange for a
token, guessing, expiry, revoking a lost phone, and who may do each."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import orjson
import pytest
import segno
import sqlalchemy as sa

from server.enrollment import client_address, hash_code
from server.tables import audit, devices, enrollment_failures, enrollments, users
from sync.client import Replica
from sync.enroll import ALPHABET, enroll, qr_payload, read_code, shown_code
from sync.errors import DeviceRevokedError, EnrollmentCodeUsedError, ValidationError
from sync.transport import HttpTransport
from tests.conftest import auth_header, http_client
from tests.console_pages import PASSWORDS, csrf_of, give_passwords, sign_in, signed_in
from tests.scenario import desk_opens_ticket

MINUTE = 60_000
START = int(datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc).timestamp() * 1000)  # 09:00 in Beijing
PHONE = "192.0.2.10"


@pytest.fixture
def clock():
    return [START]


@pytest.fixture
def console(app, people, clock):
    """The app on the test's clock, telling devices its public address; the engineers
    named in Chinese. (No passwords: each test gives the ones it signs in with, argon2
    takes its time.)"""
    app.extensions["fieldsync"].now_ms = lambda: clock[0]
    app.config["PUBLIC_URL"] = "https://fieldsync.example.cn"
    with app.extensions["fieldsync"].engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == "u-wang").values(name="王建国"))
        conn.execute(users.update().where(users.c.id == "u-chen").values(name="陈师傅"))
    return app


def _signed_in(app, user_id: str):
    give_passwords(app.extensions["fieldsync"].engine, {user_id: PASSWORDS[user_id]})
    return signed_in(app, user_id)


@pytest.fixture
def desk(console):
    return _signed_in(console, "u-desk")


def _issue(client, user: str = "u-wang", name: str = "王建国的新手机", **extra) -> tuple[str, str]:
    """Register a device in the console: the code page's address and the code it shows."""
    form = client.get(f"/console/devices/enroll?user={user}", headers={"Accept-Language": "zh-CN"})
    assert form.status_code == 200
    answer = client.post("/console/devices/enroll", data={"csrf_token": csrf_of(form.text), "user": user,
                                                          "device_name": name, **extra})
    assert answer.status_code == 302, answer.text
    page = client.get(answer.location, headers={"Accept-Language": "zh-CN"})
    return answer.location, re.search(r'id="code"[^>]*>([A-Z0-9-]+)<', page.text).group(1)


def _exchange(app, code: str, address: str = PHONE):
    return app.test_client().post("/v1/devices/enroll", data=orjson.dumps({"code": code}),
                                  content_type="application/json", environ_base={"REMOTE_ADDR": address})


def _new_devices(app) -> list[dict]:
    with app.extensions["fieldsync"].engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(devices.c.id, devices.c.user_id, devices.c.name)
                                              .where(devices.c.id.not_like("d-%"))).mappings()]


def test_desk_registers_a_phone_for_wang_and_it_syncs_his_job_with_the_token_its_code_gave(
        console, desk, people, replica_for, tmp_path):
    desk_phone = replica_for(people["desk"])
    job = desk_opens_ticket(desk_phone, "u-wang", fault_description="冷库压缩机不启动")["ticket"]
    page, code = _issue(desk, name="王建国的新手机")
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code) and not set(code) & set("01OI")
    shown = desk.get(page, headers={"Accept-Language": "zh-CN"}).text
    assert "09:15" in shown  # valid until 09:15 Beijing time: 15 minutes
    assert "王建国" in shown and "<svg" in shown

    enrolled = enroll(http_client(console), code.lower().replace("-", " "))  # typed in any case and spacing
    assert enrolled.device_name == "王建国的新手机"
    assert enrolled.person["id"] == "u-wang" and enrolled.server_url == "https://fieldsync.example.cn"
    phone = Replica(tmp_path / "wang-new.replica", enrolled.device_id,
                    HttpTransport(http_client(console), enrolled.token, sleep=lambda _s: None))
    try:
        assert phone.transport.me()["device"] == {"id": enrolled.device_id, "name": "王建国的新手机"}
        phone.sync()
        assert phone.get("ticket", job)["fault_description"] == "冷库压缩机不启动"
        phone.update("ticket", job, status="accepted")
        phone.sync()
    finally:
        phone.close()
    state = desk.get(page, headers={"HX-Request": "true", "Accept-Language": "zh-CN"})
    assert 'id="enrolled"' in state.text and "<svg" not in state.text  # the page sees the phone take it
    listed = desk.get("/console/devices", headers={"Accept-Language": "zh-CN"}).text
    row = re.search(rf'<tr data-device="{enrolled.device_id}">.*?</tr>', listed, re.S).group(0)
    assert "王建国的新手机" in row and "从未" not in row and "使用中" in row


def test_the_code_is_kept_only_as_its_hash_and_shown_only_to_who_asked_for_it(console, desk):
    page, code = _issue(desk)
    with console.extensions["fieldsync"].engine.connect() as conn:
        stored = conn.execute(sa.select(enrollments)).mappings().one()
    assert stored["code_hash"] == hash_code(code.replace("-", "")) and code not in str(dict(stored))
    other = _signed_in(console, "u-manager").get(page, headers={"Accept-Language": "zh-CN"}).text
    assert code not in other and "<svg" not in other and "只显示给" in other


def test_a_code_makes_one_device_and_the_second_exchange_is_told_it_was_used(console, desk):
    _page, code = _issue(desk)
    first = _exchange(console, code)
    assert first.status_code == 201 and first.headers["Cache-Control"] == "no-store"
    again = _exchange(console, code, "198.51.100.7")
    assert (again.status_code, again.json["code"]) == (409, "enrollment_code_used")
    assert "token" not in again.json
    assert len(_new_devices(console)) == 1


class _Interleave:
    """Two exchanges of one code, the first paused after it spent the code (not yet
    committed) until the second, started then, is about to write (SQLite: its first write; PostgreSQL: its own claim, which
    then waits for the first's row lock)."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.first_spent = threading.Event()
        self.second_writes = threading.Event()
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def close(self):
        sa.event.remove(self.engine, "before_cursor_execute", self._before)
        sa.event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, *args):
        if threading.current_thread().name != "second":
            return
        collides = "UPDATE enrollments SET used_at" if conn.dialect.name == "postgresql" else "INSERT"
        if statement.startswith(collides):
            self.second_writes.set()

    def _after(self, conn, cursor, statement, *args):
        if threading.current_thread().name == "first" and statement.startswith("UPDATE enrollments SET used_at"):
            self.first_spent.set()
            assert self.second_writes.wait(30), "the second exchange never reached the database"


def test_two_exchanges_of_one_code_at_once_make_one_device_and_one_refusal(console, desk):
    _page, code = _issue(desk)
    interleave = _Interleave(console.extensions["fieldsync"].engine)
    answers = {}

    def run(name: str, address: str):
        answers[name] = _exchange(console, code, address)

    try:
        threads = [threading.Thread(target=run, name=name, args=(name, address))
                   for name, address in (("first", "192.0.2.1"), ("second", "192.0.2.2"))]
        threads[0].start()
        assert interleave.first_spent.wait(30)
        threads[1].start()
        for thread in threads:
            thread.join()
    finally:
        interleave.close()
    assert interleave.second_writes.is_set()
    assert (answers["first"].status_code, answers["second"].status_code) == (201, 409)
    assert answers["second"].json["code"] == "enrollment_code_used"
    assert [d["id"] for d in _new_devices(console)] == [answers["first"].json["device"]["id"]]


def test_a_burst_of_exchanges_of_one_code_makes_one_device(console, desk):
    _page, code = _issue(desk)
    start = threading.Barrier(8)

    def attempt(index: int) -> int:
        start.wait()
        return _exchange(console, code, f"192.0.2.{index + 20}").status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(attempt, range(8)))
    assert statuses == [201] + [409] * 7
    assert len(_new_devices(console)) == 1


def test_a_code_lasts_fifteen_minutes_by_the_server_clock(console, desk, clock):
    codes = [_issue(desk, name=f"王建国的手机{n}")[1] for n in range(3)]
    clock[0] += 15 * MINUTE - 1
    assert _exchange(console, codes[0]).status_code == 201
    clock[0] += 1
    late = _exchange(console, codes[1])
    assert (late.status_code, late.json["code"]) == (410, "enrollment_code_expired")
    clock[0] += 3 * 60 * MINUTE
    assert _exchange(console, codes[2]).json["code"] == "enrollment_code_expired"
    assert [d["name"] for d in _new_devices(console)] == ["王建国的手机0"]


def test_an_expired_code_page_says_so_and_offers_a_new_one(console, desk, clock):
    page, _code = _issue(desk)
    clock[0] += 16 * MINUTE
    shown = desk.get(page, headers={"Accept-Language": "zh-CN"}).text
    assert 'id="expired"' in shown and "<svg" not in shown and "09:15" in shown


def test_how_long_a_code_lasts_is_configuration(console, clock):
    console.config["ENROLLMENT_TTL_SECONDS"] = 120  # as FIELDSYNC_ENROLLMENT_TTL_SECONDS=120 sets it
    _page, code = _issue(_signed_in(console, "u-manager"))
    clock[0] += 2 * MINUTE
    assert _exchange(console, code).json["code"] == "enrollment_code_expired"


#: what is sent, and the refusal it gets
REFUSALS = [
    ({"code": "ABCD-EFGH-JKLM"}, 404, "enrollment_code_unknown"),
    ({"code": "ABCD-EFGH-JKL"}, 422, "invalid"),
    ({"code": "ABCD-EFGH-JKL0"}, 422, "invalid"),  # 0 is never in a code
    ({"code": "王建国的手机号码是多少"}, 422, "invalid"),
    ({"code": "A" * 10_000}, 422, "invalid"),
    ({"code": 123456789012}, 422, "invalid"),
    ({}, 422, "invalid"),
    ([], 422, "invalid"),
    (None, 422, "invalid"),
]


def test_what_is_not_a_waiting_code_gets_a_stable_json_refusal(console):
    """One app for the whole table: each case is one request."""
    client = console.test_client()
    answers = [client.post("/v1/devices/enroll", data=orjson.dumps(sent), content_type="application/json")
               for sent, _status, _code in REFUSALS]
    assert [(a.status_code, a.json["code"]) for a in answers] == [(status, code) for _s, status, code in REFUSALS]
    raw = client.post("/v1/devices/enroll", data=b"\xff\xfe", content_type="application/json")
    assert (raw.status_code, raw.json["code"]) == (422, "invalid")


def test_ten_wrong_codes_lock_the_address_even_against_the_right_code_until_the_lock_ends(console, desk, clock):
    _page, code = _issue(desk)
    wrong = "".join(reversed(code))
    for attempt in range(9):
        assert _exchange(console, wrong.replace(wrong[0], ALPHABET[attempt], 1)).status_code in (404, 409, 410)
    assert _exchange(console, "2222-3333-4444").json["code"] == "enrollment_code_unknown"  # the tenth locks
    locked = _exchange(console, code)
    assert (locked.status_code, locked.json["code"]) == (429, "rate_limited")
    assert locked.headers["Retry-After"] == "900"
    assert _exchange(console, code, "[2001:db8:1:2::99]".strip("[]")).status_code == 201  # not another address
    assert _new_devices(console)[0]["name"] == "王建国的新手机"


def test_the_lock_ends_and_wrong_codes_spread_over_more_than_the_window_never_lock(console, desk, clock):
    _page, code = _issue(desk)
    for _ in range(10):
        _exchange(console, "2222-3333-4444")
    clock[0] += 15 * MINUTE
    for _ in range(12):  # one every two minutes: never ten in any quarter hour from the first
        clock[0] += 2 * MINUTE
        _exchange(console, "2222-3333-5555")
    fresh_page, fresh = _issue(desk)
    assert _exchange(console, fresh).status_code == 201


def test_guesses_sent_in_parallel_from_one_address_are_each_counted(console):
    console.config["ENROLLMENT_MAX_FAILURES"] = 3
    app = console
    start = threading.Barrier(8)

    def guess(index: int) -> int:
        start.wait()
        return _exchange(app, f"2222-3333-{ALPHABET[index] * 4}").status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(guess, range(8)))
    assert statuses == [404, 404, 404] + [429] * 5  # the third locks; the other five meet the lock


def test_an_ipv6_subscriber_is_counted_by_its_64_and_an_ipv4_by_its_address():
    assert client_address("2001:db8:1:2::99") == client_address("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert client_address("2001:db8:1:3::99") != client_address("2001:db8:1:2::99")
    assert client_address("::ffff:192.0.2.10") == client_address("192.0.2.10") == "192.0.2.10"


def test_revoking_a_lost_phone_in_the_console_refuses_it_at_its_next_request(console, desk, people, replica_for):
    wang = replica_for(people["wang"])
    wang.sync()
    confirm = desk.get(f"/console/devices/{people['wang'].device_id}/revoke", headers={"Accept-Language": "zh-CN"})
    assert confirm.status_code == 200 and "王建国" in confirm.text and 'id="revoke"' in confirm.text
    with console.extensions["fieldsync"].engine.connect() as conn:  # asking is not revoking
        assert conn.execute(sa.select(devices.c.revoked_at).where(devices.c.id == "d-wang")).scalar() is None
    done = desk.post(f"/console/devices/{people['wang'].device_id}/revoke",
                     data={"csrf_token": csrf_of(confirm.text)}, headers={"Accept-Language": "zh-CN"},
                     follow_redirects=True)
    assert done.status_code == 200 and "已停用" in done.text
    answer = console.test_client().get("/v1/me", headers=auth_header(people["wang"]))
    assert (answer.status_code, answer.json["code"]) == (401, "device_revoked")
    with pytest.raises(DeviceRevokedError):
        wang.sync()
    assert 'href="/console/devices/d-wang/revoke"' not in desk.get("/console/devices").text


def test_the_console_revokes_only_engineers_devices(console, desk, people):
    assert desk.get(f"/console/devices/{people['manager'].device_id}/revoke").status_code == 404
    assert desk.get("/console/devices/no-such-device/revoke").status_code == 404


def test_issuing_exchanging_and_revoking_are_in_the_trail(console, desk, people):
    _page, code = _issue(desk)
    _exchange(console, "2222-3333-4444")
    made = _exchange(console, code).json["device"]["id"]
    confirm = desk.get(f"/console/devices/{made}/revoke")
    desk.post(f"/console/devices/{made}/revoke", data={"csrf_token": csrf_of(confirm.text)})
    with console.extensions["fieldsync"].engine.connect() as conn:
        trail = [tuple(r) for r in conn.execute(
            sa.select(audit.c.entity, audit.c.op, audit.c.user_id, audit.c.device_id, audit.c.status, audit.c.code)
            .where(audit.c.entity.in_(["enrollment", "device"])).order_by(audit.c.id))]
    assert trail == [
        ("enrollment", "issue", "u-desk", "console-u-desk", "applied", None),
        ("enrollment", "exchange", "-", f"enroll-{PHONE}", "rejected", "enrollment_code_unknown"),
        ("enrollment", "exchange", "u-wang", made, "applied", None),
        ("device", "revoke", "u-desk", "console-u-desk", "applied", None),
    ]


def test_an_engineer_cannot_open_the_devices_pages_even_with_his_token(console, people):
    client = console.test_client()
    assert sign_in(client, "u-wang", "王师傅想进后台看看").status_code == 401
    for path in ("/console/devices", "/console/devices/enroll", "/console/devices/d-chen/revoke"):
        answer = client.get(path, headers=auth_header(people["wang"]))
        assert answer.status_code == 302 and answer.location.startswith("/console/login")


def test_a_depot_keeper_can_neither_list_devices_nor_get_a_code_nor_revoke(console, people):
    depot = _signed_in(console, "u-depot")
    home = depot.get("/console/", headers={"Accept-Language": "zh-CN"})
    for path in ("/console/devices", "/console/devices/enroll", "/console/devices/d-wang/revoke"):
        assert depot.get(path).status_code == 403
    token = csrf_of(home.text)
    assert depot.post("/console/devices/enroll", data={"csrf_token": token, "user": "u-wang",
                                                       "device_name": "仓库代领的手机"}).status_code == 403
    assert depot.post("/console/devices/d-wang/revoke", data={"csrf_token": token}).status_code == 403
    with console.extensions["fieldsync"].engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(enrollments)).scalar() == 0
        assert conn.execute(sa.select(devices.c.revoked_at).where(devices.c.id == "d-wang")).scalar() is None


def test_the_enroll_and_revoke_forms_without_their_csrf_token_are_refused(console, desk):
    assert desk.post("/console/devices/enroll", data={"user": "u-wang", "device_name": "无令牌"}).status_code == 400
    assert desk.post("/console/devices/d-wang/revoke").status_code == 400
    assert desk.post("/console/devices/d-wang/revoke", data={"csrf_token": "forged"}).status_code == 400
    with console.extensions["fieldsync"].engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(enrollments)).scalar() == 0
        assert conn.execute(sa.select(devices.c.revoked_at).where(devices.c.id == "d-wang")).scalar() is None


def test_a_code_for_no_engineer_or_a_bad_device_name_is_refused_plainly(console, desk):
    for user, name, field in (("u-desk", "前台的手机", "user"), ("u-nobody", "手机", "user"),
                              ("u-wang", "   ", "device_name"), ("u-wang", "第一行\n第二行", "device_name"),
                              ("u-wang", "机" * 201, "device_name")):
        form = desk.get("/console/devices/enroll", headers={"Accept-Language": "zh-CN"})
        answer = desk.post("/console/devices/enroll", data={"csrf_token": csrf_of(form.text), "user": user,
                                                            "device_name": name}, headers={"Accept-Language": "zh-CN"})
        assert answer.status_code == 422, (user, name)
        said = re.search(rf'name="{field}".*?class="errors">([^<]+)<', answer.text, re.S)
        assert said, (user, name, field)
    with console.extensions["fieldsync"].engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(enrollments)).scalar() == 0


def test_the_qr_code_is_segnos_for_the_code_and_the_server_address(console, desk):
    page, code = _issue(desk)
    shown = desk.get(page).text
    payload = qr_payload(code.replace("-", ""), "https://fieldsync.example.cn")
    assert segno.make(payload, error="m").svg_inline(scale=6, border=4) in shown
    assert read_code(payload) == ("https://fieldsync.example.cn", code.replace("-", ""))


def test_the_devices_page_shows_each_phones_clock_and_last_sync_and_waiting_codes(console, desk, people,
                                                                                  replica_for):
    chen = replica_for(people["chen"])
    chen.insert("work_log", ticket_id="t-none", engineer_id="u-chen", event="arrived")
    chen.sync()
    _issue(desk, user="u-wang", name="王建国的备用机")
    listed = desk.get("/console/devices", headers={"Accept-Language": "zh-CN"}).text
    chen_row = re.search(r'<tr data-device="d-chen">.*?</tr>', listed, re.S).group(0)
    assert "从未" not in chen_row and "未测量" not in chen_row  # it pushed: its clock was measured
    wang_rows = re.search(r'<tbody data-engineer="u-wang">.*?</tbody>', listed, re.S).group(0)
    assert "王建国的备用机" in wang_rows and "09:15" in wang_rows  # the code waiting until 09:15
    assert "从未" in re.search(r'<tr data-device="d-wang">.*?</tr>', wang_rows, re.S).group(0)


@pytest.mark.parametrize(("scanned", "read"), [
    ("abcd efgh jkLM", (None, "ABCDEFGHJKLM")),
    ("ABCD-EFGH-JKLM", (None, "ABCDEFGHJKLM")),
    ("fieldsync:enroll?code=ABCD-EFGH-JKLM&server=https%3A%2F%2Ffs.example.cn%3A8443",
     ("https://fs.example.cn:8443", "ABCDEFGHJKLM")),
])
def test_a_device_reads_a_typed_code_or_a_scanned_qr_code(scanned, read):
    assert read_code(scanned) == read
    assert shown_code(read[1]) == "ABCD-EFGH-JKLM"


@pytest.mark.parametrize("scanned", ["ABCD-EFGH-JKL1", "fieldsync:enroll?server=x", "", "ＡＢＣＤ-EFGH-JKLM"])
def test_what_is_not_a_code_is_refused_on_the_device_before_it_is_sent(scanned):
    with pytest.raises(ValidationError):
        read_code(scanned)


def test_the_device_is_told_plainly_when_its_code_was_used(console, desk):
    _page, code = _issue(desk)
    enroll(http_client(console), code)
    with pytest.raises(EnrollmentCodeUsedError):
        enroll(http_client(console), code)


def test_a_failing_address_row_is_forgotten_once_its_window_is_over(console, desk, clock):
    _exchange(console, "2222-3333-4444", "192.0.2.50")
    clock[0] += 16 * MINUTE
    _exchange(console, "2222-3333-4444", "192.0.2.51")
    with console.extensions["fieldsync"].engine.connect() as conn:
        assert conn.execute(sa.select(enrollment_failures.c.address)).scalars().all() == ["192.0.2.51"]


def test_codes_asked_for_in_two_tabs_are_each_shown_on_their_own_page(console, desk):
    first_page, first = _issue(desk, name="王建国的手机")
    second_page, second = _issue(desk, user="u-chen", name="陈师傅的平板")
    assert first in desk.get(first_page).text and second not in desk.get(first_page).text
    assert second in desk.get(second_page).text
    _exchange(console, first)
    assert first not in desk.get(first_page).text and second in desk.get(second_page).text
