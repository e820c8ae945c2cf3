"""Requisitions drive issues (server/domain/requisitions.py): the lines a requisition may
hold, how far an approval lets the depot issue, and what the depot's view of its vans
says was asked, approved, issued, left and over.

王伟 (wang) asks for parts for his van, the manager approves, the depot keeper issues.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest
import sqlalchemy as sa

from server.domain.requisitions import _ms, balances, check_lines
from server.domain.requisitions import vans as requisition_vans
from server.tables import entity_table
from sync.client import Replica
from tests.conftest import auth_header
from tests.scenario import stock_setup
from tests.test_domain_approvals import approved_requisition, issue, server_row

MINUTE = 60_000

LINES_MESSAGE = 'lines are a list of {"part_id": "...", "qty": a positive number}'


@pytest.mark.parametrize(("lines", "why"), [
    (None, None),  # none yet: a requisition may be started before its lines
    ([], None),
    ([{"part_id": "part-belt", "qty": 2}], None),
    ([{"part_id": "part-belt", "qty": 0.5}, {"part_id": "part-fuse", "qty": 10}], None),
    ({"part_id": "part-belt", "qty": 2}, LINES_MESSAGE),  # one line, not a list of them
    ("传动皮带 2 条", LINES_MESSAGE),
    (["part-belt"], LINES_MESSAGE),
    ([{"qty": 2}], LINES_MESSAGE),
    ([{"part_id": "", "qty": 2}], LINES_MESSAGE),
    ([{"part_id": 17, "qty": 2}], LINES_MESSAGE),
    ([{"part_id": "part-belt"}], LINES_MESSAGE),
    ([{"part_id": "part-belt", "qty": "2"}], LINES_MESSAGE),
    ([{"part_id": "part-belt", "qty": True}], LINES_MESSAGE),  # a tick box is not a quantity
    ([{"part_id": "part-belt", "qty": 0}], LINES_MESSAGE),
    ([{"part_id": "part-belt", "qty": -1.0}], LINES_MESSAGE),
    ([{"part_id": "part-belt", "qty": 2}, {"part_id": "part-fuse", "qty": 0}], LINES_MESSAGE),  # the second bad
])
def test_a_requisitions_lines_are_parts_each_with_a_positive_quantity(lines, why):
    assert check_lines(lines) == why


def vans(client, person) -> list[dict]:
    answer = client.get("/v1/depot/vans", headers=auth_header(person))
    assert answer.status_code == 200, answer.json
    return answer.json["vans"]


def refusals(replica) -> list[tuple]:
    return [(p.code, p.field, p.message) for p in replica.parked()]


def test_an_issue_goes_from_the_requisitions_depot_to_its_van_only_for_a_part_it_lists_and_as_far_as_approved(
        people, replica_for, engine):
    where, requisition, devices = approved_requisition(people, replica_for)
    desk, depot, wang = devices["desk"], devices["depot"], devices["wang"]
    fuse = desk.insert("part", code="FUS-10", name="保险丝 10A", unit="个", price=2.0)
    south = desk.insert("stock_location", kind="depot", name="南京分库", depot_id="depot-main")
    desk.sync()
    wang.sync()
    unapproved = wang.insert("requisition", engineer_id=people["wang"].user_id, depot_location_id=where["depot"],
                             van_location_id=where["van_wang"], lines=[{"part_id": where["part"], "qty": 1}],
                             reason="备用皮带")
    wang.sync()
    depot.sync()
    depot.insert("stock_movement", kind="issue", part_id=where["part"], qty=1.0, from_location_id=where["depot"],
                 to_location_id=where["van_wang"], note="没有领料单")
    depot.insert("stock_movement", kind="issue", part_id=where["part"], qty=1.0, from_location_id=south,
                 to_location_id=where["van_wang"], requisition_id=requisition, note="从南京分库发出")
    depot.insert("stock_movement", kind="issue", part_id=where["part"], qty=1.0, from_location_id=where["depot"],
                 to_location_id=where["van_chen"], requisition_id=requisition, note="发到陈静的车上")
    issue(depot, where, requisition, 1.0, part=fuse)
    issue(depot, where, unapproved, 1.0)
    issue(depot, where, requisition, 1.5)
    issue(depot, where, requisition, 1.0)  # 2.5 of 2
    depot.sync()
    not_approved = ("requisition_not_approved", "requisition_id", "parts are issued against an approved requisition")
    assert refusals(depot) == [
        not_approved,
        ("issue_not_as_requested", "from_location_id", "an issue goes from its requisition's depot to its van"),
        ("issue_not_as_requested", "to_location_id", "an issue goes from its requisition's depot to its van"),
        ("issue_not_as_requested", "part_id", "the approved requisition does not list this part"),
        not_approved,
        ("over_issue", "qty",
         "the requisition's approval covers 2 of this part and 1.5 were issued: 1 more is over it"),
    ]
    assert server_row(engine, "requisition", requisition)["issued"] is None  # never issued in full yet
    issue(depot, where, requisition, 0.5)  # the rest, exactly
    depot.sync()
    assert len(depot.parked()) == 6
    assert server_row(engine, "requisition", requisition)["issued"] is True
    assert server_row(engine, "requisition", unapproved)["issued"] is None


def test_a_part_asked_on_two_lines_is_issued_against_their_sum_and_tenths_of_a_metre_add_up_to_the_line(
        people, replica_for, engine, client):
    where, _, devices = approved_requisition(people, replica_for)
    desk, wang, manager, depot = (devices[name] for name in ("desk", "wang", "manager", "depot"))
    cable = desk.insert("part", code="CBL-3", name="三芯电源线", unit="米", price=12.0)
    desk.sync()
    wang.sync()
    asked = wang.insert("requisition", engineer_id=people["wang"].user_id, depot_location_id=where["depot"],
                        van_location_id=where["van_wang"],
                        lines=[{"part_id": where["part"], "qty": 1}, {"part_id": cable, "qty": 0.3},
                               {"part_id": where["part"], "qty": 1}], reason="华信印刷厂 大修")
    wang.sync()
    manager.sync()
    manager.update("requisition", asked, status="approved")
    manager.sync()
    assert refusals(manager) == []
    depot.sync()
    for part, qty in ((cable, 0.1), (cable, 0.2), (where["part"], 1.5)):  # 0.1 + 0.2 is a hair over 0.3
        depot.insert("stock_movement", kind="issue", part_id=part, qty=qty, from_location_id=where["depot"],
                     to_location_id=where["van_wang"], requisition_id=asked, note="领料出库")
    depot.sync()
    assert depot.parked() == []
    assert server_row(engine, "requisition", asked)["issued"] is None  # half a belt still to go
    depot.insert("stock_movement", kind="issue", part_id=where["part"], qty=0.5, from_location_id=where["depot"],
                 to_location_id=where["van_wang"], requisition_id=asked)
    depot.sync()
    assert depot.parked() == []
    assert server_row(engine, "requisition", asked)["issued"] is True
    [van] = vans(client, people["depot"])
    balance = {r["requisition_id"]: r for r in van["requisitions"]}[asked]
    assert (balance["requisition_id"], balance["engineer_id"], balance["status"]) == (
        asked, people["wang"].user_id, "approved")
    assert [(line["part_id"], line["asked"], line["approved"], line["issued"], line["left"]) for line in
            balance["lines"]] == [(where["part"], 2.0, 2.0, 2.0, 0.0), (cable, 0.3, 0.3, pytest.approx(0.3), 0.0)]
    assert [line["over"] for line in balance["lines"]] == [0.0, pytest.approx(0.0)]


def test_a_requisition_for_belts_and_half_a_metre_of_cable_is_not_issued_in_full_until_the_cable_is(
        people, replica_for, engine):
    """王伟 asks for two belts and half a metre of cable; the depot hands out the belts
    today and the cable tomorrow: the requisition is issued in full only then."""
    where, _, devices = approved_requisition(people, replica_for)
    desk, wang, manager, depot = (devices[name] for name in ("desk", "wang", "manager", "depot"))
    cable = desk.insert("part", code="CBL-3", name="三芯电源线", unit="米", price=12.0)
    desk.sync()
    wang.sync()
    asked = wang.insert("requisition", engineer_id=people["wang"].user_id, depot_location_id=where["depot"],
                        van_location_id=where["van_wang"],
                        lines=[{"part_id": where["part"], "qty": 2}, {"part_id": cable, "qty": 0.5}],
                        reason="华信印刷厂 换皮带接线")
    wang.sync()
    manager.sync()
    manager.update("requisition", asked, status="approved")
    manager.sync()
    depot.sync()
    for part, qty, issued in ((where["part"], 2.0, None), (cable, 0.5, True)):
        depot.insert("stock_movement", kind="issue", part_id=part, qty=qty, from_location_id=where["depot"],
                     to_location_id=where["van_wang"], requisition_id=asked, note="领料出库")
        depot.sync()
        assert depot.parked() == []
        assert server_row(engine, "requisition", asked)["issued"] is issued


def test_an_issues_arrival_is_the_same_millisecond_whichever_zone_the_database_or_the_machine_keeps(machine_zone):
    arrived = 1_795_000_000_000  # 2026-11-18, in the afternoon in Beijing
    utc = datetime.fromtimestamp(arrived / 1000, timezone.utc)
    assert _ms(utc) == arrived
    assert _ms(utc.astimezone(timezone(timedelta(hours=8)))) == arrived  # PostgreSQL set to Asia/Shanghai
    # SQLite hands the time back without a zone, in UTC, on a machine set to Beijing time
    machine_zone("Asia/Shanghai")
    assert _ms(utc.replace(tzinfo=None)) == arrived


def two_belts_asked(timeline, people) -> tuple[tuple[Replica, ...], dict, str]:
    """The desk's, 王伟's, the manager's and the depot's devices; the main depot with ten
    belts on its shelf; 王伟's requisition for two of them, submitted, not yet approved."""
    desk, wang, manager, depot = (timeline.device(people[name]) for name in ("desk", "wang", "manager", "depot"))
    where = stock_setup(desk, people)
    desk.insert("stock_movement", kind="receive", part_id=where["part"], qty=10.0, to_location_id=where["depot"])
    desk.sync()
    wang.sync()
    requisition = wang.insert("requisition", engineer_id=people["wang"].user_id, depot_location_id=where["depot"],
                              van_location_id=where["van_wang"], lines=[{"part_id": where["part"], "qty": 2}],
                              reason="更换磨损皮带")
    wang.sync()
    return (desk, wang, manager, depot), where, requisition


def test_belts_issued_offline_the_very_millisecond_the_approval_reached_the_depot_are_kept_under_it(
        people, timeline, engine):
    (desk, wang, manager, depot), where, requisition = two_belts_asked(timeline, people)
    manager.sync()
    timeline.advance(MINUTE)
    manager.update("requisition", requisition, status="approved")
    manager.sync()
    depot.sync()  # the depot pulls the approval the millisecond it arrives, and hands out the belts
    handed = issue(depot, where, requisition, 2.0)
    timeline.advance(MINUTE)
    wang.update("requisition", requisition, lines=[{"part_id": where["part"], "qty": 3}])
    wang.sync()  # the approval is void from here on
    timeline.advance(MINUTE)
    depot.sync()
    assert depot.parked() == []
    assert server_row(engine, "stock_movement", handed)["qty"] == 2.0


def test_belts_handed_out_on_the_managers_word_before_his_approval_reached_the_tablet_are_kept_a_fuse_not_asked_is_not(
        people, timeline, engine):
    """The manager tells the keeper by phone that 王伟's request for two belts is approved;
    the keeper's tablet, with no signal in the store room, still shows it submitted. He
    hands out the two belts and a fuse 王伟 did not ask for. When the tablet syncs the
    approval is there: the belts are within it and kept; the fuse is not on the lines."""
    (desk, wang, manager, depot), where, requisition = two_belts_asked(timeline, people)
    fuse = desk.insert("part", code="FUS-10", name="保险丝 10A", unit="个", price=2.0)
    desk.sync()
    depot.sync()
    timeline.advance(MINUTE)
    belts = issue(depot, where, requisition, 2.0)
    extra = issue(depot, where, requisition, 1.0, part=fuse)
    timeline.advance(MINUTE)
    manager.sync()
    manager.update("requisition", requisition, status="approved")
    manager.sync()
    timeline.advance(MINUTE)
    depot.sync()
    assert [(p.row_id, p.code, p.field) for p in depot.parked()] == [(extra, "issue_not_as_requested", "part_id")]
    assert server_row(engine, "stock_movement", belts)["qty"] == 2.0
    assert server_row(engine, "requisition", requisition)["issued"] is True


def test_belts_brought_back_naming_the_requisition_or_delivered_beside_an_issue_are_not_issues_of_it(
        people, replica_for, engine):
    """Three belts approved for 王伟's van; the keeper issues two. 王伟 brings one back (a
    transfer naming the requisition); later, in one push, the keeper takes back the other,
    books in a supplier's delivery of five, and issues the third belt: only the three
    issues count against the approval, so the third is within it."""
    where, requisition, devices = approved_requisition(people, replica_for, qty=3)
    depot = devices["depot"]

    def bring_back() -> None:
        depot.insert("stock_movement", kind="transfer", part_id=where["part"], qty=1.0,
                     from_location_id=where["van_wang"], to_location_id=where["depot"], requisition_id=requisition,
                     held_by=people["wang"].user_id, note="退回未用皮带")

    issue(depot, where, requisition, 2.0)
    depot.sync()
    bring_back()
    depot.sync()
    bring_back()
    depot.insert("stock_movement", kind="receive", part_id=where["part"], qty=5.0, to_location_id=where["depot"],
                 note="供应商到货")
    third = issue(depot, where, requisition, 1.0)
    depot.sync()
    assert refusals(depot) == []
    assert server_row(engine, "stock_movement", third)["qty"] == 1.0
    assert server_row(engine, "requisition", requisition)["issued"] is True


def test_a_requisition_issued_in_full_is_open_again_when_its_engineer_asks_for_more_and_full_when_he_asks_less(
        people, replica_for, engine, client):
    where, requisition, devices = approved_requisition(people, replica_for, qty=3)
    wang, manager, depot = devices["wang"], devices["manager"], devices["depot"]
    issue(depot, where, requisition, 2.0)
    depot.sync()
    assert server_row(engine, "requisition", requisition)["issued"] is None  # one belt to go
    wang.sync()
    wang.update("requisition", requisition, lines=[{"part_id": where["part"], "qty": 2}])  # the job needs only 2
    wang.sync()
    assert server_row(engine, "requisition", requisition)["issued"] is True
    wang.update("requisition", requisition, lines=[{"part_id": where["part"], "qty": 4}])  # then 4 after all
    wang.sync()
    assert server_row(engine, "requisition", requisition)["issued"] is False
    manager.sync()
    manager.update("requisition", requisition, status="approved")
    manager.sync()
    depot.sync()
    issue(depot, where, requisition, 2.0)
    depot.sync()
    assert (depot.parked(), server_row(engine, "requisition", requisition)["issued"]) == ([], True)
    full = [{"part_id": where["part"], "asked": 4.0, "approved": 4.0, "issued": 4.0, "left": 0.0, "over": 0.0}]
    [van] = vans(client, people["depot"])
    assert [r["lines"] for r in van["requisitions"]] == [full]
    table = entity_table("requisition")  # the console's list of requisitions reads the same balance
    with engine.connect() as conn:
        listed = balances(conn, conn.execute(sa.select(table).where(table.c.id == requisition)).mappings().all())
    assert listed == [{"requisition_id": requisition, "engineer_id": people["wang"].user_id, "status": "approved",
                       "lines": full}]


def test_a_part_issued_off_its_requisitions_lines_shows_over_and_a_requisition_without_lines_shows_none(engine):
    """王伟's r-1 was approved for fuses and belts; the depot handed him a fuse, and he then
    asked for belts alone, approved again: the fuse shows as issued off the lines, all of it
    over, and a belt he took back to the depot naming r-1 is no issue. His r-2 (fuses, nothing issued) shows none of r-1's parts, and r-3, started
    without its lines, shows no line at all."""
    now = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
    common = {"version": 1, "deleted": False, "clock": "{}", "created_at": now, "updated_at": now}
    asked = {"r-1": [{"part_id": "p-皮带", "qty": 2}], "r-2": [{"part_id": "p-保险丝", "qty": 3}], "r-3": None}
    with engine.begin() as conn:
        conn.execute(entity_table("stock_location").insert(), [
            {**common, "id": "loc-北京总库", "kind": "depot", "name": "北京总库", "depot_id": "depot-main"},
            {**common, "id": "van-王伟", "kind": "van", "name": "王伟的服务车", "engineer_id": "u-wang",
             "depot_id": "depot-main"}])
        conn.execute(entity_table("requisition").insert(), [
            {**common, "id": rid, "engineer_id": "u-wang", "depot_location_id": "loc-北京总库",
             "van_location_id": "van-王伟", "lines": orjson.dumps(lines).decode() if lines else None,
             "status": "approved" if lines else None} for rid, lines in asked.items()])
        conn.execute(entity_table("stock_movement").insert(), [
            {**common, "id": f"m-{n}", "kind": kind, "part_id": part, "qty": qty, "condition": "new",
             "from_location_id": there, "to_location_id": here, "requisition_id": "r-1"}
            for n, (kind, part, qty, there, here) in enumerate((
                ("issue", "p-皮带", 2.0, "loc-北京总库", "van-王伟"),
                ("issue", "p-保险丝", 1.0, "loc-北京总库", "van-王伟"),
                ("transfer", "p-皮带", 1.0, "van-王伟", "loc-北京总库")))])  # a belt he did not need, back
    table = entity_table("requisition")
    with engine.connect() as conn:
        listed = balances(conn, conn.execute(sa.select(table).order_by(table.c.id)).mappings().all())
        [van] = requisition_vans(conn, None)
    assert listed == [
        {"requisition_id": "r-1", "engineer_id": "u-wang", "status": "approved", "lines": [
            {"part_id": "p-皮带", "asked": 2.0, "approved": 2.0, "issued": 2.0, "left": 0.0, "over": 0.0},
            {"part_id": "p-保险丝", "asked": 0.0, "approved": 0.0, "issued": 1.0, "left": 0.0, "over": 1.0}]},
        {"requisition_id": "r-2", "engineer_id": "u-wang", "status": "approved", "lines": [
            {"part_id": "p-保险丝", "asked": 3.0, "approved": 3.0, "issued": 0.0, "left": 3.0, "over": 0.0}]},
        {"requisition_id": "r-3", "engineer_id": "u-wang", "status": "submitted", "lines": []},
    ]
    assert van["requisitions"] == listed


def test_the_depot_sees_each_van_with_its_stock_and_its_own_live_requisitions_in_id_order_a_page_at_a_time(engine):
    now = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)

    def row(**fields) -> dict:
        return {"version": 1, "deleted": False, "clock": "{}", "created_at": now, "updated_at": now, **fields}

    def lines(part: str, qty: float) -> str:
        return orjson.dumps([{"part_id": part, "qty": qty}]).decode()

    beijing, nanjing = "loc-北京总库", "loc-南京分库"
    stored = {
        "stock_location": [
            row(id=beijing, kind="depot", name="北京总库", depot_id="depot-main"),
            row(id=nanjing, kind="depot", name="南京分库", depot_id="depot-south"),
            row(id="van-王伟", kind="van", name="王伟的服务车", engineer_id="u-wang", depot_id="depot-main"),
            row(id="van-陈静", kind="van", name="陈静的服务车", engineer_id="u-chen", depot_id="depot-main"),
            row(id="van-李强", kind="van", name="李强的服务车", engineer_id="u-li", depot_id="depot-main"),
            row(id="van-南京", kind="van", name="南京备用车", depot_id="depot-south"),
        ],
        "requisition": [  # stored out of id order
            row(id="r-3", engineer_id="u-wang", depot_location_id=beijing, van_location_id="van-王伟",
                lines=lines("p-皮带", 2), status="approved"),
            row(id="r-1", engineer_id="u-wang", depot_location_id=beijing, van_location_id="van-王伟",
                lines=lines("p-保险丝", 5)),  # not decided yet
            row(id="r-2", engineer_id="u-wang", depot_location_id=nanjing, van_location_id="van-王伟",
                lines=lines("p-皮带", 1), status="approved"),  # on Nanjing's depot, not Beijing's
            row(id="r-0", engineer_id="u-wang", depot_location_id=beijing, van_location_id="van-王伟",
                lines=lines("p-皮带", 9), deleted=True),  # withdrawn
            row(id="r-4", engineer_id="u-chen", depot_location_id=beijing, van_location_id="van-陈静",
                lines=lines("p-皮带", 1), status="approved"),  # nothing issued yet
        ],
        "stock_movement": [
            row(id="m-1", kind="issue", part_id="p-皮带", qty=2.0, condition="new", from_location_id=beijing,
                to_location_id="van-王伟", requisition_id="r-3"),
            # none of these makes a van of Beijing's: a transfer between depots, an issue
            # recorded by mistake and deleted, an issue from Nanjing to a van of its own
            row(id="m-2", kind="transfer", part_id="p-保险丝", qty=10.0, from_location_id=beijing,
                to_location_id=nanjing),
            row(id="m-3", kind="issue", part_id="p-皮带", qty=1.0, from_location_id=beijing,
                to_location_id="van-李强", requisition_id="r-3", deleted=True),
            row(id="m-4", kind="issue", part_id="p-皮带", qty=1.0, from_location_id=nanjing,
                to_location_id="van-南京", requisition_id="r-2"),
        ],
    }
    with engine.begin() as conn:
        for entity, rows in stored.items():
            for values in rows:
                conn.execute(entity_table(entity).insert().values(**values))
    wang = {"location_id": "van-王伟", "name": "王伟的服务车", "engineer_id": "u-wang",
            "stock": [{"location_id": "van-王伟", "part_id": "p-皮带", "condition": "new", "qty": 2.0,
                       "negative": False}],
            "requisitions": [
                {"requisition_id": "r-1", "engineer_id": "u-wang", "status": "submitted", "lines": [
                    {"part_id": "p-保险丝", "asked": 5.0, "approved": 0.0, "issued": 0.0, "left": 0.0, "over": 0.0}]},
                {"requisition_id": "r-3", "engineer_id": "u-wang", "status": "approved", "lines": [
                    {"part_id": "p-皮带", "asked": 2.0, "approved": 2.0, "issued": 2.0, "left": 0.0, "over": 0.0}]}]}
    chen = {"location_id": "van-陈静", "name": "陈静的服务车", "engineer_id": "u-chen", "stock": [],
            "requisitions": [{"requisition_id": "r-4", "engineer_id": "u-chen", "status": "approved", "lines": [
                {"part_id": "p-皮带", "asked": 1.0, "approved": 1.0, "issued": 0.0, "left": 1.0, "over": 0.0}]}]}
    with engine.connect() as conn:
        assert requisition_vans(conn, [beijing]) == [wang, chen]  # by id: 王 (U+738B) before 陈 (U+9648)
        assert requisition_vans(conn, [beijing], limit=1) == [wang]
        assert requisition_vans(conn, [beijing], after="van-王伟", limit=1) == [chen]
        everyone = requisition_vans(conn, None)  # head office: Nanjing's requisition and van too
        assert [van["location_id"] for van in everyone] == ["van-南京", "van-王伟", "van-陈静"]  # 南 U+5357
        assert [r["requisition_id"] for van in everyone for r in van["requisitions"]] == ["r-1", "r-2", "r-3", "r-4"]
        assert [van["location_id"] for van in requisition_vans(conn, None, limit=1)] == ["van-南京"]
