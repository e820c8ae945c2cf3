"""Preventive maintenance, complaint escalation and expense claims."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import orjson
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from server import create_app
from server.auth import add_device, add_user
from server.cli import main
from server.db import make_engine
from server.migrations import upgrade
from server.domain.maintenance import add_months
from server.tables import entity_table
from sync.client import Replica
from sync.transport import HttpTransport
from tests.conftest import auth_header, http_client
from tests.scenario import desk_opens_ticket

CHECKLIST = [
    {"area": "front-end devices", "item": "cameras clean and focused"},
    {"area": "cabling and grounding", "item": "grounding resistance under 4 ohm"},
    {"area": "central control equipment", "item": "recorder keeps 30 days"},
    {"area": "system functions", "item": "alarm reaches the control room"},
]


def rows(engine, entity, **where):
    table = entity_table(entity)
    with engine.connect() as conn:
        query = sa.select(table).where(*(getattr(table.c, k) == v for k, v in where.items()))
        return [dict(r) for r in conn.execute(query).mappings()]


def test_month_arithmetic_keeps_the_day_or_the_months_last():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 2) == date(2027, 1, 15)


def test_monthly_plan_generates_visits_with_a_checklist_filled_item_by_item_offline(
        people, replica_for, client, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    customer = desk.insert("customer", name="Jinqiao Hospital", zone="ring1")
    contract = desk.insert("contract", number="MC-7", customer_id=customer, response_hours=2.0)
    today = datetime.now(timezone(timedelta(hours=8))).date()  # the deployment's day, in Beijing
    desk.insert("maintenance_plan", contract_id=contract, customer_id=customer, every_months=1,
                first_visit_on=today.isoformat(), checklist=CHECKLIST, engineer_id=people["wang"].user_id)
    desk.sync()
    made = client.post("/v1/office/maintenance/generate", json={"horizon_days": 40},
                       headers=auth_header(people["desk"])).json["ids"]
    assert len(made) == 2  # this month's and next month's
    again = client.post("/v1/office/maintenance/generate", json={"horizon_days": 40},
                        headers=auth_header(people["desk"])).json["ids"]
    assert again == []  # idempotent
    wang.sync()
    visit = sorted(wang.all("maintenance_visit").items(), key=lambda kv: kv[1]["due_on"])[0][0]
    items = {k: v for k, v in wang.all("inspection_item").items() if v["visit_id"] == visit}
    assert len(items) == 4
    assert wang.get("contract", contract) is not None  # the engineer has the contract terms
    # on site, offline: item by item, recording while checking
    fault_ticket = None
    for item_id, item in items.items():
        if item["area"] == "cabling and grounding":
            fault_ticket = wang.insert("ticket", customer_id=customer, contract_id=None, status="on_site",
                                       fault_description="grounding resistance 9 ohm", source_visit_id=visit,
                                       assignee_id=None)
            wang.update("inspection_item", item_id, result="fault", note="9 ohm", ticket_id=fault_ticket)
        else:
            wang.update("inspection_item", item_id, result="ok")
    wang.update("maintenance_visit", visit, status="done", visited_at=datetime.now(timezone.utc).isoformat())
    wang.sync()
    stored = rows(engine, "inspection_item", visit_id=visit)
    assert sorted(i["result"] for i in stored) == ["fault", "ok", "ok", "ok"]
    assert rows(engine, "ticket", id=fault_ticket)[0]["source_visit_id"] == visit


def test_overdue_complaints_are_escalated_once(people, replica_for, client, engine):
    desk = replica_for(people["desk"])
    long_ago = (datetime.now(timezone.utc) - timedelta(days=20)).isoformat()
    overdue = desk.insert("complaint", description="no call back", received_at=long_ago, status="open")
    fresh = desk.insert("complaint", description="rude on the phone", status="open",
                        received_at=datetime.now(timezone.utc).isoformat())
    desk.sync()
    first = client.post("/v1/office/complaints/escalate", headers=auth_header(people["manager"])).json["ids"]
    assert first == [overdue]
    assert client.post("/v1/office/complaints/escalate", headers=auth_header(people["manager"])).json["ids"] == []
    desk.sync()
    assert desk.get("complaint", overdue)["escalated"] is True
    assert not desk.get("complaint", fresh)["escalated"]


def test_expense_claim_allowance_follows_site_days_and_the_manager_decides(people, replica_for, engine):
    desk, wang, manager = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["manager"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id)["ticket"]
    wang.sync()
    receipt = wang.put_blob(b"receipt photo", "image/jpeg")
    claim = wang.insert("expense_claim", engineer_id=people["wang"].user_id, ticket_id=ticket, kind="claim",
                        amount=386.5, site_days=2.5, receipts=[receipt], status="submitted")
    wang.sync()
    assert rows(engine, "expense_claim", id=claim)[0]["allowance"] == 250.0
    manager.sync()
    manager.update("expense_claim", claim, status="approved")
    manager.sync()
    wang.sync()
    assert wang.get("expense_claim", claim)["status"] == "approved"
    assert wang.get("expense_claim", claim)["decided_by"] == people["manager"].user_id
    assert wang.get("expense_claim", claim)["allowance"] == 250.0


def test_customer_rates_the_engineer_on_four_items_of_four_levels(people, replica_for, engine):
    desk = replica_for(people["desk"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id)["ticket"]
    survey = desk.insert("satisfaction_survey", ticket_id=ticket, engineer_id=people["wang"].user_id, attitude=4,
                         skill=3, arrival_time=2, follow_through=4)
    bad = desk.insert("satisfaction_survey", ticket_id=ticket, attitude=5)
    desk.sync()
    assert rows(engine, "satisfaction_survey", id=survey)[0]["arrival_time"] == 2
    assert [p.code for p in desk.parked()] == ["invalid_value"] and desk.get("satisfaction_survey", bad) is None


# -- one source for plans, and visits missed -------------------------------------------------


def hospital_plan_visits(desk, wang_id: str, today: date) -> dict[str, str]:
    """上海浦东某医院's monthly security-system inspection, with visits around today."""
    customer = desk.insert("customer", name="上海浦东某医院", zone="市区", address="上海市浦东新区张江路88号")
    contract = desk.insert("contract", number="MC-浦东-2026", customer_id=customer, starts_on="2026-01-01")
    plan = desk.insert("maintenance_plan", contract_id=contract, customer_id=customer, every_months=1,
                       first_visit_on="2026-01-05", checklist=CHECKLIST, engineer_id=wang_id)
    visits = {}
    for name, days_ago, status in (("three_days_ago", 3, "planned"), ("today", 0, "planned"),
                                   ("done_last_week", 7, "done"), ("started_yesterday", 1, "in_progress")):
        visits[name] = desk.insert("maintenance_visit", plan_id=plan, contract_id=contract, customer_id=customer,
                                   engineer_id=wang_id, status=status,
                                   due_on=(today - timedelta(days=days_ago)).isoformat())
    desk.sync()
    return visits


def test_missed_maintenance_visits_are_marked_by_the_command(people, replica_for, engine, database_url):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    beijing_today = datetime.now(timezone(timedelta(hours=8))).date()
    visits = hospital_plan_visits(desk, people["wang"].user_id, beijing_today)
    runner = CliRunner()
    first = runner.invoke(main, ["office", "mark-missed-visits"], env={"DATABASE_URL": database_url})
    assert first.exit_code == 0 and first.output.strip() == "1 visit(s) marked missed"
    statuses = {name: rows(engine, "maintenance_visit", id=visit_id)[0]["status"] for name, visit_id in visits.items()}
    assert statuses == {"three_days_ago": "missed", "today": "planned", "done_last_week": "done",
                        "started_yesterday": "in_progress"}
    again = runner.invoke(main, ["office", "mark-missed-visits"], env={"DATABASE_URL": database_url})
    assert again.output.strip() == "0 visit(s) marked missed"
    wang.sync()
    assert wang.get("maintenance_visit", visits["three_days_ago"])["status"] == "missed"


def test_a_visit_done_offline_on_its_date_and_synced_after_it_was_marked_missed_is_done(people, timeline, engine):
    beijing = timezone(timedelta(hours=8))
    # the morning after, in Beijing: the day must not end in the hours this test lets pass,
    # or today's visit would be yesterday's and rightly missed (it failed after 22:00)
    morning = datetime.fromtimestamp(timeline.now / 1000, beijing).replace(hour=9, minute=0, second=0, microsecond=0)
    timeline.advance(int((morning + timedelta(days=1)).timestamp() * 1000) - timeline.now)
    desk, wang = timeline.device(people["desk"]), timeline.device(people["wang"])
    today = datetime.fromtimestamp(timeline.now / 1000, beijing).date()
    assert datetime.fromtimestamp(timeline.now / 1000, beijing).hour == 9
    visits = hospital_plan_visits(desk, people["wang"].user_id, today)
    wang.sync()
    visit = visits["three_days_ago"]
    # on its date, in the hospital's plant room without signal
    wang.update("maintenance_visit", visit, status="done", summary="四个区域逐项检查，无故障",
                visited_at=datetime.combine(today - timedelta(days=3), datetime.min.time(), beijing)
                .replace(hour=10).isoformat())
    timeline.advance(3_600_000)
    answer = timeline.app.test_client().post("/v1/office/maintenance/mark-missed",
                                             headers=auth_header(people["manager"]))
    assert answer.status_code == 200 and answer.json["ids"] == [visit]
    timeline.advance(3_600_000)
    wang.sync()
    stored = rows(engine, "maintenance_visit", id=visit)[0]
    assert (stored["status"], stored["summary"]) == ("done", "四个区域逐项检查，无故障")
    wang.sync()
    assert wang.get("maintenance_visit", visit)["status"] == "done"
    assert timeline.app.test_client().post("/v1/office/maintenance/mark-missed",
                                           headers=auth_header(people["manager"])).json["ids"] == []


def test_engineers_do_not_mark_visits_missed(client, people):
    answer = client.post("/v1/office/maintenance/mark-missed", headers=auth_header(people["wang"]))
    assert (answer.status_code, answer.json["code"]) == (403, "forbidden")


def test_a_contracts_visit_schedule_becomes_its_maintenance_plan_on_upgrade(empty_database_url, tmp_path):
    upgrade(empty_database_url, "0007_writeoff")
    engine = make_engine(empty_database_url)
    made = {"version": 1, "deleted": False, "clock": "{}", "created_at": datetime.now(timezone.utc),
            "updated_at": datetime.now(timezone.utc)}
    contract = sa.text("INSERT INTO contract (id, number, customer_id, starts_on, ends_on, visit_schedule, version, "
                       "deleted, clock, created_at, updated_at) VALUES (:id, :number, 'c-浦东医院', '2026-01-01', "
                       "'2026-12-31', :schedule, :version, :deleted, :clock, :created_at, :updated_at)")
    areas = ["前端设备", "线缆与接地", "中心控制设备", "系统功能与指标"]
    try:
        with engine.begin() as conn:
            conn.execute(contract, {"id": "k-monthly", "number": "MC-浦东-01",
                                    "schedule": orjson.dumps({"every_months": 1, "areas": areas}).decode(), **made})
            conn.execute(contract, {"id": "k-planned", "number": "MC-浦东-02",
                                    "schedule": orjson.dumps({"every_months": 3, "areas": areas}).decode(), **made})
            conn.execute(contract, {"id": "k-none", "number": "MC-浦东-03", "schedule": None, **made})
            conn.execute(sa.text("INSERT INTO maintenance_plan (id, contract_id, every_months, version, deleted, clock, "
                                 "created_at, updated_at) VALUES ('p-old', 'k-planned', 2, :version, :deleted, "
                                 ":clock, :created_at, :updated_at)"), made)
        upgrade(empty_database_url)
        with engine.connect() as conn:
            plans = {r["contract_id"]: dict(r) for r in conn.execute(sa.text(
                "SELECT * FROM maintenance_plan")).mappings()}
            columns = {c["name"] for c in sa.inspect(conn).get_columns("contract")}
        with engine.begin() as conn:
            add_user(conn, "前台小李", "desk", user_id="u-desk")
            _, token = add_device(conn, "u-desk", "前台电脑", device_id="d-desk")
    finally:
        engine.dispose()
    assert "visit_schedule" not in columns
    assert set(plans) == {"k-monthly", "k-planned"}
    assert plans["k-planned"]["id"] == "p-old"  # the plan visits were made from stays the one source
    monthly = plans["k-monthly"]
    assert (monthly["customer_id"], monthly["every_months"], monthly["first_visit_on"], monthly["last_visit_on"]) == (
        "c-浦东医院", 1, "2026-01-01", "2026-12-31")
    assert orjson.loads(monthly["checklist"]) == [{"area": a, "item": a} for a in areas]
    app = create_app({"DATABASE_URL": empty_database_url, "TESTING": True})
    try:
        desk = Replica(tmp_path / "desk.replica", "d-desk", HttpTransport(http_client(app), token))
        desk.sync()  # the office's replica pulls the plan the migration made
        pulled = desk.get("maintenance_plan", monthly["id"])
        assert pulled["checklist"][0] == {"area": "前端设备", "item": "前端设备"}
        desk.close()
    finally:
        app.extensions["fieldsync"].engine.dispose()


# -- the visits a plan generates, and the day a visit is missed, on a controlled clock -------


BEIJING = timezone(timedelta(hours=8))


def set_beijing_clock(timeline, text: str) -> None:
    """The server's clock (and every device's) at a Beijing wall time."""
    timeline.now = int(datetime.fromisoformat(text).replace(tzinfo=BEIJING).timestamp() * 1000)


def office_job(timeline, people, job: str, **body) -> list[str]:
    answer = timeline.app.test_client().post(f"/v1/office/maintenance/{job}", json=body or None,
                                             headers=auth_header(people["desk"]))
    assert answer.status_code == 200, answer.json
    return answer.json["ids"]


@pytest.mark.parametrize(("day", "months", "after"), [
    pytest.param(date(2026, 11, 30), 1, date(2026, 12, 30), id="November to December"),
    pytest.param(date(2026, 11, 30), 2, date(2027, 1, 30), id="November to January"),
    pytest.param(date(2026, 11, 30), 3, date(2027, 2, 28), id="30 November to February"),
    pytest.param(date(2026, 11, 30), 15, date(2028, 2, 29), id="30 November to a leap February"),
    pytest.param(date(2026, 12, 31), 1, date(2027, 1, 31), id="December to January"),
    pytest.param(date(2026, 12, 31), 4, date(2027, 4, 30), id="31 December to a month of 30 days"),
    pytest.param(date(2026, 12, 31), 12, date(2027, 12, 31), id="a year on"),
    pytest.param(date(2026, 12, 31), 0, date(2026, 12, 31), id="no months"),
    pytest.param(date(2026, 1, 29), 1, date(2026, 2, 28), id="29 January to a February of 28"),
    pytest.param(date(2028, 1, 30), 1, date(2028, 2, 29), id="30 January to a February of 29"),
])
def test_a_plans_next_visit_is_on_the_same_day_or_the_months_last(day, months, after):
    assert add_months(day, months) == after


def test_month_arithmetic_ends_at_december_9999_and_says_so_past_it():
    assert add_months(date(9999, 11, 30), 1) == date(9999, 12, 30)
    assert add_months(date(2026, 1, 31), 95_687) == date(9999, 12, 31)
    with pytest.raises(OverflowError, match=r"^95688 months after 2026-01-31 is past the year 9999$"):
        add_months(date(2026, 1, 31), 95_688)


def test_each_plan_generates_its_visits_due_from_today_to_the_horizons_last_day_once_with_its_checklist(
        people, timeline, engine):
    """上海浦东某医院's plans, generated on Monday 23 November 2026 (Beijing morning, the
    same day in UTC): visits due before today are not made, one due on the horizon's
    last day is, and each visit carries an inspection item per checklist entry."""
    set_beijing_clock(timeline, "2026-11-23 10:00")
    desk = timeline.device(people["desk"])
    wang, chen = people["wang"].user_id, people["chen"].user_id
    customer = desk.insert("customer", name="上海浦东某医院", zone="市区", address="上海市浦东新区张江路88号")
    contract = desk.insert("contract", number="MC-浦东-2026", customer_id=customer, starts_on="2026-01-01")
    plans = {
        # first: a plan not yet started is passed over, not the end of the job
        "not_started": desk.insert("maintenance_plan", customer_id=customer, every_months=1, engineer_id=wang,
                                   checklist=[{"area": "前端设备", "item": "摄像机清洁"}]),
        "monthly": desk.insert("maintenance_plan", contract_id=contract, customer_id=customer, every_months=1,
                               first_visit_on="2026-10-31", engineer_id=wang,
                               checklist=[{"area": "前端设备", "item": "摄像机清洁、聚焦正常"}, "带梯子",
                                          {"area": "线缆与接地", "item": "接地电阻小于4欧"}]),
        "quarterly": desk.insert("maintenance_plan", contract_id=contract, customer_id=customer, every_months=3,
                                 first_visit_on="2026-11-23T09:00:00+08:00", engineer_id=chen,
                                 checklist=[{"area": "中心控制设备"}]),
        "unspaced": desk.insert("maintenance_plan", customer_id=customer, first_visit_on="2026-12-03",
                                engineer_id=wang),
        "every_0": desk.insert("maintenance_plan", customer_id=customer, every_months=0,
                               first_visit_on="2026-11-24", engineer_id=wang, checklist=[]),
        "deleted": desk.insert("maintenance_plan", customer_id=customer, every_months=1,
                               first_visit_on="2026-11-23", engineer_id=wang),
    }
    desk.sync()
    desk.delete("maintenance_plan", plans["deleted"])
    desk.sync()

    first = office_job(timeline, people, "generate", horizon_days=10)  # up to Thursday 3 December
    visits = {(v["plan_id"], v["due_on"]): v for v in rows(engine, "maintenance_visit")}
    assert sorted(first) == sorted(v["id"] for v in visits.values())
    assert {key: (v["contract_id"], v["customer_id"], v["engineer_id"], v["status"]) for key, v in visits.items()} == {
        (plans["monthly"], "2026-11-30"): (contract, customer, wang, "planned"),
        (plans["quarterly"], "2026-11-23"): (contract, customer, chen, "planned"),
        (plans["unspaced"], "2026-12-03"): (None, customer, wang, "planned"),
        (plans["every_0"], "2026-11-24"): (None, customer, wang, "planned"),
    }
    items: dict[str, list] = {}
    for item in rows(engine, "inspection_item"):
        items.setdefault(item["visit_id"], []).append((item["area"], item["item"], item["result"]))
    assert {visit_id: sorted(found) for visit_id, found in items.items()} == {
        visits[(plans["monthly"], "2026-11-30")]["id"]: [("前端设备", "摄像机清洁、聚焦正常", None),
                                                         ("线缆与接地", "接地电阻小于4欧", None)],
        visits[(plans["quarterly"], "2026-11-23")]["id"]: [("中心控制设备", None, None)],
    }

    second = office_job(timeline, people, "generate", horizon_days=40)  # up to Saturday 2 January 2027
    made = {(v["plan_id"], v["due_on"]) for v in rows(engine, "maintenance_visit") if v["id"] in second}
    assert len(second) == len(made) == 2
    assert made == {(plans["monthly"], "2026-12-31"), (plans["every_0"], "2026-12-24")}
    assert office_job(timeline, people, "generate", horizon_days=40) == []
    assert len(rows(engine, "inspection_item")) == 5  # 2 + 1 the first time, 2 for December's monthly visit


def test_a_visit_is_missed_once_its_beijing_day_is_over_though_the_utc_day_is_not(people, timeline, engine):
    """Monday 23 November 2026, 07:00 in Beijing, 23:00 on Sunday in UTC: Sunday's planned
    visit is missed (its day, local time, is over), Monday's is not; a visit already
    visited, started, done, deleted or without a date is left as it is."""
    set_beijing_clock(timeline, "2026-11-22 09:00")
    desk, wang = timeline.device(people["desk"]), timeline.device(people["wang"])
    customer = desk.insert("customer", name="上海浦东某医院", zone="市区", address="上海市浦东新区张江路88号")

    def visit(due_on, **fields):
        return desk.insert("maintenance_visit", customer_id=customer, engineer_id=people["wang"].user_id,
                           due_on=due_on, **fields)

    visits = {  # the missed ones' ids out of the order they are written in: the answer is by id
        "sunday": visit("2026-11-22", status="planned", id="visit-3-sunday"),
        "sunday_evening_with_time": visit("2026-11-22T18:00:00+08:00", status="planned", id="visit-1-sunday"),
        "saturday_no_status": visit("2026-11-21", id="visit-2-saturday"),
        "monday": visit("2026-11-23", status="planned"),
        "friday_started": visit("2026-11-20", status="in_progress"),
        "thursday_done": visit("2026-11-19", status="done"),
        "friday_visited": visit("2026-11-20", status="planned"),
        "friday_deleted": visit("2026-11-20", status="planned"),
        "undated": visit(None, status="planned"),
    }
    desk.sync()
    wang.sync()
    wang.update("maintenance_visit", visits["friday_visited"], visited_at="2026-11-20T10:00:00+08:00")
    wang.sync()
    desk.sync()
    desk.delete("maintenance_visit", visits["friday_deleted"])
    desk.sync()

    set_beijing_clock(timeline, "2026-11-23 07:00")
    missed = office_job(timeline, people, "mark-missed")
    assert missed == ["visit-1-sunday", "visit-2-saturday", "visit-3-sunday"]
    statuses = {name: rows(engine, "maintenance_visit", id=visit_id)[0]["status"] for name, visit_id in visits.items()}
    assert statuses == {"sunday": "missed", "sunday_evening_with_time": "missed", "saturday_no_status": "missed",
                        "monday": "planned", "friday_started": "in_progress", "thursday_done": "done",
                        "friday_visited": "planned", "friday_deleted": "planned", "undated": "planned"}
    assert office_job(timeline, people, "mark-missed") == []


def test_a_missed_visit_is_done_only_by_a_visit_recorded_on_site_and_a_started_one_stays_started(
        people, timeline, engine):
    """王伟's report on a missed visit without the time he was there leaves it missed; a
    visit he started and records a time for stays in progress until he says done."""
    set_beijing_clock(timeline, "2026-11-20 09:00")
    desk, wang = timeline.device(people["desk"]), timeline.device(people["wang"])
    customer = desk.insert("customer", name="上海浦东某医院", zone="市区", address="上海市浦东新区张江路88号")
    missed = desk.insert("maintenance_visit", customer_id=customer, engineer_id=people["wang"].user_id,
                         due_on="2026-11-20", status="planned")
    started = desk.insert("maintenance_visit", customer_id=customer, engineer_id=people["wang"].user_id,
                          due_on="2026-11-20", status="in_progress")
    desk.sync()
    wang.sync()
    set_beijing_clock(timeline, "2026-11-21 09:00")
    assert office_job(timeline, people, "mark-missed") == [missed]
    wang.update("maintenance_visit", missed, summary="客户不在，改约下周")
    wang.update("maintenance_visit", started, visited_at="2026-11-20T15:00:00+08:00", summary="检查到一半")
    wang.sync()
    found = {visit_id: (row["status"], row["summary"]) for visit_id in (missed, started)
             for row in rows(engine, "maintenance_visit", id=visit_id)}
    assert found == {missed: ("missed", "客户不在，改约下周"), started: ("in_progress", "检查到一半")}


@pytest.fixture
def new_york_machine(machine_zone):
    """The server's machine set to New York time (UTC-5 in November)."""
    machine_zone("America/New_York")


def test_a_server_on_a_machine_set_to_new_york_time_generates_the_visits_due_from_the_beijing_day(
        people, timeline, engine, new_york_machine):
    """Monday 23 November 2026, 10:00 in Beijing, 02:00 UTC: still Sunday evening by the
    machine's clock. Sunday's visit is yesterday's (in UTC and in Beijing) and is not made."""
    set_beijing_clock(timeline, "2026-11-23 10:00")
    desk = timeline.device(people["desk"])
    plan = desk.insert("maintenance_plan", every_months=1, first_visit_on="2026-11-22",
                       engineer_id=people["wang"].user_id, checklist=[{"area": "前端设备", "item": "摄像机清洁"}])
    desk.sync()
    made = office_job(timeline, people, "generate", horizon_days=31)  # up to Thursday 24 December
    assert [(v["id"], v["plan_id"], v["due_on"]) for v in rows(engine, "maintenance_visit")] == [
        (made[0], plan, "2026-12-22")]


def test_visits_generated_at_seven_in_the_beijing_morning_start_from_the_beijing_day_and_none_is_missed_at_once(
        people, timeline, engine):
    """Monday 23 November 2026, 07:00 in Beijing, still 23:00 on Sunday in UTC. The desk runs
    the generate job, then the missed-visits job: Sunday's visit of 上海浦东某医院's plan is
    yesterday's in Beijing and is not made (made on the UTC day, it would be marked missed
    the same minute); Monday's is made and stays planned."""
    set_beijing_clock(timeline, "2026-11-23 07:00")
    desk = timeline.device(people["desk"])
    customer = desk.insert("customer", name="上海浦东某医院", zone="市区", address="上海市浦东新区张江路88号")
    weekly_like = {
        "sunday": desk.insert("maintenance_plan", customer_id=customer, every_months=1, first_visit_on="2026-11-22",
                              engineer_id=people["wang"].user_id, checklist=[]),
        "monday": desk.insert("maintenance_plan", customer_id=customer, every_months=1, first_visit_on="2026-11-23",
                              engineer_id=people["chen"].user_id, checklist=[]),
    }
    desk.sync()
    made = office_job(timeline, people, "generate", horizon_days=31)  # up to Thursday 24 December
    assert office_job(timeline, people, "mark-missed") == []
    assert sorted((v["plan_id"], v["due_on"], v["status"]) for v in rows(engine, "maintenance_visit")) == sorted([
        (weekly_like["sunday"], "2026-12-22", "planned"),
        (weekly_like["monday"], "2026-11-23", "planned"),
        (weekly_like["monday"], "2026-12-23", "planned"),
    ])
    assert len(made) == 3


def test_a_visit_the_desk_booked_itself_for_a_time_on_its_date_is_not_made_again(people, timeline, engine):
    """The desk booked December's visit to 上海浦东某医院 for 09:00 on its date; the job
    makes January's, not a second December one."""
    set_beijing_clock(timeline, "2026-11-23 10:00")
    desk = timeline.device(people["desk"])
    plan = desk.insert("maintenance_plan", every_months=1, first_visit_on="2026-12-01",
                       engineer_id=people["wang"].user_id, checklist=[])
    booked = desk.insert("maintenance_visit", plan_id=plan, engineer_id=people["wang"].user_id,
                         due_on="2026-12-01T09:00:00+08:00", status="planned")
    desk.sync()
    made = office_job(timeline, people, "generate", horizon_days=40)  # up to Saturday 2 January 2027
    assert sorted((v["id"], v["due_on"]) for v in rows(engine, "maintenance_visit", plan_id=plan)) == sorted([
        (booked, "2026-12-01T09:00:00+08:00"), (made[0], "2027-01-01")])
    assert len(made) == 1
