"""The desk's ticket board: late first, countdowns, filters in SQL, and a page of 10,000."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from tests.console_pages import give_passwords, plant_tickets, signed_in

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing


def _at(**delta) -> str:
    return (NOW + timedelta(**delta)).isoformat(timespec="microseconds")


@pytest.fixture
def console(app_factory, people):
    app = app_factory(CLOCK_MS=lambda: int(NOW.timestamp() * 1000))
    give_passwords(app.extensions["fieldsync"].engine)
    return app


@pytest.fixture
def desk(console):
    return signed_in(console, "u-desk")


def _order(html: str) -> list[str]:
    return re.findall(r'<tr data-ticket="([^"]+)">', html)


@pytest.fixture
def haidian_morning(console):
    """Five tickets around Beijing at ten in the morning, one of each situation."""
    plant_tickets(console.extensions["fieldsync"].engine, customers=[
        {"id": "c-huaxin", "name": "华信印刷厂", "address": "北京市海淀区中关村大街1号", "zone": "ring2"},
        {"id": "c-bei", "name": "北方机械", "address": "北京市朝阳区建国路88号", "zone": "ring3"},
    ], tickets=[
        {"id": "t-ontime", "number": "T2612-00001", "customer_id": "c-huaxin", "status": "dispatched",
         "assignee_id": "u-wang", "zone": "ring2", "fault_description": "复印机卡纸", "deadline": _at(hours=2, minutes=5),
         "sla_state": "on_time"},
        {"id": "t-risk", "number": "T2612-00002", "customer_id": "c-bei", "status": "reported", "zone": "ring3",
         "fault_description": "空压机异响", "deadline": _at(minutes=30), "sla_state": "at_risk"},
        # stored on time, its deadline passed 45 minutes ago: evaluate-sla has not run yet
        {"id": "t-stale", "number": "T2612-00003", "customer_id": "c-bei", "status": "accepted", "assignee_id": "u-chen",
         "zone": "ring3", "fault_description": "发电机无法启动", "deadline": _at(minutes=-45), "sla_state": "on_time"},
        {"id": "t-late", "number": "T2612-00004", "customer_id": "c-huaxin", "status": "dispatched",
         "assignee_id": "u-wang", "zone": "ring2", "fault_description": "打印模糊", "deadline": _at(days=-1, hours=-2),
         "sla_state": "late", "urgency": "emergency"},
        {"id": "t-done", "number": "T2612-00005", "customer_id": "c-huaxin", "status": "completed", "zone": "ring2",
         "fault_description": "已修好", "deadline": _at(hours=-5), "sla_state": "met"},
    ])


def test_late_tickets_come_first_with_their_countdown_in_chinese(desk, haidian_morning):
    board = desk.get("/console/tickets", headers={"Accept-Language": "zh-CN"})
    assert board.status_code == 200
    assert _order(board.text) == ["t-late", "t-stale", "t-risk", "t-ontime"]  # the completed one is not open
    assert "超时 1天 2小时0分" in board.text  # a day and two hours late
    assert "超时 0小时45分" in board.text  # late now, whatever its stored state says
    assert "剩余 0小时30分" in board.text and "剩余 2小时5分" in board.text
    assert "共 4 张工单" in board.text and "华信印刷厂" in board.text and "王师傅" not in board.text


def test_filters_narrow_the_board_in_the_database(desk, haidian_morning):
    def shown(**query):
        answer = desk.get("/console/tickets", query_string=query)
        assert answer.status_code == 200
        return _order(answer.text)

    assert shown(zone="ring3") == ["t-stale", "t-risk"]
    assert shown(assignee="none") == ["t-risk"]
    assert shown(assignee="u-wang") == ["t-late", "t-ontime"]
    assert shown(status="completed") == ["t-done"]
    assert shown(status="all") == ["t-late", "t-stale", "t-risk", "t-ontime", "t-done"]
    assert shown(q="海淀") == ["t-late", "t-ontime"]  # the customer's address
    assert shown(q="空压机") == ["t-risk"]  # the fault
    assert shown(q="00003") == ["t-stale"]  # the number
    assert shown(q="%") == [] and shown(q="_") == []  # searched as the characters they are
    assert shown(q="海淀", zone="ring3") == []


def test_an_htmx_refresh_answers_the_rows_alone(desk, haidian_morning):
    rows = desk.get("/console/tickets?zone=ring2", headers={"HX-Request": "true"})
    assert rows.status_code == 200
    assert "<html" not in rows.text and _order(rows.text) == ["t-late", "t-ontime"]


@pytest.mark.parametrize(("query", "said"), [
    ({"q": "故" * 101}, "q is at most 100 characters"),
    ({"q": "卡纸\x00"}, "cannot be searched for"),
    ({"zone": "区" * 5000}, "zone is at most 50 characters"),
    ({"page": "５"}, "page is a whole number"),
    ({"page": "0"}, "page is a whole number"),
    ({"page": "9" * 40}, "page is a whole number"),
    ({"status": "丢失"}, "status is one of"),
    ({"assignee": "u" * 65}, "assignee is at most 64 characters"),
])
def test_strange_filters_get_a_plain_message_never_a_failure(desk, haidian_morning, query, said):
    answer = desk.get("/console/tickets", query_string=query)
    assert answer.status_code == 422
    assert said in answer.text and _order(answer.text) == []


def test_empty_filters_are_the_default_board(desk, haidian_morning):
    answer = desk.get("/console/tickets?status=&zone=&assignee=&q=&page=")
    assert answer.status_code == 200 and len(_order(answer.text)) == 4


def test_a_page_past_the_last_is_empty_not_an_error(desk, haidian_morning):
    answer = desk.get("/console/tickets?page=99999")
    assert answer.status_code == 200 and _order(answer.text) == []


def test_ten_thousand_open_tickets_render_one_limited_page(console, desk):
    zones = ["ring1", "ring2", "ring3", "nearby"]
    plant_tickets(console.extensions["fieldsync"].engine, customers=[
        {"id": "c-big", "name": "首钢设备部", "address": "北京市石景山区", "zone": "ring3"}],
        tickets=[{"id": f"t{i:05d}", "number": f"T2612-{i:05d}", "customer_id": "c-big", "status": "reported",
                  "zone": zones[i % 4], "fault_description": f"第{i}号设备漏油", "deadline": _at(minutes=i - 5000),
                  "sla_state": "on_time"} for i in range(10_000)])
    statements = []

    def seen(_conn, _cursor, statement, _parameters, _context, _many):
        statements.append(statement)

    engine = console.extensions["fieldsync"].engine
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        page = desk.get("/console/tickets?page=2", headers={"Accept-Language": "zh-CN"})
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert page.status_code == 200
    # the 5,000 whose deadline passed come first, soonest deadline (most late) first
    assert _order(page.text) == [f"t{i:05d}" for i in range(50, 100)]
    assert "共 10000 张工单" in page.text and "第 2 页，共 200 页" in page.text
    listings = [s for s in statements if "FROM ticket" in s and "ORDER BY" in s]
    assert [s for s in listings if "ticket.deadline" in s] != []  # the board's own read is among them
    assert all("LIMIT" in s for s in listings)  # no read of the ticket table brings every row
    searched = desk.get("/console/tickets", query_string={"q": "第9999号"})
    assert _order(searched.text) == ["t09999"]


def test_running_clocks_by_deadline_come_before_tickets_without_a_deadline_or_a_running_clock(console, desk):
    plant_tickets(console.extensions["fieldsync"].engine, customers=[
        {"id": "c-yy", "name": "朝阳医院", "address": "北京市朝阳区工人体育场南路8号", "zone": "ring2"}], tickets=[
        {"id": "t-nothing", "number": "T2612-00106", "customer_id": "c-yy", "status": "reported", "zone": "ring2"},
        {"id": "t-no-clock", "number": "T2612-00104", "customer_id": "c-yy", "status": "reported", "zone": "ring2",
         "deadline": _at(hours=-3)},
        {"id": "t-missed", "number": "T2612-00105", "customer_id": "c-yy", "status": "on_site", "zone": "ring2",
         "deadline": _at(hours=-10), "sla_state": "missed"},
        {"id": "t-undated", "number": "T2612-00103", "customer_id": "c-yy", "status": "dispatched", "zone": "ring2",
         "sla_state": "on_time"},
        {"id": "t-soon", "number": "T2612-00102", "customer_id": "c-yy", "status": "dispatched", "zone": "ring2",
         "deadline": _at(hours=1), "sla_state": "at_risk"},
        {"id": "t-overdue", "number": "T2612-00101", "customer_id": "c-yy", "status": "accepted", "zone": "ring2",
         "deadline": _at(hours=-2), "sla_state": "on_time"},
    ])
    board = desk.get("/console/tickets", headers={"Accept-Language": "zh-CN"})
    # late (by its deadline, not its stored state), then running, then the running clock with no deadline;
    # then the clocks that ended or never ran, by deadline, the undated last
    assert _order(board.text) == ["t-overdue", "t-soon", "t-undated", "t-missed", "t-no-clock", "t-nothing"]
    assert "超时 2小时0分" in board.text and "剩余 1小时0分" in board.text and "未按时到达" in board.text


def test_a_search_in_latin_letters_ignores_case_and_a_chinese_one_finds_its_words(desk, console):
    plant_tickets(console.extensions["fieldsync"].engine, customers=[
        {"id": "c-hx", "name": "Huaxin Printing 华信印刷", "address": "北京市海淀区中关村大街1号", "zone": "ring2"}], tickets=[
        {"id": "t-hx", "number": "T2612-00201", "customer_id": "c-hx", "status": "reported", "zone": "ring2",
         "fault_description": "Canon 复印机卡纸", "deadline": _at(hours=2), "sla_state": "on_time"},
        {"id": "t-other", "number": "T2612-00202", "customer_id": None, "status": "reported", "zone": "ring3",
         "fault_description": "空压机异响", "deadline": _at(hours=3), "sla_state": "on_time"},
    ])

    def shown(text):
        answer = desk.get("/console/tickets", query_string={"q": text})
        assert answer.status_code == 200
        return _order(answer.text)

    for text in ("huaxin", "HUAXIN", "canon 复印机", "t2612-00201", "T2612-00201"):
        assert shown(text) == ["t-hx"], text
    assert shown("华信印刷") == ["t-hx"] and shown("异响") == ["t-other"] and shown("2612-002") == ["t-hx", "t-other"]


def test_the_zone_choices_leave_out_zones_only_deleted_tickets_name(desk, console):
    plant_tickets(console.extensions["fieldsync"].engine, tickets=[
        {"id": "t-live", "number": "T2612-00301", "status": "reported", "zone": "ring2", "deleted": False},
        {"id": "t-gone", "number": "T2612-00302", "status": "reported", "zone": "远郊", "deleted": True},
    ])
    board = desk.get("/console/tickets")
    assert '<option value="ring2"' in board.text and "远郊" not in board.text
