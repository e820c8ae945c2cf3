"""Head office's side of the domain: numbers, deadlines, clocks, conflicts to settle."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from server.tables import change_log, entity_table
from sync import hlc
from sync.client import Replica
from sync.transport import HttpTransport
from tests.conftest import auth_header, http_client
from tests.scenario import desk_opens_ticket, stock_setup

HOUR = 3_600_000
DAY = 24 * HOUR


def server_row(engine, entity, row_id):
    table = entity_table(entity)
    with engine.connect() as conn:
        return conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().one()


def test_tickets_get_year_month_serial_numbers_on_first_sync_by_the_month_in_beijing(app_factory, people, tmp_path):
    # half past midnight on 1 December in Beijing, still 30 November by UTC: the server's
    # clock and the desk's are set there, so the month is the test's, not the machine's
    first_of_december = int(datetime(2026, 11, 30, 16, 30, tzinfo=timezone.utc).timestamp() * 1000)
    app = app_factory(CLOCK_MS=lambda: first_of_december)
    desk = Replica(tmp_path / "desk.r", people["desk"].device_id, HttpTransport(http_client(app), people["desk"].token),
                   wall=lambda: first_of_december)
    first = desk_opens_ticket(desk, None, provisional_number="D-desk-1")["ticket"]
    second = desk_opens_ticket(desk, None)["ticket"]
    numbers = [server_row(app.extensions["fieldsync"].engine, "ticket", t)["number"] for t in (first, second)]
    assert numbers == ["T2612-00001", "T2612-00002"]
    assert desk.get("ticket", first)["number"] == numbers[0]
    assert desk.get("ticket", first)["provisional_number"] == "D-desk-1"
    desk.close()


@pytest.mark.parametrize(("zone", "urgency", "hours"), [
    ("ring1", "emergency", 2), ("ring2", "emergency", 3), ("ring3", "emergency", 4), ("nearby", "emergency", 6),
    ("ring3", "normal", 7), ("far-province", "normal", 24),
])
def test_response_deadline_comes_from_zone_and_urgency(people, replica_for, engine, zone, urgency, hours):
    desk = replica_for(people["desk"])
    ticket = desk_opens_ticket(desk, None, zone=zone, urgency=urgency, reported_at="2026-11-23T08:00:00+08:00")["ticket"]
    due = datetime.fromisoformat(server_row(engine, "ticket", ticket)["deadline"])
    assert due == datetime.fromisoformat("2026-11-23T08:00:00+08:00") + timedelta(hours=hours)


def test_a_contract_promising_faster_response_tightens_the_deadline(people, replica_for, engine):
    desk = replica_for(people["desk"])
    contract = desk.insert("contract", number="MC-2026-01", response_hours=1.5)
    ticket = desk_opens_ticket(desk, None, zone="ring3", urgency="normal", contract_id=contract,
                               reported_at="2026-11-23T08:00:00+08:00")["ticket"]
    due = datetime.fromisoformat(server_row(engine, "ticket", ticket)["deadline"])
    assert due == datetime.fromisoformat("2026-11-23T09:30:00+08:00")


def test_sla_table_is_configuration_not_code(app_factory, people, tmp_path):
    app = app_factory(DOMAIN={"sla_hours": {"ring1": {"emergency": 1}}})
    desk = Replica(tmp_path / "desk.r", people["desk"].device_id, HttpTransport(http_client(app), people["desk"].token))
    ticket = desk_opens_ticket(desk, None, zone="ring1", urgency="emergency", reported_at="2026-11-23T08:00:00+08:00")
    engine = app.extensions["fieldsync"].engine
    assert server_row(engine, "ticket", ticket["ticket"])["deadline"].startswith("2026-11-23T09:00:00")
    desk.close()


def test_complaints_are_numbered_and_given_their_deadline(people, replica_for, engine):
    desk = replica_for(people["desk"])
    home = desk.insert("complaint", description="engineer was late", received_at="2026-11-02T10:00:00+08:00")
    away = desk.insert("complaint", description="part failed again", abroad=True,
                       received_at="2026-11-02T10:00:00+08:00")
    desk.sync()
    first, second = server_row(engine, "complaint", home), server_row(engine, "complaint", away)
    assert first["number"].startswith("C") and first["number"].endswith("-001") and second["number"].endswith("-002")
    assert first["deadline"].startswith("2026-11-15") and second["deadline"].startswith("2026-11-19")


def test_device_clock_three_days_ahead_keeps_its_work_flagged_and_an_honest_edit_later_still_wins(
        app_factory, people, tmp_path):
    server_now = [hlc.now_ms()]
    app = app_factory(CLOCK_MS=lambda: server_now[0])
    engine = app.extensions["fieldsync"].engine

    def device(person, wall):
        return Replica(tmp_path / f"{person.device_id}.r", person.device_id,
                       HttpTransport(http_client(app), person.token), wall=wall)

    desk = device(people["desk"], lambda: server_now[0])
    skewed = device(people["wang"], lambda: server_now[0] + 3 * DAY)
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    skewed.sync()
    skewed.update("ticket", ids["ticket"], category="B", diagnosis="controller board")
    log = skewed.insert("work_log", ticket_id=ids["ticket"], engineer_id=people["wang"].user_id, event="arrived",
                        at="2026-11-26T09:00:00+08:00")
    skewed.sync()
    with engine.connect() as conn:
        newest = conn.execute(sa.select(sa.func.max(change_log.c.hlc))).scalar()
    assert hlc.parse(newest).wall <= server_now[0] + hlc.MAX_DRIFT_MS
    entry = server_row(engine, "work_log", log)
    assert entry["skew_ms"] >= 3 * DAY - 60_000
    assert entry["device_time"] is not None
    assert server_row(engine, "ticket", ids["ticket"])["diagnosis"] == "controller board"
    server_now[0] += HOUR
    desk.update("ticket", ids["ticket"], category="A")  # an honest edit, an hour later
    desk.sync()
    skewed.sync()
    assert server_row(engine, "ticket", ids["ticket"])["category"] == "A"
    assert skewed.get("ticket", ids["ticket"])["category"] == "A"
    desk.close()
    skewed.close()


def engineer_and_desk_disagree_on_category(people, timeline) -> tuple:
    """Wang sets A offline; the desk sets B a minute later (by the clocks, not by luck)."""
    desk = timeline.device(people["desk"])
    wang = timeline.device(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id, category="C")
    wang.sync()
    wang.update("ticket", ids["ticket"], category="A")
    timeline.advance(60_000)
    desk.update("ticket", ids["ticket"], category="B")
    return desk, wang, ids


def test_losing_engineer_sees_the_conflict_on_his_device(people, timeline):
    desk, wang, ids = engineer_and_desk_disagree_on_category(people, timeline)
    wang.sync()
    desk.sync()
    wang.sync()
    notes = [c for c in wang.all("conflict").values() if c["field"] == "category"]
    assert notes and notes[0]["lost_value"] == "A" and notes[0]["kept_value"] == "B"


def test_office_lists_open_conflicts_and_settles_one_by_restoring_the_lost_value(people, timeline, engine):
    client = timeline.app.test_client()
    desk, wang, ids = engineer_and_desk_disagree_on_category(people, timeline)
    wang.sync()
    desk.sync()
    listed = client.get("/v1/office/conflicts", headers=auth_header(people["manager"])).json["conflicts"]
    [conflict] = [c for c in listed if c["field"] == "category"]
    answer = client.post(f"/v1/office/conflicts/{conflict['id']}/resolve", headers=auth_header(people["manager"]),
                         json={"choose": "lost", "reason": "engineer verified it out of warranty on site"})
    assert answer.status_code == 200 and answer.json["status"] == "resolved"
    assert answer.json["resolution"]["by"] == people["manager"].user_id
    assert server_row(engine, "ticket", ids["ticket"])["category"] == "A"
    wang.sync()
    assert wang.get("ticket", ids["ticket"])["category"] == "A"
    again = client.post(f"/v1/office/conflicts/{conflict['id']}/resolve", headers=auth_header(people["manager"]),
                        json={"choose": "kept", "reason": "twice"})
    assert (again.status_code, again.json["code"]) == (409, "conflict")
    engineer = client.get("/v1/office/conflicts", headers=auth_header(people["wang"]))
    assert (engineer.status_code, engineer.json["code"]) == (403, "forbidden")


def test_parts_are_issued_only_against_an_approved_requisition(people, replica_for, engine):
    desk, wang, depot = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["depot"])
    manager = replica_for(people["manager"])
    where = stock_setup(desk, people)
    wang.sync()
    requisition = wang.insert("requisition", engineer_id=people["wang"].user_id, depot_location_id=where["depot"],
                              van_location_id=where["van_wang"], lines=[{"part_id": where["part"], "qty": 2}])
    wang.sync()
    depot.sync()
    depot.insert("stock_movement", kind="issue", part_id=where["part"], qty=2.0, from_location_id=where["depot"],
                 to_location_id=where["van_wang"], requisition_id=requisition)
    depot.sync()
    assert depot.parked()[-1].code == "requisition_not_approved"
    manager.sync()
    manager.update("requisition", requisition, status="approved")
    manager.sync()
    depot.sync()
    issue = depot.insert("stock_movement", kind="issue", part_id=where["part"], qty=2.0,
                         from_location_id=where["depot"], to_location_id=where["van_wang"], requisition_id=requisition)
    depot.sync()
    assert server_row(engine, "stock_movement", issue)["qty"] == 2.0
    assert depot.get("requisition", requisition)["issued"] is True


def test_engineers_collect_charges_only_on_paid_service(people, replica_for):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    warranty = desk_opens_ticket(desk, people["wang"].user_id, category="C")["ticket"]
    paid = desk_opens_ticket(desk, people["wang"].user_id, category="A")["ticket"]
    wang.sync()
    wang.insert("charge", ticket_id=warranty, kind="labour", amount=200.0, collected_on_site=True)
    wang.insert("charge", ticket_id=paid, kind="labour", amount=200.0, collected_on_site=True)
    wang.insert("charge", ticket_id=paid, kind="part_sale", amount=800.0, paid=True)
    wang.sync()
    assert [p.code for p in wang.parked()] == ["not_paid_service", "approval_required"]
    assert len(wang.all("charge")) == 1


@pytest.mark.parametrize(("warranty_end", "contract", "category"), [
    ("2027-06-30", False, "C"), ("2025-01-31", True, "B"), ("2025-01-31", False, "A"),
])
def test_service_category_comes_from_warranty_and_contract_when_the_desk_leaves_it_open(
        people, replica_for, engine, warranty_end, contract, category):
    desk = replica_for(people["desk"])
    customer = desk.insert("customer", name="Beiyuan Cold Storage")
    contract_id = desk.insert("contract", customer_id=customer, starts_on="2026-01-01",
                              ends_on="2026-12-31") if contract else None
    equipment = desk.insert("equipment", customer_id=customer, warranty_end=warranty_end, contract_id=contract_id)
    ticket = desk.insert("ticket", customer_id=customer, equipment_id=equipment, status="reported",
                         reported_at="2026-11-23T08:00:00+08:00")
    desk.sync()
    assert server_row(engine, "ticket", ticket)["category"] == category


def test_carried_back_repair_goes_through_the_workshop_with_receipt_and_repair_card(people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id)["ticket"]
    wang.sync()
    wang.update("ticket", ticket, status="on_site", arrived_at="2026-11-23T09:40:00+08:00")
    wang.update("ticket", ticket, diagnosis="主板电源模块损坏", actions="带回维修：更换电源模块", result="送回后开机运行正常")
    wang.update("ticket", ticket, status="carried_back", carried_back=True, receipt_number="R-0042")
    wang.sync()
    wang.update("ticket", ticket, status="in_workshop")
    wang.update("ticket", ticket, repair_card={"hours": 3.5, "parts": ["BLT-200"], "notes": "belt and pulley"})
    wang.update("ticket", ticket, status="returned", returned_at="2026-11-25T15:00:00+08:00")
    wang.update("ticket", ticket, status="completed")
    wang.sync()
    row = server_row(engine, "ticket", ticket)
    assert (row["status"], row["carried_back"], row["receipt_number"]) == ("completed", True, "R-0042")
    desk.sync()
    assert desk.get("ticket", ticket)["repair_card"]["hours"] == 3.5
