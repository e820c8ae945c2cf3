"""Appraisal inputs per engineer per month (001 §4), counted by hand from a known
November: parts-ledger faults, verified complaints, late reports, repeat repairs and
their deduction band."""

from __future__ import annotations

import pytest

from tests.conftest import Timeline
from tests.reports_world import at, bj, customer_signs, finish, log_work, open_ticket, read_csv, report, rows, \
    set_clock

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture
def world(app_factory, replica_for) -> Timeline:
    made = Timeline(replica_for, at("2026-11-02 08:00"))
    made.app = app_factory(CLOCK_MS=lambda: made.now)
    return made


def consume(engineer, ticket: str, part: str, van: str, holder: str, when: str) -> str:
    return engineer.insert("stock_movement", kind="consume", part_id=part, qty=1.0, condition="new",
                           from_location_id=van, ticket_id=ticket, held_by=holder, occurred_at=bj(when))


@pytest.fixture
def november(world, people) -> dict:
    """王伟 fits a belt (its old one never comes back) and a fuse on the printer (T1,
    signed), a fuse on the press (T2, never signed); the press's customer complains, the
    service's fault; he logs 12 and 13 November's work offline and syncs on the 14th at
    20:00 (the 12th late, the 13th in time). 陈静 is sent to the printer again on 20
    November (T4, a repeat of T1 within 30 days), fits a fuse on the 21st, and a belt on
    her van is written off as lost on the 25th."""
    desk, wang, chen, manager = (world.device(people[name]) for name in ("desk", "wang", "chen", "manager"))
    belt = desk.insert("part", code="BLT-200", name="传动皮带", unit="条", returnable=True, price=80.0)
    fuse = desk.insert("part", code="FUS-10", name="保险丝 10A", unit="个", returnable=False, price=2.0)
    desk.insert("stock_location", kind="depot", name="北京总库", depot_id="depot-main")
    vans = {name: desk.insert("stock_location", kind="van", name=f"{title}的服务车", depot_id="depot-main",
                              engineer_id=f"u-{name}") for name, title in (("wang", "王伟"), ("chen", "陈静"))}
    t1 = open_ticket(desk, people["wang"], zone="ring1", reported="2026-11-02 08:00", customer="华信印刷厂")
    wang.sync()
    set_clock(world, "2026-11-02 12:00")
    belt_on_t1 = consume(wang, t1["ticket"], belt, vans["wang"], "u-wang", "2026-11-02 11:00")
    consume(wang, t1["ticket"], fuse, vans["wang"], "u-wang", "2026-11-02 11:00")
    finish(wang, t1["ticket"], arrived="2026-11-02 10:00", completed="2026-11-02 11:30")
    customer_signs(wang, t1["ticket"], "2026-11-02 11:40")
    wang.sync()

    set_clock(world, "2026-11-03 08:00")
    t2 = open_ticket(desk, people["wang"], zone="ring2", reported="2026-11-03 08:00", customer="北京日报印刷厂")
    wang.sync()
    set_clock(world, "2026-11-03 18:00")
    consume(wang, t2["ticket"], fuse, vans["wang"], "u-wang", "2026-11-03 17:00")
    finish(wang, t2["ticket"], arrived="2026-11-03 16:00", completed="2026-11-03 18:00")
    wang.sync()
    desk.insert("complaint", ticket_id=t2["ticket"], customer_id=t2["customer"], engineer_id="u-wang",
                description="工程师迟到六小时", received_at=bj("2026-11-05 10:00"), service_fault=True, status="open")
    desk.insert("complaint", ticket_id=t1["ticket"], customer_id=t1["customer"], engineer_id="u-wang",
                description="客户认为收费偏高", received_at=bj("2026-11-06 09:00"), service_fault=False,
                status="resolved")
    desk.sync()

    set_clock(world, "2026-11-12 16:00")
    log_work(wang, people["wang"], None, "2026-11-12 15:00", "D", 4.0, note="山区巡检，无信号")
    set_clock(world, "2026-11-13 18:00")
    log_work(wang, people["wang"], None, "2026-11-13 17:00", "D", 2.0, note="工具保养")
    set_clock(world, "2026-11-14 20:00")  # back in signal: past the 12th's end + 24 h, not the 13th's
    wang.sync()

    set_clock(world, "2026-11-20 08:00")
    t4 = open_ticket(desk, people["chen"], zone="ring2", reported="2026-11-20 08:00", customer="华信印刷厂",
                     equipment=t1["equipment"], fault_description="皮带又磨损了")
    chen.sync()
    set_clock(world, "2026-11-21 10:30")
    consume(chen, t4["ticket"], fuse, vans["chen"], "u-chen", "2026-11-21 10:00")
    finish(chen, t4["ticket"], arrived="2026-11-21 09:00", completed="2026-11-21 10:20")
    chen.sync()

    set_clock(world, "2026-11-25 09:00")
    manager.sync()
    manager.insert("stock_movement", kind="write_off", part_id=belt, qty=1.0, condition="new",
                   from_location_id=vans["chen"], held_by="u-chen", note="运输途中丢失")
    manager.sync()
    set_clock(world, "2026-12-10 09:00")
    return {"belt_on_t1": belt_on_t1}


def test_wang_and_chens_november_appraisal_inputs(world, people, november):
    found = {r["engineer_id"]: r for r in rows(world, people["manager"], "appraisal", **NOVEMBER)}
    assert set(found) == {"u-wang", "u-chen"}
    wang, chen = found["u-wang"], found["u-chen"]
    # the belt on T1 waits for its old part, the fuse on T2 for a signature: both over 30 days
    assert (wang["overdue_consumptions"], wang["lost_or_damaged"], wang["ledger_faults"]) == (2, 0, 2)
    assert (wang["verified_complaints"], wang["late_reports"]) == (1, 1)
    assert (wang["repairs"], wang["repeat_repairs"], wang["repeat_rate"]) == (2, 1, 0.5)
    assert (wang["repeat_band"], wang["deduction"]) == ("30%–100%", 10)
    # 陈静's fuse on T4 is open but 19 days old; the lost belt is hers
    assert (chen["overdue_consumptions"], chen["lost_or_damaged"], chen["ledger_faults"]) == (0, 1, 1)
    assert (chen["verified_complaints"], chen["late_reports"]) == (0, 0)
    assert (chen["repairs"], chen["repeat_repairs"], chen["repeat_rate"], chen["repeat_band"], chen["deduction"]) == (
        1, 0, 0.0, "0%–10%", 0)
    assert wang["month"] == chen["month"] == "2026-11"


def test_the_old_belt_booked_back_at_the_depot_clears_one_ledger_fault(world, people, november):
    depot = world.device(people["depot"])
    depot.sync()
    depot.update("old_part_return", november["belt_on_t1"], status="received", received_at=bj("2026-12-10 08:30"),
                 received_by="u-depot")
    depot.sync()
    [wang] = rows(world, people["manager"], "appraisal", engineer="u-wang", **NOVEMBER)
    assert (wang["overdue_consumptions"], wang["ledger_faults"]) == (1, 1)


def test_bands_are_data_and_the_answer_shows_them(app_factory, world, people, november):
    lenient = app_factory(CLOCK_MS=lambda: world.now, DOMAIN={"reports": {"repeat_bands": [
        {"up_to": 0.5, "deduction": 0}, {"up_to": 1.0, "deduction": 3}]}})
    answer = lenient.test_client().get("/v1/office/reports/appraisal", query_string=dict(NOVEMBER, engineer="u-wang"),
                                       headers={"Authorization": f"Bearer {people['manager'].token}"})
    [wang] = answer.json["rows"]
    assert (wang["repeat_rate"], wang["repeat_band"], wang["deduction"]) == (0.5, "0%–50%", 0)  # a band's top is its own
    assert [b["deduction"] for b in answer.json["bands"]] == [0, 3]


def test_appraisal_as_csv_and_by_page(world, people, november):
    table = read_csv(report(world, people["desk"], "appraisal", format="csv", **NOVEMBER).data)
    assert table[0][:3] == ["月份", "工程师编号", "工程师"] and table[0][-3:] == ["返修率", "返修率区间", "扣分"]
    assert [line[1] for line in table[1:]] == ["u-chen", "u-wang"]
    first = report(world, people["desk"], "appraisal", limit=1, **NOVEMBER).json
    second = report(world, people["desk"], "appraisal", limit=1, cursor=first["next"], **NOVEMBER).json
    assert [r["engineer_id"] for r in first["rows"] + second["rows"]] == ["u-chen", "u-wang"]
    assert second["next"] is None


def test_records_synced_from_the_mountains_a_second_past_the_grace_at_the_edge_of_a_beijing_day_are_late(
        app_factory, replica_for, people):
    """The report finds late records by their receipt lag first (an index), then its rule:
    the bound must let through every record the rule calls late, at the very edge. 王伟's
    patrol form of 12 November holds a date alone (read as the start of that Beijing day,
    stored as UTC midnight, eight hours later), synced a second after the 12th's end plus
    24 hours: its stored lag is 40 hours and a second, under 48. A fuse he fitted at
    23:59:59 on the 13th is synced a second after the 13th's end plus 24 hours: its lag is
    24 hours and two seconds. 陈静's patrol form of the 13th arrives exactly at its
    deadline: not late."""
    world = Timeline(replica_for, at("2026-11-12 08:00"))
    world.app = app_factory(CLOCK_MS=lambda: world.now)
    desk, wang, chen = (world.device(people[name]) for name in ("desk", "wang", "chen"))
    fuse = desk.insert("part", code="FUS-10", name="保险丝 10A", unit="个", returnable=False, price=2.0)
    van = desk.insert("stock_location", kind="van", name="王伟的服务车", depot_id="depot-main", engineer_id="u-wang")
    pump = open_ticket(desk, people["wang"], customer="延庆山区水厂")["ticket"]
    wang.sync()
    chen.sync()

    wang.insert("work_log", engineer_id="u-wang", event="work_ended", at="2026-11-12", category="D", hours=6.0,
                note="山区管线巡检，无信号")
    set_clock(world, "2026-11-14 00:00:01")
    wang.sync()
    consume(wang, pump, fuse, van, "u-wang", "2026-11-13 23:59:59")
    chen.insert("work_log", engineer_id="u-chen", event="work_ended", at="2026-11-13", category="D", hours=3.0,
                note="水厂泵房巡检")
    set_clock(world, "2026-11-15 00:00:00")
    chen.sync()
    set_clock(world, "2026-11-15 00:00:01")
    wang.sync()

    found = {r["engineer_id"]: r["late_reports"] for r in rows(world, people["manager"], "appraisal", **NOVEMBER)}
    assert found == {"u-wang": 2}
    days = rows(world, people["manager"], "daily", **{"from": "2026-11-12", "to": "2026-11-13"})
    assert [(r["day"], r["engineer_id"], r["late"]) for r in days] == [
        ("2026-11-12", "u-wang", True), ("2026-11-13", "u-chen", False), ("2026-11-13", "u-wang", True)]
