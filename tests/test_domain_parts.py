"""The spare-parts rules on the push path (:mod:`server.domain.parts`,
:mod:`server.domain.holders`): who held a part, who holds a van, and what a movement,
an old part's return or a count sets going."""

from __future__ import annotations

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
