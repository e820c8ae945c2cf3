"""What a write does to other fields and rows in the same push
(:mod:`server.domain.effects`): numbers, categories, deadlines, allowances, stale
signatures, the desk told of work kept after a reassignment."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import sqlalchemy as sa

from server.tables import entity_table
from sync import hlc
from tests.test_domain_checks import Pusher, clock_of, refusal, stored


def test_王伟s_site_days_set_his_claims_allowance_at_the_daily_rate_to_the_fen(client, people, engine):
    """王伟 claims for three and a half days on site at 华信印刷厂, corrects it to a
    fraction of a day, edits the description (the allowance stays), then clears the days."""
    wang = Pusher(client, people["wang"])
    result = wang.one("expense_claim", "ex-trip", "insert", {
        "engineer_id": people["wang"].user_id, "kind": "claim", "amount": 360.0, "site_days": 3.5,
        "description": "天津滨海新区 华信印刷厂 三天半"})
    assert refusal(result) == ("applied",)
    allowances = [stored(engine, "expense_claim", "ex-trip")["allowance"]]
    for fields in ({"site_days": 2.12345}, {"description": "天津滨海新区 华信印刷厂"}, {"site_days": None}):
        version = stored(engine, "expense_claim", "ex-trip")["version"]
        assert refusal(wang.one("expense_claim", "ex-trip", "update", fields, version)) == ("applied",)
        allowances.append(stored(engine, "expense_claim", "ex-trip")["allowance"])
    assert allowances == [350.0, 212.34, 212.34, 0]  # 2.12345 days × 100: 212.344999…


def test_the_service_category_turns_on_the_day_a_warranty_or_contract_ends_or_starts(client, people, engine):
    """The desk leaves the category open; the server gives C within the warranty (its last
    day included, in the time zone the call was taken in), B under a contract in force
    (first and last day included, no end date for an open one, no start date for one in
    force since before it was recorded; the ticket's own contract before the
    equipment's), else A."""
    desk = Pusher(client, people["desk"])
    rows = [
        ("customer", "c-huaxin", "insert", {"name": "华信印刷厂", "address": "北京市朝阳区建国路88号", "zone": "ring2"}),
        ("contract", "k-ended", "insert", {"customer_id": "c-huaxin", "number": "HT-2026-001",
                                           "starts_on": "2026-01-01", "ends_on": "2026-11-23"}),
        ("contract", "k-next", "insert", {"customer_id": "c-huaxin", "number": "HT-2026-002",
                                          "starts_on": "2026-11-24"}),
        ("contract", "k-open", "insert", {"customer_id": "c-huaxin", "number": "HT-2025-009",
                                          "starts_on": "2025-06-01"}),
        ("contract", "k-undated", "insert", {"customer_id": "c-huaxin", "number": "HT-口头-003"}),
        ("contract", "k-end-only", "insert", {"customer_id": "c-huaxin", "number": "HT-2024-017",
                                              "ends_on": "2026-11-22"}),
        ("equipment", "e-warranty", "insert", {"customer_id": "c-huaxin", "model": "海德堡 SM52", "serial": "SN-0452",
                                               "warranty_end": "2026-11-23"}),
        ("equipment", "e-contract", "insert", {"customer_id": "c-huaxin", "model": "小森 L226", "serial": "SN-7781",
                                               "warranty_end": "2025-01-31", "contract_id": "k-ended"}),
        ("equipment", "e-bare", "insert", {"customer_id": "c-huaxin", "model": "罗兰 R700", "serial": "SN-3301"}),
        ("equipment", "e-new", "insert", {"customer_id": "c-huaxin", "model": "高宝 KBA105", "serial": "SN-9901",
                                          "warranty_end": "2099-12-31"}),
        ("equipment", "e-old", "insert", {"customer_id": "c-huaxin", "model": "海德堡 GTO52", "serial": "SN-0107",
                                          "warranty_end": "2020-01-31"}),
    ]
    tickets = {
        # id: (equipment, the ticket's contract, reported at, the desk's category) → the category given
        "t-warranty-last-day": (("e-warranty", None, "2026-11-23T23:30:00+08:00", None), "C"),
        "t-warranty-over": (("e-warranty", None, "2026-11-24T00:30:00+08:00", None), "A"),
        "t-contract-last-day": (("e-contract", None, "2026-11-23T18:00:00+08:00", None), "B"),
        "t-contract-over": (("e-contract", None, "2026-11-24T09:00:00+08:00", None), "A"),
        "t-before-contract": (("e-bare", "k-next", "2026-11-23T09:00:00+08:00", None), "A"),
        "t-contract-first-day": (("e-bare", "k-next", "2026-11-24T09:00:00+08:00", None), "B"),
        "t-open-contract": (("e-bare", "k-open", "2026-11-23T09:00:00+08:00", None), "B"),
        "t-own-contract-first": (("e-contract", "k-open", "2026-11-24T09:00:00+08:00", None), "B"),
        "t-undated-contract": (("e-bare", "k-undated", "2026-11-23T09:00:00+08:00", None), "B"),
        "t-end-only-contract-over": (("e-bare", "k-end-only", "2026-11-23T09:00:00+08:00", None), "A"),
        "t-nothing": (("e-bare", None, "2026-11-23T09:00:00+08:00", None), "A"),
        "t-no-equipment": ((None, None, "2026-11-23T09:00:00+08:00", None), "A"),
        "t-desk-says-b": (("e-warranty", None, "2026-11-23T09:00:00+08:00", "B"), "B"),
        "t-no-time-in-warranty": (("e-new", None, None, None), "C"),
        "t-no-time-after-warranty": (("e-old", None, None, None), "A"),  # reported when pushed, after 2020
        "t-naive-time": (("e-warranty", None, "2026-11-23T23:30:00", None), "C"),
    }
    for ticket_id, ((equipment, contract, reported_at, category), _) in tickets.items():
        fields = {"customer_id": "c-huaxin", "status": "reported", "urgency": "normal", "channel": "phone",
                  "fault_description": "开机报警 E-21", "equipment_id": equipment, "contract_id": contract,
                  "reported_at": reported_at, "category": category}
        rows.append(("ticket", ticket_id, "insert", {k: v for k, v in fields.items() if v is not None}))
    assert [r["status"] for r in desk.push(*rows)] == ["applied"] * len(rows)
    assert {t: stored(engine, "ticket", t)["category"] for t in tickets} == {t: c for t, (_, c) in tickets.items()}


def test_a_tickets_category_is_given_once_and_not_recomputed_when_its_equipment_changes(client, people, engine):
    desk = Pusher(client, people["desk"])
    assert [r["status"] for r in desk.push(
        ("customer", "c-huaxin", "insert", {"name": "华信印刷厂", "zone": "ring2"}),
        ("equipment", "e-bare", "insert", {"customer_id": "c-huaxin", "model": "罗兰 R700"}),
        ("equipment", "e-new", "insert", {"customer_id": "c-huaxin", "model": "高宝 KBA105", "warranty_end": "2099-12-31"}),
        ("ticket", "t-1", "insert", {"customer_id": "c-huaxin", "equipment_id": "e-bare", "status": "reported",
                                     "urgency": "normal", "channel": "phone", "fault_description": "卡纸"}),
    )] == ["applied"] * 4
    assert stored(engine, "ticket", "t-1")["category"] == "A"
    version = stored(engine, "ticket", "t-1")["version"]
    assert refusal(desk.one("ticket", "t-1", "update", {"equipment_id": "e-new"}, version)) == ("applied",)
    assert (stored(engine, "ticket", "t-1")["equipment_id"], stored(engine, "ticket", "t-1")["category"]) == ("e-new", "A")


def _conflicts(engine, row_id: str) -> list[dict]:
    table = entity_table("conflict")
    with engine.connect() as conn:
        found = conn.execute(sa.select(table).where(table.c.row_id == row_id)).mappings().all()
    return [{k: (orjson.loads(v) if k in ("kept_value", "lost_value", "withheld") and isinstance(v, str) else v)
             for k, v in row.items() if k in ("entity", "field", "rule", "winner", "kept_value", "kept_hlc", "lost_value",
                                              "lost_hlc", "mutation_id", "device_id", "status", "withheld")}
            for row in found]


def test_王伟s_offline_diagnosis_on_a_ticket_given_to_陈静_is_kept_and_the_desk_told_who_has_it(client, people, engine):
    desk, wang = Pusher(client, people["desk"]), Pusher(client, people["wang"])
    assert [r["status"] for r in desk.push(
        ("customer", "c-huaxin", "insert", {"name": "华信印刷厂", "zone": "ring2"}),
        ("ticket", "t-1", "insert", {"customer_id": "c-huaxin", "status": "dispatched", "urgency": "normal",
                                     "channel": "phone", "fault_description": "卡纸", "assignee_id": "u-wang"}),
        ("ticket", "t-mine", "insert", {"customer_id": "c-huaxin", "status": "dispatched", "urgency": "normal",
                                        "channel": "phone", "fault_description": "缺墨", "assignee_id": "u-wang"}),
    )] == ["applied"] * 3
    [moved] = desk.push(("ticket", "t-1", "update", {"assignee_id": "u-chen"}, stored(engine, "ticket", "t-1")["version"]))
    given_at = clock_of(engine, "ticket", "t-1", "assignee_id")
    assert given_at == desk.stamps[moved["mutation_id"]]
    version = stored(engine, "ticket", "t-mine")["version"]
    [offline, own] = wang.push(("ticket", "t-1", "update", {"diagnosis": "搓纸轮磨损"}, version),
                               ("ticket", "t-mine", "update", {"diagnosis": "墨盒堵塞"}, version))
    assert (moved["status"], offline["status"], own["status"]) == ("applied", "merged", "applied")
    assert stored(engine, "ticket", "t-1")["diagnosis"] == "搓纸轮磨损"
    wang_sent = wang.stamps[offline["mutation_id"]]
    assert _conflicts(engine, "t-1") == [{
        "entity": "ticket", "field": "assignee_id", "rule": "reassignment", "winner": "stored",
        "kept_value": None, "kept_hlc": None, "withheld": {"kept_value": "u-chen", "kept_hlc": given_at},
        "lost_value": "u-wang", "lost_hlc": wang_sent, "mutation_id": offline["mutation_id"], "device_id": "d-wang",
        "status": "open"}]
    assert _conflicts(engine, "t-mine") == []


def as_time(value) -> datetime:
    """A time column as read back: ISO text or a datetime, naive read as UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def test_a_complaint_is_due_thirteen_days_after_it_was_received_seventeen_from_abroad(client, people, engine):
    """The desk records four complaints: one from Beijing, one from Singapore, one taken
    down without the time it came in (due from when it was written), one whose deadline
    head office agreed with the customer."""
    desk = Pusher(client, people["desk"])
    results = desk.push(
        ("complaint", "cp-home", "insert", {"description": "工程师未按约定时间到达", "received_at": "2026-11-02T10:00:00+08:00"}),
        ("complaint", "cp-away", "insert", {"description": "新加坡客户：备件迟迟未到", "abroad": True,
                                            "received_at": "2026-11-02T10:00:00+08:00"}),
        ("complaint", "cp-naive", "insert", {"description": "维修后故障复发", "received_at": "2026-11-02T10:00:00"}),
        ("complaint", "cp-untimed", "insert", {"description": "电话里态度不好", "abroad": False}),
        ("complaint", "cp-agreed", "insert", {"description": "报价过高", "received_at": "2026-11-02T10:00:00+08:00",
                                              "deadline": "2026-11-30T18:00:00+08:00"}),
    )
    assert [r["status"] for r in results] == ["applied"] * 5
    untimed_sent = datetime.fromtimestamp(hlc.wall_of(desk.stamps[results[3]["mutation_id"]]) / 1000, timezone.utc)
    rows = {c: stored(engine, "complaint", c) for c in ("cp-home", "cp-away", "cp-naive", "cp-untimed", "cp-agreed")}
    assert {c: as_time(row["deadline"]) for c, row in rows.items()} == {
        "cp-home": datetime(2026, 11, 15, 2, 0, tzinfo=timezone.utc),
        "cp-away": datetime(2026, 11, 19, 2, 0, tzinfo=timezone.utc),
        "cp-naive": datetime(2026, 11, 15, 10, 0, tzinfo=timezone.utc),
        "cp-untimed": untimed_sent + timedelta(days=13),
        "cp-agreed": datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc),
    }
    month = untimed_sent.strftime("%y%m")
    assert [rows[c]["number"] for c in rows] == [f"C{month}-{n:03d}" for n in range(1, 6)]


def test_a_complaint_edited_keeps_its_number_and_deadline(client, people, engine):
    desk = Pusher(client, people["desk"])
    assert refusal(desk.one("complaint", "cp-1", "insert", {
        "description": "工程师未按约定时间到达", "received_at": "2026-11-02T10:00:00+08:00"})) == ("applied",)
    before = stored(engine, "complaint", "cp-1")
    assert refusal(desk.one("complaint", "cp-1", "update", {"received_at": "2026-11-05T10:00:00+08:00",
                                                            "abroad": True}, before["version"])) == ("applied",)
    after = stored(engine, "complaint", "cp-1")
    assert (after["number"], as_time(after["deadline"])) == (before["number"], as_time(before["deadline"]))
