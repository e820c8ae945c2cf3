"""Stocktakes (003 备件管理: 帐物一致): a count sheet records the shelf; the server lists
its differences against the ledger as of the count, and posts them once approved —
once, whatever arrives later."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest

from server.auth import add_device, add_user
from server.domain.stocktake import _bad_lines, as_of_text, count_key, open_counts
from server.tables import entity_table
from tests.conftest import Person, auth_header
from tests.test_domain_writeoff import open_job, rows_where, stock_and_vans

HOUR = 3_600_000
BEIJING = timezone(timedelta(hours=8))


def at(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat()


def five_belts_delivered(device, where: dict, keeper: str) -> None:
    """The keeper's device books a supplier's five new belts onto the depot's shelf."""
    device.sync()
    device.insert("stock_movement", kind="receive", part_id=where["belt"], qty=5.0, condition="new",
                  to_location_id=where["depot"], held_by=keeper, note="供应商到货")
    device.sync()


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
    assert [(p.code, p.field, p.message) for p in depot.parked()] == [
        ("count_approved", "lines", "an approved count is closed and its differences posted: count again")]
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


def test_a_tablet_two_hours_fast_counts_the_shelf_as_of_the_true_time_and_approving_an_older_count_keeps_the_latest(
        people, timeline, engine, machine_zone):
    """The keeper's tablet runs two hours fast. He counts five belts at (true) eight; at
    nine 王伟 takes one; the tablet syncs at eleven. The count's ledger is the five before
    it, not the four after, because its time (ten by the tablet) is put on the server's
    line. Head office approves Tuesday's recount
    first and Monday's after it: the depot's last approved count stays Tuesday's. The
    server runs in Beijing's zone: a count's time is kept in UTC all the same, so that its
    text sorts as its time does."""
    machine_zone("Asia/Shanghai")
    desk, manager, wang = (timeline.device(people[name]) for name in ("desk", "manager", "wang"))
    tablet = timeline.device(people["depot"], skew_ms=2 * HOUR)
    where = stock_and_vans(desk, people)
    keeper = people["depot"].user_id
    five_belts_delivered(tablet, where, keeper)
    job = open_job(desk, people["wang"])
    wang.sync()
    timeline.advance(HOUR)
    monday = tablet.insert("stock_count", location_id=where["depot"], counted_by=keeper,
                           counted_at=datetime.fromtimestamp((timeline.now + 2 * HOUR) / 1000, BEIJING).isoformat(),
                           note="周一盘点（平板时间快两小时，北京时间）",
                           lines=[{"part_id": where["belt"], "condition": "new", "qty": 5}])
    timeline.advance(HOUR)
    wang.insert("stock_movement", kind="consume", part_id=where["belt"], qty=1.0, condition="new",
                from_location_id=where["depot"], ticket_id=job, note="急修领用")
    wang.sync()
    timeline.advance(2 * HOUR)
    tablet.sync()  # at true eleven: the count's own clock said ten, two hours fast
    assert [c["differences"] for c in reconciliation(timeline, people["depot"])["open_counts"]] == [[]]
    timeline.advance(24 * HOUR)
    tuesday = tablet.insert("stock_count", location_id=where["depot"], counted_by=keeper,
                            counted_at=at(timeline.now + 2 * HOUR), note="周二复盘",
                            lines=[{"part_id": where["belt"], "condition": "new", "qty": 4}])
    tablet.sync()
    manager.sync()
    for count in (tuesday, monday):
        manager.update("stock_count", count, approved=True)
        manager.sync()
    assert manager.parked() == []
    [tuesdays] = rows_where(engine, "stock_count", id=tuesday)
    assert tuesdays["as_of"].endswith("+00:00")
    assert rows_where(engine, "stock_location", id=where["depot"])[0]["counted_as_of"] == tuesdays["as_of"]
    assert rows_where(engine, "stock_movement", count_id=monday) == []


def test_a_count_timed_without_an_offset_is_kept_as_of_that_time_in_utc(people, timeline, engine):
    """An older tablet writes its count's time as ``2026-…T08:30:00`` with no offset. As
    every time field without one, it is read as UTC: the count's ledger is the shelf at
    that instant, and approving it posts nothing when the shelf matched."""
    desk, depot, manager = (timeline.device(people[name]) for name in ("desk", "depot", "manager"))
    where = stock_and_vans(desk, people)
    keeper = people["depot"].user_id
    five_belts_delivered(depot, where, keeper)
    timeline.advance(HOUR)
    counted = datetime.fromtimestamp(timeline.now / 1000, timezone.utc).replace(tzinfo=None, microsecond=0)
    count = depot.insert("stock_count", location_id=where["depot"], counted_by=keeper,
                         counted_at=counted.isoformat(), note="旧平板盘点：货架B-3（无时区）",
                         lines=[{"part_id": where["belt"], "condition": "new", "qty": 5}])
    depot.sync()
    assert depot.parked() == []
    [stored] = rows_where(engine, "stock_count", id=count)
    assert stored["as_of"] == as_of_text(counted.replace(tzinfo=timezone.utc))
    assert [c["differences"] for c in reconciliation(timeline, people["depot"])["open_counts"]] == [[]]
    manager.sync()
    manager.update("stock_count", count, approved=True)
    manager.sync()
    assert manager.parked() == []
    assert rows_where(engine, "stock_movement", count_id=count) == []


def posted_by(engine, count: str) -> list[tuple]:
    """A count's adjustments, ``(condition, qty)`` in order of size."""
    return sorted((m["condition"], m["qty"]) for m in rows_where(engine, "stock_movement", count_id=count))


@pytest.mark.parametrize("phone_syncs", ["after both approvals", "between Tuesday's count and its approval"])
def test_a_belt_taken_before_two_approved_counts_and_synced_late_corrects_the_first_and_leaves_the_second(
        people, timeline, engine, phone_syncs):
    """Five belts on the shelf; 王伟 takes one with no signal before Monday's count, and
    hands in an old one. The keeper counts four new belts and the old one on Monday, three
    new on Tuesday; head office approves both, and 王伟's phone syncs after both approvals
    or between Tuesday's count and its approval. Monday's count is corrected (+1: the belt
    it missed had left before it), Tuesday's needs nothing more than its one belt (its
    ledger holds Monday's adjustments and the late belt, by when it was taken, not its own
    or later ones), and the shelf ends at Tuesday's three."""
    desk, depot, manager, wang = (timeline.device(people[name]) for name in ("desk", "depot", "manager", "wang"))
    where = stock_and_vans(desk, people)
    keeper = people["depot"].user_id
    five_belts_delivered(depot, where, keeper)
    job = open_job(desk, people["wang"])
    wang.sync()
    timeline.advance(HOUR)
    wang.insert("stock_movement", kind="consume", part_id=where["belt"], qty=1.0, condition="new",
                from_location_id=where["depot"], ticket_id=job, note="库房无信号，先取后补")
    depot.insert("stock_movement", kind="transfer", part_id=where["belt"], qty=1.0, condition="old",
                 from_location_id=where["van_wang"], to_location_id=where["depot"], held_by=people["wang"].user_id,
                 note="王伟交回旧皮带")
    depot.sync()
    assert depot.parked() == [], [(p.code, p.message) for p in depot.parked()]
    counts = []
    for lines, note in (([{"part_id": where["belt"], "condition": "new", "qty": 4},
                          {"part_id": where["belt"], "condition": "old", "qty": 1}], "周一盘点"),
                        ([{"part_id": where["belt"], "condition": "new", "qty": 3}], "周二盘点")):
        timeline.advance(24 * HOUR)
        counts.append(depot.insert("stock_count", location_id=where["depot"], counted_by=keeper,
                                   counted_at=at(timeline.now), lines=lines, note=note))
        depot.sync()
        if len(counts) == 2 and phone_syncs != "after both approvals":
            timeline.advance(HOUR)
            wang.sync()  # Tuesday's ledger reads the belt stored late, by when it was taken
        manager.sync()
        manager.update("stock_count", counts[-1], approved=True)
        manager.sync()
    monday, tuesday = counts

    if phone_syncs == "after both approvals":
        assert (posted_by(engine, monday), posted_by(engine, tuesday)) == ([("new", -1.0)], [("new", -1.0)])
        timeline.advance(HOUR)
        wang.sync()
    assert wang.parked() == []
    assert (posted_by(engine, monday), posted_by(engine, tuesday)) == ([("new", -1.0), ("new", 1.0)], [("new", -1.0)])
    assert depot_level(reconciliation(timeline, people["manager"]), where["depot"], where["belt"]) == 3.0


def test_two_belts_and_a_fuse_taken_before_an_approved_count_and_synced_together_each_correct_it_once(
        people, timeline, engine):
    """Five belts on the shelf. With no signal in the store room 王伟 takes a fuse and two
    belts (their condition left unsaid: new). The keeper counts three belts; head office
    approves, which posts two missing. 王伟's phone then brings all three in one push: each
    belt, taken before the count, corrects it by one, the second counting the first's
    correction, and the shelf ends at the three counted."""
    desk, depot, manager, wang = (timeline.device(people[name]) for name in ("desk", "depot", "manager", "wang"))
    where = stock_and_vans(desk, people)
    keeper = people["depot"].user_id
    five_belts_delivered(depot, where, keeper)
    depot.insert("stock_movement", kind="receive", part_id=where["fuse"], qty=10.0, condition="new",
                 to_location_id=where["depot"], held_by=keeper, note="供应商到货")
    depot.sync()
    job = open_job(desk, people["wang"])
    wang.sync()
    timeline.advance(HOUR)
    wang.insert("stock_movement", kind="consume", part_id=where["fuse"], qty=1.0, condition="new",
                from_location_id=where["depot"], ticket_id=job, note="库房无信号：保险丝")
    for note in ("库房无信号：第一条皮带", "库房无信号：第二条皮带"):
        wang.insert("stock_movement", kind="consume", part_id=where["belt"], qty=1.0,
                    from_location_id=where["depot"], ticket_id=job, note=note)
    timeline.advance(HOUR)
    count = depot.insert("stock_count", location_id=where["depot"], counted_by=keeper, counted_at=at(timeline.now),
                         lines=[{"part_id": where["belt"], "condition": "new", "qty": 3}], note="月末盘点：少两条")
    depot.sync()
    manager.sync()
    manager.update("stock_count", count, approved=True)
    manager.sync()
    assert posted_by(engine, count) == [("new", -2.0)]
    timeline.advance(HOUR)
    wang.sync()
    assert wang.parked() == [], [(p.code, p.message) for p in wang.parked()]
    assert posted_by(engine, count) == [("new", -2.0), ("new", 1.0), ("new", 1.0)]
    assert depot_level(reconciliation(timeline, people["manager"]), where["depot"], where["belt"]) == 3.0


def test_an_old_belt_handed_in_before_the_count_and_synced_after_its_approval_is_not_counted_twice(
        people, timeline, engine):
    """王伟 hands his old belt in at the depot counter while the keeper's tablet has no
    signal; the keeper counts one old belt on the returns shelf (and the five new), head
    office approves, which posts the old belt as found. When the tablet syncs, the handing
    in (into the depot, old) corrects the count: the returns shelf ends at one, not two."""
    desk, depot, manager = (timeline.device(people[name]) for name in ("desk", "depot", "manager"))
    with engine.begin() as conn:
        _, token = add_device(conn, people["depot"].user_id, "库房平板", device_id="d-depot-tablet")
    tablet = timeline.device(Person(people["depot"].user_id, "depot", "d-depot-tablet", token))
    where = stock_and_vans(desk, people)
    keeper = people["depot"].user_id
    five_belts_delivered(depot, where, keeper)
    tablet.sync()
    timeline.advance(HOUR)
    tablet.insert("stock_movement", kind="transfer", part_id=where["belt"], qty=1.0, condition="old",
                  from_location_id=where["van_wang"], to_location_id=where["depot"], held_by=people["wang"].user_id,
                  note="王伟交回旧皮带（平板无信号）")
    timeline.advance(HOUR)
    count = depot.insert("stock_count", location_id=where["depot"], counted_by=keeper, counted_at=at(timeline.now),
                         lines=[{"part_id": where["belt"], "condition": "new", "qty": 5},
                                {"part_id": where["belt"], "condition": "old", "qty": 1}], note="盘点：回收架一条旧皮带")
    depot.sync()
    manager.sync()
    manager.update("stock_count", count, approved=True)
    manager.sync()
    assert posted_by(engine, count) == [("old", 1.0)]
    timeline.advance(HOUR)
    tablet.sync()
    assert tablet.parked() == [], [(p.code, p.message) for p in tablet.parked()]
    assert posted_by(engine, count) == [("old", -1.0), ("old", 1.0)]
    levels = reconciliation(timeline, people["manager"])["levels"]
    assert sorted((lv["condition"], lv["qty"]) for lv in levels
                  if (lv["location_id"], lv["part_id"]) == (where["depot"], where["belt"])) == [("new", 5.0), ("old", 1.0)]


def test_tuesdays_count_approved_before_mondays_in_one_push_leaves_monday_matching_the_shelf(people, timeline, engine):
    """Monday's count finds the five belts; by Tuesday one is lost (no record). The
    manager approves Tuesday's count and then Monday's, offline, and both approvals come
    in one push: Tuesday's loss, posted first, is after Monday's count and not in its
    ledger, so Monday posts nothing."""
    desk, depot, manager = (timeline.device(people[name]) for name in ("desk", "depot", "manager"))
    where = stock_and_vans(desk, people)
    keeper = people["depot"].user_id
    five_belts_delivered(depot, where, keeper)
    counts = []
    for qty, note in ((5, "周一盘点"), (4, "周二盘点：丢失一条")):
        timeline.advance(24 * HOUR)
        counts.append(depot.insert("stock_count", location_id=where["depot"], counted_by=keeper,
                                   counted_at=at(timeline.now), note=note,
                                   lines=[{"part_id": where["belt"], "condition": "new", "qty": qty}]))
        depot.sync()
    monday, tuesday = counts
    manager.sync()
    manager.update("stock_count", tuesday, approved=True)
    manager.update("stock_count", monday, approved=True)
    manager.sync()
    assert manager.parked() == []
    assert (posted_by(engine, monday), posted_by(engine, tuesday)) == ([], [("new", -1.0)])
    assert depot_level(reconciliation(timeline, people["manager"]), where["depot"], where["belt"]) == 4.0


@pytest.mark.parametrize("phone_syncs", ["before the approval", "after the approval"])
def test_a_belt_taken_in_the_millisecond_of_the_count_was_gone_from_the_shelf_it_counted(
        people, timeline, engine, phone_syncs):
    """王伟 takes a belt in the very millisecond the keeper's count is timed. A count
    holds what happened up to and including its moment: the belt is in its ledger, whether
    王伟's phone syncs before the approval or after it."""
    desk, depot, manager, wang = (timeline.device(people[name]) for name in ("desk", "depot", "manager", "wang"))
    where = stock_and_vans(desk, people)
    keeper = people["depot"].user_id
    five_belts_delivered(depot, where, keeper)
    job = open_job(desk, people["wang"])
    wang.sync()
    timeline.advance(HOUR)
    wang.insert("stock_movement", kind="consume", part_id=where["belt"], qty=1.0, condition="new",
                from_location_id=where["depot"], ticket_id=job, note="盘点同时领用")
    count = depot.insert("stock_count", location_id=where["depot"], counted_by=keeper, counted_at=at(timeline.now),
                         lines=[{"part_id": where["belt"], "condition": "new", "qty": 4}], note="盘点：四条")
    timeline.advance(HOUR)
    if phone_syncs == "before the approval":
        wang.sync()
    depot.sync()
    manager.sync()
    manager.update("stock_count", count, approved=True)
    manager.sync()
    wang.sync()
    assert wang.parked() == []
    taken = rows_where(engine, "stock_movement", note="盘点同时领用")[0]["device_time"]
    taken = taken if taken.tzinfo else taken.replace(tzinfo=timezone.utc)  # SQLite: naive UTC
    assert as_of_text(taken) == rows_where(engine, "stock_count", id=count)[0]["as_of"]
    assert sum(qty for _, qty in posted_by(engine, count)) == 0.0
    assert depot_level(reconciliation(timeline, people["manager"]), where["depot"], where["belt"]) == 4.0


def test_a_managers_spot_count_approved_in_the_push_that_brings_the_write_offs_around_it_needs_no_adjustment(
        people, timeline, engine):
    """The manager spot-checks the depot with no signal in the store room: he writes off a
    fuse that blew and a belt dropped in the yard (its condition left unsaid: new), counts
    four belts at ten, writes off a belt he finds cracked at half past, and at eleven
    types in his count sheet with the time he counted and approves it; one push brings
    all of it. The count's ledger holds the two write-offs made before ten and not the
    one after: nothing to adjust, and the shelf ends at three."""
    desk, depot, manager = (timeline.device(people[name]) for name in ("desk", "depot", "manager"))
    where = stock_and_vans(desk, people)
    keeper, boss = people["depot"].user_id, people["manager"].user_id
    depot.sync()
    for part, qty in (("belt", 5.0), ("fuse", 10.0)):
        depot.insert("stock_movement", kind="receive", part_id=where[part], qty=qty, condition="new",
                     to_location_id=where["depot"], held_by=keeper, note="供应商到货")
    depot.sync()
    manager.sync()
    timeline.advance(HOUR)
    manager.insert("stock_movement", kind="write_off", part_id=where["fuse"], qty=1.0, condition="new",
                   from_location_id=where["depot"], held_by=keeper, note="保险丝熔断")
    manager.insert("stock_movement", kind="write_off", part_id=where["belt"], qty=1.0,
                   from_location_id=where["depot"], held_by=keeper, note="搬运时掉在院子里")
    timeline.advance(HOUR)
    counted_at = timeline.now
    timeline.advance(HOUR // 2)
    manager.insert("stock_movement", kind="write_off", part_id=where["belt"], qty=1.0, condition="new",
                   from_location_id=where["depot"], held_by=keeper, note="发现皮带开裂")
    timeline.advance(HOUR // 2)
    count = manager.insert("stock_count", location_id=where["depot"], counted_by=boss, counted_at=at(counted_at),
                           lines=[{"part_id": where["belt"], "condition": "new", "qty": 4}], note="经理抽盘",
                           approved=True)
    manager.sync()
    assert manager.parked() == [], [(p.code, p.message) for p in manager.parked()]
    assert rows_where(engine, "stock_count", id=count)[0]["approved"] is True
    assert rows_where(engine, "stock_movement", count_id=count) == []
    assert depot_level(reconciliation(timeline, people["manager"]), where["depot"], where["belt"]) == 3.0


BELT, FUSE = "part-belt", "part-fuse"
NAMES_PART = "each line names its part_id"
COUNTS = "each line counts a quantity of zero or more"


@pytest.mark.parametrize(("lines", "why"), [
    (None, None),  # a sheet started before anything was counted
    ([], None),
    ([{"part_id": BELT, "qty": 0}], None),  # an empty shelf is a count
    ([{"part_id": BELT, "condition": "new", "qty": 4}, {"part_id": BELT, "condition": "old", "qty": 2},
      {"part_id": FUSE, "qty": 15.5}], None),
    ([{"part_id": BELT, "qty": 999_999_999_999.0}], None),
    ({"part_id": BELT, "qty": 4}, "a list of {part_id, condition, qty}"),
    ("货架B-3：皮带4条", "a list of {part_id, condition, qty}"),
    ([BELT], NAMES_PART),
    ([{"qty": 4}], NAMES_PART),
    ([{"part_id": "", "qty": 4}], NAMES_PART),
    ([{"part_id": 7, "qty": 4}], NAMES_PART),
    ([{"part_id": BELT}], COUNTS),
    ([{"part_id": BELT, "qty": "4"}], COUNTS),
    ([{"part_id": BELT, "qty": True}], COUNTS),  # a tick is not a count
    ([{"part_id": BELT, "qty": -1}], COUNTS),
    ([{"part_id": BELT, "qty": 1e12}], COUNTS),
    ([{"part_id": BELT, "qty": 4, "condition": "损坏"}], "a line's condition is new or old"),
    ([{"part_id": BELT, "qty": 4, "condition": None}], "a line's condition is new or old"),
    ([{"part_id": BELT, "qty": 4}, {"part_id": BELT, "condition": "new", "qty": 1}], "each part and condition once"),
    ([{"part_id": BELT, "condition": "old", "qty": 4}, {"part_id": BELT, "condition": "old", "qty": 1}],
     "each part and condition once"),
    ([{"part_id": BELT, "qty": 4}, {"part_id": FUSE, "qty": -2}], COUNTS),  # the second line wrong
])
def test_a_count_sheets_lines_name_each_part_and_condition_once_with_a_quantity(lines, why):
    assert _bad_lines(lines) == why


def test_a_count_names_its_shelf_counter_and_time_and_once_approved_only_its_note_changes(people, timeline, engine):
    desk, depot, manager = (timeline.device(people[name]) for name in ("desk", "depot", "manager"))
    where = stock_and_vans(desk, people)
    keeper = people["depot"].user_id
    depot.sync()
    belts = [{"part_id": where["belt"], "condition": "new", "qty": 4}]
    counted = at(timeline.now)
    depot.insert("stock_count", counted_by=keeper, counted_at=counted, lines=belts)
    depot.insert("stock_count", location_id=where["depot"], counted_at=counted, lines=belts)
    depot.insert("stock_count", location_id=where["depot"], counted_by=keeper, lines=belts)
    depot.insert("stock_count", location_id=where["depot"], counted_by=keeper, counted_at=counted,
                 lines=[*belts, {"part_id": where["belt"], "qty": 1}])
    count = depot.insert("stock_count", location_id=where["depot"], counted_by=keeper, counted_at=counted, lines=belts)
    depot.sync()
    incomplete = "a count names its location, who counted and when"
    assert [(p.code, p.field, p.message) for p in depot.parked()] == [
        ("incomplete_count", "location_id", incomplete), ("incomplete_count", "counted_by", incomplete),
        ("incomplete_count", "counted_at", incomplete),
        ("invalid_value", "lines", "stock_count.lines: each part and condition once")]

    desk.sync()
    desk.update("stock_count", count, approved=True)
    desk.sync()
    assert [(p.code, p.field, p.message) for p in desk.parked()] == [
        ("count_approval_not_allowed", "approved", "a count is approved by manager")]
    manager.sync()
    timeline.advance(HOUR)
    manager.update("stock_count", count, approved=True)
    manager.sync()
    [approved] = rows_where(engine, "stock_count", id=count)
    assert (approved["approved"], approved["approved_by"], approved["approved_at"]) == (
        True, people["manager"].user_id, datetime.fromtimestamp(timeline.now / 1000, timezone.utc)
        .isoformat(timespec="microseconds"))

    depot.sync()
    depot.update("stock_count", count, note="复核：货架B-3 确认")  # the note is not what was approved
    depot.update("stock_count", count, lines=belts, counted_at=counted)  # sent again unchanged
    depot.update("stock_count", count, counted_at=at(timeline.now), lines=[])  # both changed: the first named
    depot.sync()
    assert [(p.code, p.field) for p in depot.parked()[4:]] == [("count_approved", "counted_at")]
    [closed] = rows_where(engine, "stock_count", id=count)
    assert (closed["note"], closed["counted_at"]) == ("复核：货架B-3 确认", approved["counted_at"])


def test_approving_mondays_count_posts_nothing_for_tuesdays_count_still_awaiting_approval(people, timeline, engine):
    """北京总库 received five belts and a ten-metre coil of cable; the keeper counted four
    belts and 9.5 metres on Monday, three belts and 9.5 metres on Tuesday. Head office
    approves Monday's (the manager enters the regional manager's approval given by phone
    the evening before, with its time): one belt and half a metre written off as of
    Monday's count, nothing for Tuesday, whose difference is still listed against the
    ledger as of Tuesday (four belts)."""
    desk, depot, manager = (timeline.device(people[name]) for name in ("desk", "depot", "manager"))
    where = stock_and_vans(desk, people)
    keeper = people["depot"].user_id
    depot.sync()
    cable = desk.insert("part", code="CBL-3x2.5", name="电源线 3×2.5", unit="米", returnable=False, price=6.5)
    desk.sync()
    depot.sync()
    depot.insert("stock_movement", kind="receive", part_id=where["belt"], qty=5.0, condition="new",
                 to_location_id=where["depot"], held_by=keeper, note="供应商到货")
    depot.insert("stock_movement", kind="receive", part_id=cable, qty=10.0, condition="new",
                 to_location_id=where["depot"], held_by=keeper, note="整卷电缆")
    depot.sync()
    counts = []
    for counted, note in ((4, "周一盘点：货架B-3"), (3, "周二复盘：货架B-3")):
        timeline.advance(24 * HOUR)
        counts.append(depot.insert("stock_count", location_id=where["depot"], counted_by=keeper,
                                   counted_at=at(timeline.now),
                                   lines=[{"part_id": where["belt"], "condition": "new", "qty": counted},
                                          {"part_id": cable, "condition": "new", "qty": 9.5}], note=note))
    depot.sync()
    monday, tuesday = counts
    with engine.begin() as conn:
        add_user(conn, "李经理", "manager", user_id="u-李经理")
    manager.sync()
    by_phone = at(timeline.now - 14 * HOUR)
    manager.update("stock_count", monday, approved=True, approved_by="u-李经理", approved_at=by_phone)
    manager.sync()
    assert manager.parked() == []
    assert [(c["approved_by"], c["approved_at"]) for c in rows_where(engine, "stock_count", id=monday)] == [
        ("u-李经理", by_phone)]
    [mondays] = rows_where(engine, "stock_count", id=monday)
    assert sorted((m["part_id"], m["qty"], m["occurred_at"]) for m in rows_where(
        engine, "stock_movement", count_id=monday)) == sorted([(where["belt"], -1.0, mondays["as_of"]),
                                                               (cable, -0.5, mondays["as_of"])])
    assert rows_where(engine, "stock_movement", count_id=tuesday) == []
    [listed] = reconciliation(timeline, people["depot"])["open_counts"]
    assert (listed["count_id"], listed["differences"]) == (tuesday, [
        {"part_id": where["belt"], "condition": "new", "counted": 3.0, "ledger": 4.0, "difference": -1.0}])


def test_open_counts_list_each_shelfs_differences_against_the_ledger_as_of_its_count_oldest_first_a_page_at_a_time(
        engine):
    """北京总库 received five belts on 20 November. Its keeper's counts, not yet approved:
    on the 23rd three and a half metres of belt and two cables nobody ever booked in; on
    the 24th (a count whose id sorts first) five belts and one old belt back from a van;
    one marked not approved whose sheet is still blank. A count head office approved on
    the 25th posted one belt missing: that is after both, so neither ledger holds it. A
    count deleted by mistake and the Nanjing depot's count are not on Beijing's list."""
    common = {"version": 1, "deleted": False, "clock": "{}"}
    beijing, nanjing = "loc-北京总库", "loc-南京分库"

    def moment(day: int, hour: int = 9) -> datetime:
        return datetime(2026, 11, day, hour, tzinfo=timezone.utc)

    def count(count_id: str, location: str, day: int, lines: list | None, **more) -> dict:
        return {**common, "id": count_id, "location_id": location, "counted_by": "u-depot",
                "counted_at": moment(day).isoformat(), "as_of": as_of_text(moment(day)),
                "lines": orjson.dumps(lines).decode() if lines is not None else None,
                "created_at": moment(day), "updated_at": moment(day), "note": None, "approved": None,
                "approved_by": None, **more}

    def line(part: str, qty: float, condition: str = "new") -> dict:
        return {"part_id": part, "condition": condition, "qty": qty}

    with engine.begin() as conn:
        conn.execute(entity_table("stock_location").insert(), [
            {**common, "id": beijing, "kind": "depot", "name": "北京总库", "depot_id": "depot-main",
             "created_at": moment(1), "updated_at": moment(1)},
            {**common, "id": nanjing, "kind": "depot", "name": "南京分库", "depot_id": "depot-south",
             "created_at": moment(1), "updated_at": moment(1)}])
        conn.execute(entity_table("stock_count").insert(), [
            count("c-2", beijing, 23, [line("part-belt", 3.5), {"part_id": "part-cable", "qty": 2.0},  # new, unsaid
                                       line("part-fuse", 0.0)],
                  note="季度盘点：皮带按米计"),
            count("c-1", beijing, 24, [line("part-belt", 5.0), line("part-belt", 1.0, "old")], note="复盘"),
            count("c-3", beijing, 24, None, approved=False, note="空白盘点表"),
            count("c-0", beijing, 23, [line("part-belt", 9.0)], deleted=True, note="录错了"),
            count("c-9", beijing, 25, [line("part-belt", 4.0)], approved=True, approved_by="u-manager"),
            count("c-5", nanjing, 23, [line("part-belt", 2.0)], note="南京盘点"),
        ])
        conn.execute(entity_table("stock_movement").insert(), [
            {**common, "id": "m-received", "kind": "receive", "part_id": "part-belt", "qty": 5.0, "condition": None,
             "to_location_id": beijing, "count_id": None, "device_time": moment(20), "occurred_at": moment(20).isoformat(),
             "created_at": moment(20), "updated_at": moment(20)},
            {**common, "id": "m-adjusted", "kind": "stocktake_adjustment", "part_id": "part-belt", "qty": -1.0,
             "condition": "new", "to_location_id": beijing, "count_id": "c-9", "device_time": None,
             "occurred_at": as_of_text(moment(25)), "created_at": moment(25), "updated_at": moment(25)}])

    def listed(count_id: str, day: int, note: str, differences: list[tuple]) -> dict:
        return {"count_id": count_id, "location_id": beijing, "counted_by": "u-depot",
                "counted_at": moment(day).isoformat(), "as_of": as_of_text(moment(day)), "note": note,
                "differences": [{"part_id": part, "condition": condition, "counted": counted, "ledger": ledger,
                                 "difference": difference}
                                for part, condition, counted, ledger, difference in differences]}

    expected = [
        listed("c-2", 23, "季度盘点：皮带按米计", [("part-belt", "new", 3.5, 5.0, -1.5),
                                                  ("part-cable", "new", 2.0, 0.0, 2.0)]),
        listed("c-1", 24, "复盘", [("part-belt", "old", 1.0, 0.0, 1.0)]),
        listed("c-3", 24, "空白盘点表", []),
    ]
    with engine.connect() as conn:
        assert open_counts(conn, [beijing]) == expected
        pages, after = [], None
        while page := open_counts(conn, [beijing], after, 1):
            pages.append(page)
            after = count_key(page[-1])
        assert pages == [[row] for row in expected]
        assert [row["count_id"] for row in open_counts(conn, None)] == ["c-2", "c-5", "c-1", "c-3"]
