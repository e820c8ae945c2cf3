"""The depot API's two long answers come a page at a time (issue 18): the reconciliation
walks its lists as one — levels, old parts out, open consumptions, write-offs, open
counts — and the vans come whole, a few a page. Paging through every page gives every
row once, in the order of the whole answer; a bad limit or cursor is refused with the
office reports' codes; a depot keeper pages through his own depot only.

The world is the office reports' (:func:`tests.test_reports_stock.build`: the Beijing
depot, Wang's and Chen's vans, a stale signature, Chen's late tablet) with two parts
written off, a count awaiting approval, and a van of the Nanjing depot.
"""

from __future__ import annotations

import base64
import math

import orjson
import pytest

from server.api import depot as depot_api
from tests.conftest import Person, Timeline, auth_header
from tests.test_domain_writeoff import DEPOT
from tests.test_reports_stock import HOUR, at, build, issue, requisition
from tests.test_reports_stock import timeline as timeline  # noqa: F401 (the fixture, on the reports' clock)

LISTS = ("levels", "negative", "outstanding_old_parts", "open_consumptions", "write_offs", "open_counts")


def get(timeline: Timeline, person: Person, path: str, **params):
    return timeline.app.test_client().get(f"/v1/depot{path}", headers=auth_header(person), query_string=params)


def pages(timeline: Timeline, person: Person, path: str, limit: int) -> list[dict]:
    """Every page of an answer, following `next` from the first (a cursor that never
    ends fails, not hangs)."""
    out, cursor = [], None
    while len(out) < 100:
        answer = get(timeline, person, path, limit=limit, **({"cursor": cursor} if cursor else {}))
        assert answer.status_code == 200, answer.json
        out.append(answer.json)
        cursor = answer.json["next"]
        if cursor is None:
            return out
    raise AssertionError(f"still a next page after {len(out)}")


@pytest.fixture
def world(timeline, people, engine) -> dict:
    """The reports' world with Chen's tablet synced, then the keeper writes off a fuse lost and a belt damaged in
    the van, counts the shelf and Wang's van again (not yet approved), and the Nanjing depot issues a
    fuse to a van of its own on Wang's requisition."""
    w = build(timeline, people, engine)
    depot = w["depot_device"]
    timeline.advance(HOUR)
    w["tablet"].sync()  # Chen's belt: its old part is still out
    depot.sync()
    depot.insert("stock_movement", kind="write_off", part_id=w["fuse"], qty=1.0, from_location_id=w["depot"],
                 held_by=people["depot"].user_id, note="搬运时遗失")
    timeline.advance(HOUR)
    depot.insert("stock_movement", kind="write_off", part_id=w["belt"], qty=1.0, from_location_id=w["van_wang"],
                 held_by=people["wang"].user_id, note="车内受潮损坏")
    depot.insert("stock_count", location_id=w["depot"], counted_by=people["depot"].user_id,
                 counted_at=at(timeline.now), lines=[{"part_id": w["belt"], "condition": "new", "qty": 5}],
                 note="复盘：货架B-3少一条皮带")
    depot.insert("stock_count", location_id=w["van_wang"], counted_by=people["depot"].user_id,
                 counted_at=at(timeline.now), lines=[{"part_id": w["fuse"], "condition": "new", "qty": 3}],
                 note="王伟车上盘点")
    depot.sync()
    desk, manager = w["desk"], timeline.device(people["manager"])
    w["van_south"] = desk.insert("stock_location", kind="van", name="王伟的南京备用车", depot_id="depot-south",
                                 engineer_id=people["wang"].user_id)
    desk.sync()
    wang = timeline.device(people["wang"])
    asked = requisition(wang, manager, manager, people["wang"], {**w, "depot": w["south"]}, "van_south",
                        {"fuse": 1.0})
    issue(manager, {**w, "depot": w["south"]}, asked, "van_south", "fuse", 1.0, people["wang"])
    manager.sync()
    for device in (depot, desk, manager, wang):
        assert device.parked() == [], [(p.code, p.message) for p in device.parked()]
    return w


@pytest.mark.parametrize("who", ["manager", "depot"])
@pytest.mark.parametrize("limit", [1, 2, 5])
def test_paging_through_the_reconciliation_gives_every_row_of_every_list_once_in_order(world, people, timeline,
                                                                                       who, limit):
    whole = get(timeline, people[who], "/reconciliation", limit=5000).json
    assert whole["next"] is None
    assert all(whole[name] for name in LISTS), {name: len(whole[name]) for name in LISTS}
    paged = pages(timeline, people[who], "/reconciliation", limit)
    for name in LISTS:
        assert [row for page in paged for row in page[name]] == whole[name], name
    rows = sum(len(whole[name]) for name in LISTS if name != "negative")
    assert len(paged) == math.ceil(rows / limit)
    assert all(sum(len(page[name]) for name in LISTS if name != "negative") == limit for page in paged[:-1])
    assert {row["reason"] for page in paged for row in page["write_offs"]} == {"搬运时遗失", "车内受潮损坏"}
    assert sorted(row["note"] for page in paged for row in page["open_counts"]) == ["复盘：货架B-3少一条皮带",
                                                                                   "王伟车上盘点"]


def test_open_counts_come_a_few_a_page_whatever_the_limit(world, people, timeline, monkeypatch):
    whole = get(timeline, people["manager"], "/reconciliation", limit=5000).json
    monkeypatch.setattr(depot_api, "OPEN_COUNTS_A_PAGE", 1)  # each is a ledger sum as of its count
    paged = pages(timeline, people["manager"], "/reconciliation", 5000)
    assert [len(page["open_counts"]) for page in paged] == [1, 1]
    assert [row for page in paged for row in page["open_counts"]] == whole["open_counts"]
    assert [row for page in paged for row in page["levels"]] == whole["levels"]


def test_a_depot_keeper_pages_through_his_own_depot_only(world, people, timeline):
    keeper = pages(timeline, people["depot"], "/reconciliation", 2)
    office = pages(timeline, people["manager"], "/reconciliation", 2)
    seen = {row["location_id"] for page in keeper for row in page["levels"]}
    assert world["south"] not in seen and world["van_south"] not in seen
    assert world["south"] in {row["location_id"] for page in office for row in page["levels"]}
    assert {v["location_id"] for page in pages(timeline, people["depot"], "/vans", 1) for v in page["vans"]} \
        == {world["van_wang"], world["van_chen"]}
    office_vans = [v for page in pages(timeline, people["manager"], "/vans", 1) for v in page["vans"]]
    assert [v["location_id"] for v in office_vans] == sorted([world["van_wang"], world["van_chen"],
                                                               world["van_south"]])
    assert "王伟的南京备用车" in {v["name"] for v in office_vans}


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_paging_through_the_vans_gives_each_van_once_whole(world, people, timeline, limit):
    whole = get(timeline, people["manager"], "/vans", limit=100).json
    assert whole["next"] is None and len(whole["vans"]) == 3
    paged = pages(timeline, people["manager"], "/vans", limit)
    assert [v for page in paged for v in page["vans"]] == whole["vans"]
    assert len(paged) == math.ceil(3 / limit)
    assert {v["name"] for v in whole["vans"]} >= {"王伟的服务车", "陈静的服务车"}


def test_vans_named_by_requisitions_alone_come_in_id_order_and_a_withdrawn_or_vanless_one_names_none(
        world, people, timeline):
    """The desk adds three spare vans, made in the reverse of their ids' order; 王伟 asks
    the Beijing depot for fuses for each (nothing issued yet), the office withdraws a
    fourth request of his for a van he has no use for, and asks for a belt without naming a van. Paged one
    van at a time, the list is every van issued to or named, each once, in id order: the
    three spares at the end, and neither the withdrawn request's van nor an empty one."""
    desk, wang = world["desk"], timeline.device(people["wang"])
    spares = [desk.insert("stock_location", id=f"van-spare-{n}", kind="van", name=f"备用车{n}号",
                          depot_id=DEPOT, engineer_id=people["wang"].user_id) for n in (3, 2, 1)]
    withdrawn_van = desk.insert("stock_location", id="van-spare-4", kind="van", name="备用车4号",
                                depot_id=DEPOT, engineer_id=people["wang"].user_id)
    desk.sync()
    wang.sync()
    for van in spares:
        wang.insert("requisition", engineer_id=people["wang"].user_id, depot_location_id=world["depot"],
                    van_location_id=van, lines=[{"part_id": world["fuse"], "qty": 2.0}], reason="备用车配保险丝")
    withdrawn = wang.insert("requisition", engineer_id=people["wang"].user_id, depot_location_id=world["depot"],
                            van_location_id=withdrawn_van, lines=[{"part_id": world["fuse"], "qty": 1.0}],
                            reason="申请错了")
    wang.insert("requisition", engineer_id=people["wang"].user_id, depot_location_id=world["depot"],
                lines=[{"part_id": world["belt"], "qty": 1.0}], reason="未指定车辆")
    wang.sync()
    manager = timeline.device(people["manager"])
    manager.sync()
    manager.delete("requisition", withdrawn)  # the office withdraws it for him
    manager.sync()
    for device in (wang, manager):
        assert device.parked() == [], [(p.code, p.message) for p in device.parked()]
    listed = [v["location_id"] for page in pages(timeline, people["manager"], "/vans", 1) for v in page["vans"]]
    assert listed == sorted([world["van_wang"], world["van_chen"], world["van_south"], *spares])


def test_fuses_still_booked_to_a_van_the_desk_retired_stay_on_its_depots_reconciliation(world, people, timeline):
    """The desk deletes 王伟's van from the list (the van is sold) while five fuses are
    still booked to it: the depot keeper still sees them, as head office does, until they are
    moved back or written off."""
    desk = world["desk"]
    desk.sync()
    desk.delete("stock_location", world["van_wang"])
    desk.sync()
    assert desk.parked() == [], [(p.code, p.message) for p in desk.parked()]
    for who in ("depot", "manager"):
        levels = get(timeline, people[who], "/reconciliation", limit=5000).json["levels"]
        assert any(lv["location_id"] == world["van_wang"] and lv["part_id"] == world["fuse"] and lv["qty"] == 5.0
                   for lv in levels), who


def _cursor(key) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


BAD = [
    ("limit", "５"), ("limit", "0"), ("limit", "5001"), ("limit", "9" * 5000), ("limit", "-1"), ("limit", "2.0"),
    ("cursor", "not-a-cursor!"), ("cursor", "W10"), ("cursor", "x" * 5000),
    *(("cursor", _cursor(key)) for key in ([5], ["a\u0000"], [None], [True], [["van"]], ["a", "b"],
                                            ["levels", "a"], ["write_offs", 1, "x"], ["王伟", "a", "b"],
                                            ["open_counts", "a", "b", "c"], [])),
    ("depot", "depot-south"), ("nonsense", "1"),
]


@pytest.mark.parametrize("path", ["/reconciliation", "/vans"])
def test_a_bad_limit_or_cursor_is_refused_with_the_reports_codes(path, people, timeline):
    for name, value in BAD:
        answer = get(timeline, people["manager"], path, **{name: value})
        assert answer.status_code == 422, (name, value, answer.json)
        assert (answer.json["code"], answer.json["field"]) == ("invalid_filter", name), (name, value)
    assert get(timeline, people["wang"], path, limit="0").status_code == 403  # who may read comes first
