"""The spare-parts rules on the push path (:mod:`server.domain.parts`,
:mod:`server.domain.holders`): who held a part, who holds a van, and what a movement,
an old part's return or a count sets going."""

from __future__ import annotations

import orjson
import pytest

from tests.test_domain_checks import REJECTED, Pusher, refusal, stored


def test_a_van_crew_naming_王伟_twice_is_refused_and_one_naming_each_once_is_kept(client, people, engine):
    desk = Pusher(client, people["desk"])
    van = {"kind": "van", "name": "王伟的服务车", "depot_id": "depot-main", "engineer_id": people["wang"].user_id}
    results = desk.push(
        ("stock_location", "van-twice", "insert", {**van, "crew": [people["chen"].user_id, people["chen"].user_id]}),
        ("stock_location", "van-once", "insert", {**van, "crew": [people["chen"].user_id]}),
    )
    assert [refusal(r) for r in results] == [(REJECTED, "invalid_value", "crew"), ("applied",)]
    assert stored(engine, "stock_location", "van-twice") is None


def as_json(value):
    """A JSON column as read back: text on SQLite, decoded on PostgreSQL."""
    return orjson.loads(value) if isinstance(value, str) else value


CREW_OF_FIFTY = [f"u-维修{i:02d}" for i in range(50)]


@pytest.mark.parametrize(("crew", "answer"), [
    pytest.param(None, ("applied",), id="no crew"),
    pytest.param([], ("applied",), id="an empty crew"),
    pytest.param(["u-chen"], ("applied",), id="陈静 alone"),
    pytest.param(CREW_OF_FIFTY, ("applied",), id="fifty people, the most a crew holds"),
    pytest.param(CREW_OF_FIFTY + ["u-chen"], (REJECTED, "invalid_value", "crew"), id="fifty-one people"),
    pytest.param(["u-" + "陈" * 62], ("applied",), id="an id of 64 characters"),
    pytest.param(["陈"], ("applied",), id="an id of one character"),
    pytest.param(["u-" + "陈" * 63], (REJECTED, "invalid_value", "crew"), id="an id of 65 characters"),
    pytest.param(["u-chen", ""], (REJECTED, "invalid_value", "crew"), id="an empty id beside 陈静"),
    pytest.param(["u-chen", 42], (REJECTED, "invalid_value", "crew"), id="a number beside 陈静"),
    pytest.param([42], (REJECTED, "invalid_value", "crew"), id="a number alone"),
    pytest.param({"u-chen": True}, (REJECTED, "invalid_value", "crew"), id="a mapping"),
    pytest.param(["u-chen", "u-wang", "u-chen"], (REJECTED, "invalid_value", "crew"), id="陈静 twice"),
])
def test_a_vans_crew_is_a_list_of_up_to_fifty_user_ids_each_named_once(client, people, engine, crew, answer):
    """The desk records 王伟's van with its crew, as sent."""
    desk = Pusher(client, people["desk"])
    result = desk.one("stock_location", "van-wang", "insert", {
        "kind": "van", "name": "王伟的服务车", "depot_id": "depot-main", "engineer_id": people["wang"].user_id,
        "crew": crew})
    assert refusal(result) == answer
    if answer[0] == REJECTED:
        assert result["message"] == "stock_location.crew is a list of up to 50 user ids, each once"
        assert stored(engine, "stock_location", "van-wang") is None
    else:
        assert as_json(stored(engine, "stock_location", "van-wang")["crew"]) == crew


def test_a_crew_changed_to_one_naming_陈静_twice_is_refused_and_the_van_keeps_its_crew(client, people, engine):
    desk = Pusher(client, people["desk"])
    assert refusal(desk.one("stock_location", "van-wang", "insert", {
        "kind": "van", "name": "王伟的服务车", "depot_id": "depot-main", "engineer_id": people["wang"].user_id,
        "crew": ["u-chen"]})) == ("applied",)
    result = desk.one("stock_location", "van-wang", "update", {"crew": ["u-chen", "u-chen"]}, 1)
    assert refusal(result) == (REJECTED, "invalid_value", "crew")
    assert refusal(desk.one("stock_location", "van-wang", "update", {"name": "王伟和陈静的服务车"}, 1)) == ("applied",)
    assert as_json(stored(engine, "stock_location", "van-wang")["crew"]) == ["u-chen"]


def _vans(client, people) -> None:
    """Head office records a belt, the Beijing depot, 王伟's van, the van 陈静 shares
    with him as crew, an outstation held by 陈静, a spare van nobody holds yet, and a
    repair at 华信印刷厂."""
    wang, chen = people["wang"].user_id, people["chen"].user_id
    van = {"kind": "van", "depot_id": "depot-main"}
    answers = Pusher(client, people["manager"]).push(
        ("part", "p-belt", "insert", {"code": "BLT-200", "name": "传动皮带", "unit": "条", "returnable": False}),
        ("stock_location", "l-bj", "insert", {"kind": "depot", "name": "北京总库", "depot_id": "depot-main"}),
        ("stock_location", "l-van-wang", "insert", {**van, "name": "王伟的服务车", "engineer_id": wang}),
        ("stock_location", "l-van-shared", "insert", {**van, "name": "二号服务车", "engineer_id": wang, "crew": [chen]}),
        ("stock_location", "l-van-self", "insert", {**van, "name": "三号服务车", "engineer_id": wang, "crew": [wang]}),
        ("stock_location", "l-station", "insert", {"kind": "station", "name": "天津服务站", "depot_id": "depot-main",
                                                   "crew": [chen]}),
        ("stock_location", "l-van-spare", "insert", {**van, "name": "备用服务车"}),
        ("customer", "c-huaxin", "insert", {"name": "华信印刷厂", "address": "北京市朝阳区建国路88号", "zone": "ring2"}),
        ("ticket", "t-huaxin", "insert", {"customer_id": "c-huaxin", "status": "dispatched", "urgency": "normal",
                                          "channel": "phone", "fault_description": "皮带磨损", "assignee_id": wang}),
    )
    assert [r["status"] for r in answers] == ["applied"] * len(answers)


SEVERAL = "several people hold this van: name which of them held the part (held_by)"
NOBODY = "name who held the part (held_by)"
NOT_A_HOLDER = "held_by names someone who does not hold this van or station"


@pytest.mark.parametrize(("kind", "source", "target", "held_by", "answer"), [
    pytest.param("receive", None, "l-bj", None, None, id="into the depot: nobody held it"),
    pytest.param("consume", "l-bj", None, None, ("holder_required", NOBODY), id="used from the depot shelf"),
    pytest.param("transfer", "l-van-wang", "l-bj", None, "u-wang", id="back from 王伟s own van: his"),
    pytest.param("transfer", "l-bj", "l-van-self", None, "u-wang", id="to a van whose crew is its engineer"),
    pytest.param("transfer", "l-van-shared", "l-bj", None, ("holder_required", SEVERAL), id="from the shared van"),
    pytest.param("transfer", "l-van-wang", "l-van-shared", None, ("holder_required", SEVERAL), id="into the shared van"),
    pytest.param("transfer", "l-van-shared", "l-bj", "u-chen", "u-chen", id="陈静 named, of the crew"),
    pytest.param("transfer", "l-van-shared", "l-bj", "u-wang", "u-wang", id="王伟 named, its engineer"),
    pytest.param("transfer", "l-van-wang", "l-bj", "u-chen", ("not_a_holder", NOT_A_HOLDER), id="陈静 named for 王伟s van"),
    pytest.param("transfer", "l-van-wang", "l-station", "u-chen", "u-chen", id="陈静 named, holding the receiving end"),
    pytest.param("transfer", "l-station", "l-bj", None, "u-chen", id="from the station 陈静 alone staffs"),
    pytest.param("transfer", "l-station", "l-bj", "u-wang", ("not_a_holder", NOT_A_HOLDER), id="王伟 named for the station"),
    pytest.param("transfer", "l-van-spare", "l-bj", None, ("holder_required", NOBODY), id="from a van nobody holds"),
    pytest.param("transfer", "l-bj", "l-bj", "u-chen", "u-chen", id="a shelf move naming 陈静"),
])
def test_head_offices_movement_is_charged_to_the_one_person_who_held_the_part(
        client, people, engine, kind, source, target, held_by, answer):
    """Head office books a belt moved: a movement naming nobody is the only holder's of the
    van it touches; with two holders, or for a part used, it must name one; the one it
    names must hold a van or station the movement touches."""
    _vans(client, people)
    fields = {"kind": kind, "part_id": "p-belt", "qty": 1.0, "from_location_id": source, "to_location_id": target,
              "ticket_id": "t-huaxin" if kind == "consume" else None, "held_by": held_by}
    result = Pusher(client, people["manager"]).one("stock_movement", "mv-belt", "insert",
                                                 {k: v for k, v in fields.items() if v is not None})
    if isinstance(answer, tuple):
        assert (refusal(result), result["message"]) == ((REJECTED, answer[0], "held_by"), answer[1])
        assert stored(engine, "stock_movement", "mv-belt") is None
    else:
        assert refusal(result) == ("applied",)
        assert stored(engine, "stock_movement", "mv-belt")["held_by"] == answer


def test_王伟s_movement_naming_nobody_is_his_own_even_from_the_van_he_shares(client, people, engine):
    _vans(client, people)
    wang = Pusher(client, people["wang"])
    results = wang.push(
        ("stock_movement", "mv-used", "insert", {"kind": "consume", "part_id": "p-belt", "qty": 1.0,
                                                 "from_location_id": "l-van-shared", "ticket_id": "t-huaxin"}),
        ("stock_movement", "mv-back", "insert", {"kind": "transfer", "part_id": "p-belt", "qty": 1.0,
                                                 "from_location_id": "l-van-shared", "to_location_id": "l-van-wang"}),
    )
    assert [refusal(r) for r in results] == [("applied",), ("applied",)]
    assert [stored(engine, "stock_movement", m)["held_by"] for m in ("mv-used", "mv-back")] == ["u-wang", "u-wang"]


def test_a_delete_is_a_tombstone_whatever_the_screen_it_came_from_still_showed(client, people, engine):
    """The desk deletes a van recorded twice and 王伟's requisition he no longer needs; its
    screen sends the values it showed, edited into what a new write would be refused
    for. A delete checks nothing of them: it removes the row."""
    desk, wang = Pusher(client, people["desk"]), Pusher(client, people["wang"])
    assert refusal(desk.one("stock_location", "van-dup", "insert", {
        "kind": "van", "name": "王伟的服务车（重复）", "depot_id": "depot-main", "engineer_id": "u-wang",
        "crew": ["u-chen"]})) == ("applied",)
    assert refusal(wang.one("requisition", "rq-belts", "insert", {
        "engineer_id": "u-wang", "lines": [{"part_id": "p-belt", "qty": 2}]})) == ("applied",)
    results = desk.push(("stock_location", "van-dup", "delete", {"crew": ["u-chen", "u-chen"]}, 1),
                        ("requisition", "rq-belts", "delete", {"lines": [{"part_id": "p-belt", "qty": 0}]},
                         stored(engine, "requisition", "rq-belts")["version"]))
    assert [refusal(r) for r in results] == [("applied",), ("applied",)]
    assert [stored(engine, e, i)["deleted"] for e, i in (("stock_location", "van-dup"), ("requisition", "rq-belts"))] \
        == [True, True]
