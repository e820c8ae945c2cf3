"""SLA state is data: deadlines from zone × urgency × contract, states stored on the ticket
and re-evaluated when late records arrive (server/domain/sla.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from server.cli import main
from server.domain import sla
from server.domain.config import from_mapping
from server.tables import entity_table
from sync.hlc import now_ms
from tests.conftest import Timeline, auth_header
from tests.scenario import desk_opens_ticket

HOUR = 3_600_000
BEIJING = timezone(timedelta(hours=8))
#: 市区 (the city) by the clock; 郊区 (the suburbs) by working hours (004 §19)
DOMAIN = {
    "sla_hours": {"市区": {"emergency": 2, "normal": 6}, "郊区": {"emergency": 4, "normal": 8}},
    "working_hour_zones": ("郊区",),
}


def server_row(engine, entity, row_id):
    table = entity_table(entity)
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().one())


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, BEIJING).isoformat()


@pytest.fixture
def world(app_factory, replica_for) -> Timeline:
    """Simulated time, with the zones of a Shanghai service department."""
    made = Timeline(replica_for, now_ms())
    made.app = app_factory(CLOCK_MS=lambda: made.now, DOMAIN=DOMAIN)
    return made


def hospital_ticket(desk, engineer_id, now_ms, **fields) -> dict:
    customer = desk.insert("customer", name="上海浦东某医院", zone="市区", address="上海市浦东新区张江路88号")
    equipment = desk.insert("equipment", customer_id=customer, model="CT-64 排", serial="PD-0017")
    values = dict(customer_id=customer, equipment_id=equipment, status="dispatched", urgency="normal", zone="市区",
                  fault_description="CT 机扫描时报警，无法出图", channel="phone", reported_at=iso(now_ms))
    values.update(fields)
    ticket = desk.insert("ticket", assignee_id=engineer_id, **values)
    desk.sync()
    return {"customer": customer, "equipment": equipment, "ticket": ticket}


def evaluate(world: Timeline, people) -> list[str]:
    answer = world.app.test_client().post("/v1/office/sla/evaluate", headers=auth_header(people["manager"]))
    assert answer.status_code == 200
    return answer.json["ids"]


def sla_list(world: Timeline, people, **params) -> dict:
    answer = world.app.test_client().get("/v1/office/sla", query_string=params, headers=auth_header(people["desk"]))
    assert answer.status_code == 200, answer.json
    return answer.json


def test_a_ticket_30_hours_past_a_6_hour_deadline_never_reached_is_late_and_wangs_replica_shows_it(world, people):
    engine = world.app.extensions["fieldsync"].engine
    desk, wang = world.device(people["desk"]), world.device(people["wang"])
    ticket = hospital_ticket(desk, people["wang"].user_id, world.now)["ticket"]
    row = server_row(engine, "ticket", ticket)
    assert (row["sla_state"], row["answer_state"]) == ("on_time", "met")  # dispatched at intake: answered
    world.advance(4 * HOUR)
    assert evaluate(world, people) == []  # 2 of 6 hours left: still on time
    world.advance(HOUR)
    assert evaluate(world, people) == [ticket]  # 1 hour of 6 left, under a quarter
    assert server_row(engine, "ticket", ticket)["sla_state"] == "at_risk"
    world.advance(31 * HOUR)
    assert evaluate(world, people) == [ticket]
    assert server_row(engine, "ticket", ticket)["sla_state"] == "late"
    [listed] = sla_list(world, people, state="late")["tickets"]
    assert (listed["id"], listed["late_minutes"], listed["reached_at"]) == (ticket, 30 * 60, None)
    assert datetime.fromisoformat(listed["deadline"]) == datetime.fromtimestamp(
        (world.now - 30 * HOUR) / 1000, timezone.utc)
    wang.sync()
    assert wang.get("ticket", ticket)["sla_state"] == "late"
    assert evaluate(world, people) == []  # nothing moved since


def test_a_contract_reached_through_the_equipment_sets_the_deadline(people, replica_for, engine):
    desk = replica_for(people["desk"])
    customer = desk.insert("customer", name="上海浦东某医院", zone="ring3")
    contract = desk.insert("contract", number="MC-2026-浦东-01", customer_id=customer, response_hours=2.0,
                           starts_on="2026-01-01", ends_on="2026-12-31")
    equipment = desk.insert("equipment", customer_id=customer, model="DR 平板", contract_id=contract)
    ticket = desk.insert("ticket", customer_id=customer, equipment_id=equipment, zone="ring3", urgency="normal",
                         status="reported", fault_description="平板探测器无响应",
                         reported_at="2026-11-23T08:00:00+08:00")
    desk.sync()
    row = server_row(engine, "ticket", ticket)
    assert datetime.fromisoformat(row["deadline"]) == datetime.fromisoformat("2026-11-23T10:00:00+08:00")
    assert row["contract_id"] is None  # the ticket names no contract: its equipment's counts
    assert datetime.fromisoformat(row["answer_deadline"]) == datetime.fromisoformat("2026-11-24T08:00:00+08:00")
    assert row["answered_at"] is None  # not yet dispatched to anyone


def test_a_suburb_job_reported_friday_at_five_counts_working_hours_and_is_due_monday(app_factory, people, tmp_path):
    config = from_mapping(DOMAIN)
    friday_five = datetime.fromisoformat("2026-11-27T17:00:00+08:00")
    due = sla.deadline(config, friday_five, "郊区", "normal", None)
    assert due == datetime.fromisoformat("2026-11-30T17:00:00+08:00")
    # the city counts the clock: the same call is due at eleven that night
    assert sla.deadline(config, friday_five, "市区", "normal", None) == friday_five + timedelta(hours=6)
    # on Monday at ten, 7 of 8 working hours are left: on time, though 65 of 72 clock hours are gone
    values = {"status": "dispatched", "zone": "郊区", "reported_at": friday_five.isoformat(),
              "deadline": due.isoformat(), "answer_deadline": (friday_five + timedelta(hours=24)).isoformat(),
              "answered_at": friday_five.isoformat()}
    monday_ten = datetime.fromisoformat("2026-11-30T10:00:00+08:00")
    assert sla.evaluate(config, values, monday_ten)["sla_state"] == "on_time"
    assert sla.evaluate(config, values, monday_ten + timedelta(hours=5, minutes=30))["sla_state"] == "at_risk"
    # a holiday Monday (the deployment's calendar) moves it to Tuesday; a Saturday worked (调休) pulls it in
    holiday = from_mapping({**DOMAIN, "holidays": ("2026-11-30",)})
    assert sla.deadline(holiday, friday_five, "郊区", "normal", None) == datetime.fromisoformat(
        "2026-12-01T17:00:00+08:00")
    worked = from_mapping({**DOMAIN, "extra_working_days": ("2026-11-28",)})
    assert sla.deadline(worked, friday_five, "郊区", "normal", None) == datetime.fromisoformat(
        "2026-11-28T17:00:00+08:00")


def test_the_working_calendar_is_the_deployments_and_a_wrong_one_is_refused_at_start(app_factory):
    config = from_mapping({**DOMAIN, "working_days": (1, 2, 3, 4, 5, 6), "working_day_hours": ("08:30", "17:30")})
    saturday = datetime.fromisoformat("2026-11-28T08:00:00+08:00")
    assert sla.deadline(config, saturday, "郊区", "normal", None) == datetime.fromisoformat("2026-11-28T16:30:00+08:00")
    # a contract promising a year of working hours, or 10^14 hours, ends at the calendar's end, not in a loop
    far = sla.calendar(config).add(saturday, 10**14)
    assert far.year == 9999
    assert sla.calendar(config).between(saturday, saturday + timedelta(days=3650)) > timedelta(hours=10 * 52 * 50)
    with pytest.raises(ValueError, match="working_day_hours"):
        app_factory(DOMAIN={"working_day_hours": ("18:00", "09:00")})
    with pytest.raises(ValueError, match="holidays"):
        app_factory(DOMAIN={"holidays": ("国庆节",)})


def test_an_arrival_synced_two_days_late_turns_missed_into_met(world, people):
    engine = world.app.extensions["fieldsync"].engine
    desk = world.device(people["desk"])
    wang = world.device(people["wang"], skew_ms=3 * HOUR)  # his phone runs three hours fast
    ticket = hospital_ticket(desk, people["wang"].user_id, world.now)["ticket"]
    wang.sync()
    world.advance(5 * HOUR)  # on site an hour before the 6-hour deadline, in the hospital's basement: no signal
    wang.insert("work_log", ticket_id=ticket, engineer_id=people["wang"].user_id, event="arrived",
                at=iso(world.now + 3 * HOUR), note="到达放射科，CT 机房在地下一层")
    world.advance(3 * HOUR)
    # the ward phones the desk: "your engineer is here" — two hours past the deadline
    desk.insert("work_log", ticket_id=ticket, engineer_id=people["wang"].user_id, event="arrived",
                at=iso(world.now), note="放射科护士长来电确认工程师已到")
    desk.sync()
    assert server_row(engine, "ticket", ticket)["sla_state"] == "missed"
    assert sla_list(world, people, state="missed")["tickets"][0]["late_minutes"] == 120
    world.advance(48 * HOUR)
    wang.sync()  # his arrival, two days late, by a clock three hours fast
    row = server_row(engine, "ticket", ticket)
    assert row["sla_state"] == "met"
    assert datetime.fromisoformat(row["logged_arrival_at"]) == datetime.fromtimestamp(
        (world.now - 51 * HOUR) / 1000, timezone.utc)
    wang.sync()
    assert wang.get("ticket", ticket)["sla_state"] == "met"


def test_an_arrival_recorded_on_the_ticket_by_a_fast_phone_counts_at_its_real_time(world, people):
    engine = world.app.extensions["fieldsync"].engine
    desk = world.device(people["desk"])
    wang = world.device(people["wang"], skew_ms=5 * HOUR)  # five hours fast: his arrival reads past the deadline
    ticket = hospital_ticket(desk, people["wang"].user_id, world.now)["ticket"]
    wang.sync()
    world.advance(4 * HOUR)
    wang.update("ticket", ticket, status="on_site", arrived_at=iso(world.now + 5 * HOUR))
    wang.sync()
    row = server_row(engine, "ticket", ticket)
    assert row["sla_state"] == "met"
    assert datetime.fromisoformat(row["arrived_at_server"]) == datetime.fromtimestamp(world.now / 1000, timezone.utc)


def test_a_cancelled_ticket_leaves_the_sla_figures(people, replica_for, engine):
    desk = replica_for(people["desk"])
    ticket = desk_opens_ticket(desk, None, zone="ring1", urgency="emergency", status="reported",
                               reported_at="2026-11-23T08:00:00+08:00")["ticket"]
    assert server_row(engine, "ticket", ticket)["sla_state"] == "late"  # long past, never reached
    desk.update("ticket", ticket, status="cancelled", cancel_reason="客户自行修好")
    desk.sync()
    row = server_row(engine, "ticket", ticket)
    assert (row["sla_state"], row["answer_state"]) == (None, None)  # a cancelled ticket is not counted


def test_office_list_of_250_tickets_comes_100_a_page(world, people):
    desk = world.device(people["desk"])
    customer = desk.insert("customer", name="上海浦东某医院", zone="市区")
    made = {desk.insert("ticket", customer_id=customer, zone="市区", urgency="normal", status="reported",
                        fault_description=f"监护仪 {n} 号床报警", reported_at=iso(world.now)) for n in range(250)}
    desk.sync()
    pages = [sla_list(world, people, page=n, per_page=100) for n in (1, 2, 3, 4)]
    assert [len(p["tickets"]) for p in pages] == [100, 100, 50, 0]
    assert {p["total"] for p in pages} == {250}
    listed = [t["id"] for p in pages for t in p["tickets"]]
    assert len(listed) == 250 and set(listed) == made
    assert sla_list(world, people, state="on_time", per_page=1)["total"] == 250
    assert sla_list(world, people, state="late")["total"] == 0
    assert sla_list(world, people)["per_page"] == 100


@pytest.mark.parametrize(("params", "field"), [
    ({"state": "迟到"}, "state"),
    ({"state": "LATE"}, "state"),
    ({"page": "０"}, "page"),
    ({"page": "１"}, "page"),
    ({"page": "0"}, "page"),
    ({"page": "9" * 20}, "page"),
    ({"page": "9" * 5000}, "page"),
    ({"page": "1.5"}, "page"),
    ({"page": "-1"}, "page"),
    ({"per_page": "501"}, "per_page"),
    ({"per_page": ""}, "per_page"),
    ({"sort": "deadline"}, "sort"),
])
def test_bad_sla_list_parameters_are_refused_with_a_code(client, people, params, field):
    answer = client.get("/v1/office/sla", query_string=params, headers=auth_header(people["manager"]))
    assert answer.status_code == 422
    assert (answer.json["code"], answer.json["field"]) == ("invalid", field)


def test_engineers_do_not_read_the_office_sla_list(client, people):
    answer = client.get("/v1/office/sla", headers=auth_header(people["wang"]))
    assert (answer.status_code, answer.json["code"]) == (403, "forbidden")
    answer = client.post("/v1/office/sla/evaluate", headers=auth_header(people["wang"]))
    assert (answer.status_code, answer.json["code"]) == (403, "forbidden")


def test_fieldsync_office_evaluate_sla_gives_tickets_from_before_the_rule_their_state(
        people, replica_for, engine, database_url):
    desk = replica_for(people["desk"])
    long_ago = (datetime.now(timezone.utc) - timedelta(hours=36)).isoformat()
    ticket = desk_opens_ticket(desk, people["wang"].user_id, zone="ring2", reported_at=long_ago)["ticket"]
    table = entity_table("ticket")
    with engine.begin() as conn:  # as the migration leaves a ticket made before it
        conn.execute(sa.update(table).where(table.c.id == ticket).values(sla_state=None, answer_state=None))
    runner = CliRunner()
    first = runner.invoke(main, ["office", "evaluate-sla"], env={"DATABASE_URL": database_url})
    assert first.exit_code == 0 and first.output.strip() == "1 ticket(s) changed SLA state"
    assert server_row(engine, "ticket", ticket)["sla_state"] == "late"
    again = runner.invoke(main, ["office", "evaluate-sla"], env={"DATABASE_URL": database_url})
    assert again.output.strip() == "0 ticket(s) changed SLA state"
