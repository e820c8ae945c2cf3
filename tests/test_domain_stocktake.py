"""Stocktakes (003 备件管理: 帐物一致): a count sheet records the shelf; the server lists
its differences against the ledger as of the count, and posts them once approved —
once, whatever arrives later."""

from __future__ import annotations

from datetime import datetime, timezone

from server.auth import add_device
from tests.conftest import Person, auth_header
from tests.test_domain_writeoff import open_job, rows_where, stock_and_vans

HOUR = 3_600_000


def at(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat()


def reconciliation(timeline, person: Person) -> dict:
    answer = timeline.app.test_client().get("/v1/depot/reconciliation", headers=auth_header(person))
    assert answer.status_code == 200, answer.json
    return answer.json


def depot_level(body: dict, location: str, part: str) -> float:
    return sum(lv["qty"] for lv in body["levels"]
               if (lv["location_id"], lv["part_id"], lv["condition"]) == (location, part, "new"))


def test_stocktake_with_a_missing_belt_shows_the_difference_and_posts_one_adjustment_when_approved_twice(
        people, timeline, engine):
    desk, depot, manager = (timeline.device(people[name]) for name in ("desk", "depot", "manager"))
    with engine.begin() as conn:
        _, token = add_device(conn, people["manager"].user_id, "经理的笔记本", device_id="d-manager-laptop")
    laptop = timeline.device(Person(people["manager"].user_id, "manager", "d-manager-laptop", token))
    where = stock_and_vans(desk, people)
    keeper = people["depot"].user_id
    depot.sync()
    depot.insert("stock_movement", kind="receive", part_id=where["belt"], qty=5.0, condition="new",
                 to_location_id=where["depot"], held_by=keeper, note="供应商到货，接收单 R-2611-031")
    depot.sync()
    timeline.advance(HOUR)
    count = depot.insert("stock_count", location_id=where["depot"], counted_by=keeper, counted_at=at(timeline.now),
                         lines=[{"part_id": where["belt"], "condition": "new", "qty": 4}], note="月末盘点：货架B-3")
    depot.sync()

    [listed] = reconciliation(timeline, people["depot"])["open_counts"]
    assert (listed["count_id"], listed["counted_by"]) == (count, keeper)
    assert listed["differences"] == [
        {"part_id": where["belt"], "condition": "new", "counted": 4.0, "ledger": 5.0, "difference": -1.0}]
    assert rows_where(engine, "stock_movement", count_id=count) == []  # nothing posted before approval

    desk.sync()
    desk.update("stock_count", count, approved=True)  # the desk is not the depot keeper's leader
    desk.sync()
    assert [p.code for p in desk.parked()] == ["count_approval_not_allowed"]
    manager.sync()
    laptop.sync()
    timeline.advance(HOUR)
    manager.update("stock_count", count, approved=True)
    manager.sync()
    laptop.update("stock_count", count, approved=True)  # approved again, from another device
    laptop.sync()
    assert laptop.parked() == []

    [adjustment] = rows_where(engine, "stock_movement", count_id=count)
    assert (adjustment["kind"], adjustment["qty"], adjustment["to_location_id"]) == (
        "stocktake_adjustment", -1.0, where["depot"])
    [approved] = rows_where(engine, "stock_count", id=count)
    assert (approved["approved"], approved["approved_by"]) == (True, people["manager"].user_id)
    body = reconciliation(timeline, people["depot"])
    assert body["open_counts"] == []
    assert depot_level(body, where["depot"], where["belt"]) == 4.0

    depot.sync()
    depot.update("stock_count", count, lines=[{"part_id": where["belt"], "condition": "new", "qty": 5}])
    depot.sync()
    assert [(p.code, p.field) for p in depot.parked()] == [("count_approved", "lines")]
    assert len(rows_where(engine, "stock_movement", count_id=count)) == 1


def test_belt_taken_before_the_count_but_synced_after_its_approval_is_not_missing_twice(people, timeline, engine):
    desk, depot, manager, wang = (timeline.device(people[name]) for name in ("desk", "depot", "manager", "wang"))
    where = stock_and_vans(desk, people)
    keeper = people["depot"].user_id
    depot.sync()
    depot.insert("stock_movement", kind="receive", part_id=where["belt"], qty=5.0, condition="new",
                 to_location_id=where["depot"], held_by=keeper)
    depot.sync()
    job = open_job(desk, people["wang"])
    wang.sync()
    timeline.advance(HOUR)
    # Wang takes a belt off the depot's shelf for his job with no signal in the store room
    wang.insert("stock_movement", kind="consume", part_id=where["belt"], qty=1.0, condition="new",
                from_location_id=where["depot"], ticket_id=job, note="急修备用")
    timeline.advance(HOUR)
    count = depot.insert("stock_count", location_id=where["depot"], counted_by=keeper, counted_at=at(timeline.now),
                         lines=[{"part_id": where["belt"], "condition": "new", "qty": 4}])
    depot.sync()
    timeline.advance(HOUR)
    manager.sync()
    manager.update("stock_count", count, approved=True)
    manager.sync()
    assert [m["qty"] for m in rows_where(engine, "stock_movement", count_id=count)] == [-1.0]
    timeline.advance(HOUR)
    # after the count, another belt goes to his job, still offline
    wang.insert("stock_movement", kind="consume", part_id=where["belt"], qty=1.0, condition="new",
                from_location_id=where["depot"], ticket_id=job)
    timeline.advance(HOUR)
    wang.sync()

    adjustments = rows_where(engine, "stock_movement", count_id=count)
    assert sorted(m["qty"] for m in adjustments) == [-1.0, 1.0]  # compensated, never edited
    body = reconciliation(timeline, people["manager"])
    assert depot_level(body, where["depot"], where["belt"]) == 3.0  # 4 on the shelf at the count, 1 taken since
    assert len(rows_where(engine, "stock_movement", ticket_id=job, kind="consume")) == 2  # both fitted on his job
    assert rows_where(engine, "stock_location", id=where["depot"])[0]["counted_as_of"] is not None
