"""The technician daily report (004 §15), figure by figure against hand-computed values:
hours by category to whoever did the work, tickets worked, parts used, services that count
only with a current signature, and days whose records reached the server late."""

from __future__ import annotations

import pytest

from tests.conftest import Timeline
from tests.reports_world import at, bj, customer_signs, finish, log_work, open_ticket, read_csv, report, rows, \
    set_clock


@pytest.fixture
def world(app_factory, replica_for) -> Timeline:
    """Beijing, Monday 23 November 2026, eight in the morning."""
    made = Timeline(replica_for, at("2026-11-23 08:00"))
    made.app = app_factory(CLOCK_MS=lambda: made.now)
    return made


def by_day(found: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["day"], r["engineer_id"]): r for r in found}


def parts_and_van(desk):
    fuse = desk.insert("part", code="FUS-10", name="保险丝 10A", unit="个", returnable=False, price=2.0)
    van = desk.insert("stock_location", kind="van", name="王伟的服务车", depot_id="depot-main", engineer_id="u-wang")
    desk.sync()
    return fuse, van


def test_wangs_monday_hours_parts_and_signed_job_and_a_job_chen_took_over_count_to_whoever_did_the_work(
        world, people):
    desk, wang, chen = (world.device(people[name]) for name in ("desk", "wang", "chen"))
    fuse, van = parts_and_van(desk)
    printer = open_ticket(desk, people["wang"], category="A")["ticket"]
    chiller = open_ticket(desk, people["wang"], category="B", customer="上海浦东某医院")["ticket"]
    wang.sync()
    # Monday: 王伟 repairs the printer (paid, 2.5 h, two fuses), the customer signs;
    # he starts on the hospital's chiller (contract, 1.5 h); an hour of depot work (D)
    set_clock(world, "2026-11-23 12:00")
    log_work(wang, people["wang"], printer, "2026-11-23 11:00", "A", 2.5)
    wang.insert("stock_movement", kind="consume", part_id=fuse, qty=2.0, condition="new", from_location_id=van,
                ticket_id=printer, held_by="u-wang", occurred_at=bj("2026-11-23 10:30"))
    finish(wang, printer, arrived="2026-11-23 09:40", completed="2026-11-23 11:05")
    customer_signs(wang, printer, "2026-11-23 11:10")
    log_work(wang, people["wang"], chiller, "2026-11-23 15:00", "B", 1.5, note="冷水机组压缩机检查")
    log_work(wang, people["wang"], None, "2026-11-23 17:00", "D", 1.0, note="备件库盘点")
    set_clock(world, "2026-11-23 20:00")
    wang.sync()
    # Tuesday the desk hands the chiller to 陈静, who finishes it (2 h) and gets it signed
    set_clock(world, "2026-11-24 08:30")
    desk.sync()
    desk.update("ticket", chiller, assignee_id="u-chen")
    desk.sync()
    chen.sync()
    set_clock(world, "2026-11-24 12:00")
    log_work(chen, people["chen"], chiller, "2026-11-24 11:00", "B", 2.0, note="更换压缩机继电器")
    finish(chen, chiller, arrived="2026-11-24 09:30", completed="2026-11-24 11:20")
    customer_signs(chen, chiller, "2026-11-24 11:25", signer="张主任")
    chen.sync()

    found = by_day(rows(world, people["manager"], "daily", **{"from": "2026-11-23", "to": "2026-11-24"}))
    assert set(found) == {("2026-11-23", "u-wang"), ("2026-11-24", "u-chen")}
    monday = found[("2026-11-23", "u-wang")]
    assert (monday["hours_a"], monday["hours_b"], monday["hours_c"], monday["hours_d"], monday["hours_total"]) == (
        2.5, 1.5, 0.0, 1.0, 5.0)
    assert (monday["tickets_worked"], monday["parts_used"], monday["consumptions"], monday["signed_services"]) == (
        2, 2.0, 1, 1)
    assert (monday["records"], monday["late_records"], monday["late"]) == (4, 0, False)
    assert monday["engineer_name"] == "wang"
    tuesday = found[("2026-11-24", "u-chen")]
    assert (tuesday["hours_b"], tuesday["hours_total"], tuesday["tickets_worked"], tuesday["signed_services"]) == (
        2.0, 2.0, 1, 1)  # the chiller's Monday hours stay 王伟's; its signed service is 陈静's, who completed it

    only_chen = rows(world, people["desk"], "daily", **{"from": "2026-11-23", "to": "2026-11-24", "engineer": "u-chen"})
    assert [(r["day"], r["engineer_id"]) for r in only_chen] == [("2026-11-24", "u-chen")]
    of_depot = rows(world, people["desk"], "daily", **{"from": "2026-11-23", "to": "2026-11-24",
                                                        "depot": "depot-main"})
    assert [(r["day"], r["engineer_id"]) for r in of_depot] == [("2026-11-23", "u-wang")]  # 王伟's van is the depot's


def test_afternoon_chen_logged_offline_and_synced_two_days_later_changes_wednesdays_row_and_makes_it_late(
        world, people):
    desk, chen = world.device(people["desk"]), world.device(people["chen"])
    boiler = open_ticket(desk, people["chen"], category="C", customer="北京朝阳某小学")["ticket"]
    chen.sync()
    set_clock(world, "2026-11-25 12:00")
    log_work(chen, people["chen"], boiler, "2026-11-25 11:00", "C", 1.0, note="锅炉点火器检查")
    chen.sync()
    wednesday = {"from": "2026-11-25", "to": "2026-11-25"}
    [before] = rows(world, people["manager"], "daily", **wednesday)
    assert (before["hours_c"], before["records"], before["late"]) == (1.0, 1, False)

    # the afternoon in the mountains: no signal until Friday morning
    set_clock(world, "2026-11-25 16:00")
    log_work(chen, people["chen"], boiler, "2026-11-25 15:00", "C", 3.0, note="更换点火器")
    set_clock(world, "2026-11-27 10:00")  # past Wednesday's end (Thursday 00:00) plus 24 hours
    chen.sync()
    [after] = rows(world, people["manager"], "daily", **wednesday)
    assert (after["hours_c"], after["hours_total"], after["records"], after["late_records"], after["late"]) == (
        4.0, 4.0, 2, 1, True)
    assert after["last_received_at"] == "2026-11-27T02:00:00+00:00"


def test_a_deployment_that_allows_three_days_does_not_call_friday_morning_late(app_factory, replica_for, people):
    world = Timeline(replica_for, at("2026-11-25 08:00"))
    world.app = app_factory(CLOCK_MS=lambda: world.now, DOMAIN={"reports": {"late_after_hours": 72}})
    desk, chen = world.device(people["desk"]), world.device(people["chen"])
    boiler = open_ticket(desk, people["chen"], category="C")["ticket"]
    log_work(chen, people["chen"], boiler, "2026-11-25 15:00", "C", 3.0)
    set_clock(world, "2026-11-27 10:00")
    chen.sync()
    [row] = rows(world, people["manager"], "daily", **{"from": "2026-11-25", "to": "2026-11-25"})
    assert (row["late_records"], row["late"]) == (0, False)


def test_a_report_changed_after_the_customer_signed_no_longer_counts_as_a_signed_service(world, people):
    desk, wang = world.device(people["desk"]), world.device(people["wang"])
    printer = open_ticket(desk, people["wang"], category="A")["ticket"]
    wang.sync()
    set_clock(world, "2026-11-23 12:00")
    log_work(wang, people["wang"], printer, "2026-11-23 11:00", "A", 2.0)
    finish(wang, printer, arrived="2026-11-23 09:40", completed="2026-11-23 11:05")
    customer_signs(wang, printer, "2026-11-23 11:10")
    wang.update("ticket", printer, status="signed")
    wang.sync()
    monday = {"from": "2026-11-23", "to": "2026-11-23"}
    assert rows(world, people["manager"], "daily", **monday)[0]["signed_services"] == 1

    set_clock(world, "2026-11-23 15:00")
    wang.update("ticket", printer, result="试机正常，建议三个月后复查")  # changed after the customer signed
    wang.sync()
    [row] = rows(world, people["manager"], "daily", **monday)
    assert (row["signed_services"], row["hours_a"]) == (0, 2.0)  # the hours stand; the service does not count

    customer_signs(wang, printer, "2026-11-23 15:10")  # 刘经理 signs the report as it now stands
    wang.sync()
    assert rows(world, people["manager"], "daily", **monday)[0]["signed_services"] == 1


def test_the_daily_report_as_csv_has_chinese_titles_and_pages_by_cursor(world, people):
    desk, wang, chen = (world.device(people[name]) for name in ("desk", "wang", "chen"))
    job = open_ticket(desk, people["wang"])["ticket"]
    other = open_ticket(desk, people["chen"], customer="北京朝阳某小学")["ticket"]
    wang.sync()
    chen.sync()
    set_clock(world, "2026-11-24 20:00")
    for day in ("2026-11-23", "2026-11-24"):
        log_work(wang, people["wang"], job, f"{day} 10:00", "A", 1.0, note="=换皮带")
        log_work(chen, people["chen"], other, f"{day} 10:00", "B", 2.0)
    wang.sync()
    chen.sync()
    week = {"from": "2026-11-23", "to": "2026-11-24"}

    answer = report(world, people["desk"], "daily", format="csv", **week)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    table = read_csv(answer.data)
    assert table[0][:4] == ["日期", "工程师编号", "工程师", "A类有费服务工时"] and table[0][-1] == "迟报"
    assert [line[:3] for line in table[1:]] == [["2026-11-23", "u-chen", "chen"], ["2026-11-23", "u-wang", "wang"],
                                                ["2026-11-24", "u-chen", "chen"], ["2026-11-24", "u-wang", "wang"]]
    assert table[1][4] == "2" and table[1][-1] == "0"

    seen, cursor = [], None
    while True:
        params = dict(week, limit=3) | ({"cursor": cursor} if cursor else {})
        page = report(world, people["desk"], "daily", **params).json
        seen += [(r["day"], r["engineer_id"]) for r in page["rows"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [("2026-11-23", "u-chen"), ("2026-11-23", "u-wang"), ("2026-11-24", "u-chen"),
                    ("2026-11-24", "u-wang")]
    paged = report(world, people["desk"], "daily", format="csv", limit=3, **week)
    assert 'rel="next"' in paged.headers["Link"] and len(read_csv(paged.data)) == 4
