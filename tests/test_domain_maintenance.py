"""Preventive maintenance, complaint escalation and expense claims."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from server.domain.maintenance import add_months
from server.tables import entity_table
from tests.conftest import auth_header
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
    today = datetime.now(timezone.utc).date()
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
