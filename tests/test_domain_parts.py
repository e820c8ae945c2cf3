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
