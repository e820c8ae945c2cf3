"""Dates the server works out from what devices write stay on the calendar.

A time field takes any instant of the years 1 to 9999 and a contract's response hours
any number below 10^15: a deadline worked out from them (a ticket's, a complaint's) or
the visits of a maintenance plan could fall past 31 December 9999, where ``datetime``
ends, and the push or the office job answered 500. Now a deadline is held to the last
instant there is, a plan's visits stop at the calendar's end, and a checklist entry the
visits cannot carry is refused at the push.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from server.tables import entity_table
from tests.conftest import auth_header

LAST_INSTANT = "9999-12-31T23:59:59.999999+00:00"


def stored(engine, entity: str, row_id: str) -> dict:
    table = entity_table(entity)
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().one())


@pytest.mark.parametrize("reported_at", ["9999-12-31T23:00:00+00:00", "9999-12-31T20:00:00-03:00"])
def test_a_ticket_reported_on_the_last_day_there_is_is_due_at_the_last_instant_there_is(
        people, replica_for, engine, reported_at):
    desk = replica_for(people["desk"])
    ticket = desk.insert("ticket", fault_description="皮带磨损", zone="ring2", urgency="normal",
                         reported_at=reported_at)
    assert desk.sync().rejected == 0
    assert stored(engine, "ticket", ticket)["deadline"] == LAST_INSTANT


def test_a_contract_promising_a_hundred_trillion_hours_gives_its_tickets_the_last_deadline_there_is(
        people, replica_for, engine):
    desk = replica_for(people["desk"])
    contract = desk.insert("contract", number="MC-9", response_hours=1e14)
    ticket = desk.insert("ticket", fault_description="皮带磨损", contract_id=contract,
                         reported_at="2026-11-23T08:30:00+08:00")
    assert desk.sync().rejected == 0
    assert stored(engine, "ticket", ticket)["deadline"] == LAST_INSTANT


def test_a_complaint_received_on_31_december_9999_is_due_at_the_last_instant_there_is(
        people, replica_for, engine, client):
    desk = replica_for(people["desk"])
    complaint = desk.insert("complaint", description="工程师迟到", received_at="9999-12-31T08:00:00+08:00")
    assert desk.sync().rejected == 0
    assert stored(engine, "complaint", complaint)["deadline"] == LAST_INSTANT
    escalated = client.post("/v1/office/complaints/escalate", headers=auth_header(people["desk"]))
    assert (escalated.status_code, escalated.json["ids"]) == (200, [])


@pytest.mark.parametrize(("first_visit_on", "every_months", "visits"), [
    pytest.param("today", 2**62, 1, id="every 2^62 months: this month's visit, then past the calendar"),
    pytest.param("9999-12-01", 1, 0, id="from December 9999: nothing due within the horizon"),
])
def test_a_plan_whose_visits_run_past_the_year_9999_generates_those_before_it(
        people, timeline, first_visit_on, every_months, visits):
    desk, client = timeline.device(people["desk"]), timeline.app.test_client()
    today = datetime.fromtimestamp(timeline.now / 1000, timezone.utc).date().isoformat()  # the server's too
    desk.insert("maintenance_plan", every_months=every_months, engineer_id=people["wang"].user_id,
                first_visit_on=today if first_visit_on == "today" else first_visit_on,
                checklist=[{"area": "前端设备", "item": "摄像机清洁"}])
    assert desk.sync().rejected == 0
    made = client.post("/v1/office/maintenance/generate", json={"horizon_days": 366},
                       headers=auth_header(people["desk"]))
    assert (made.status_code, len(made.json["ids"])) == (200, visits)


@pytest.mark.parametrize("entry", [
    pytest.param({"area": {"楼层": 3}, "item": "摄像机清洁"}, id="an area that is an object"),
    pytest.param({"area": "前端设备", "item": 42}, id="an item that is a number"),
    pytest.param({"area": "前" * 101, "item": "摄像机清洁"}, id="an area longer than an inspection item holds"),
    pytest.param({"area": "前端\x00设备", "item": "摄像机清洁"}, id="an area with NUL"),
])
def test_a_checklist_entry_an_inspection_item_cannot_hold_is_refused_with_its_plan_and_visits_still_generate(
        people, timeline, engine, entry):
    """The server copied such an entry into the visit's inspection items: the office job
    answered 500 (on PostgreSQL, for text wider than the column, too)."""
    desk, client = timeline.device(people["desk"]), timeline.app.test_client()
    today = datetime.fromtimestamp(timeline.now / 1000, timezone.utc).date().isoformat()  # the server's too
    good = desk.insert("maintenance_plan", every_months=1, first_visit_on=today, engineer_id=people["wang"].user_id,
                       checklist=[{"area": "前端设备", "item": "摄像机清洁"}])
    desk.insert("maintenance_plan", every_months=1, first_visit_on=today, engineer_id=people["wang"].user_id,
                checklist=[{"area": "前端设备", "item": "摄像机清洁"}, entry])
    report = desk.sync()
    assert report.rejected == 1
    assert [(p.code, p.field) for p in desk.parked()] == [("invalid_value", "checklist")]
    made = client.post("/v1/office/maintenance/generate", json={"horizon_days": 20},
                       headers=auth_header(people["desk"]))
    assert made.status_code == 200 and len(made.json["ids"]) == 1
    assert stored(engine, "maintenance_visit", made.json["ids"][0])["plan_id"] == good
