"""Head office's conflict queue (``GET /v1/office/conflicts``): filtered in SQL, paged by
keyset, never cut short; every malformed or unknown filter refused with its code."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from server.tables import entity_table
from tests.conftest import auth_header
from tests.scenario import desk_opens_ticket


def all_notes(engine) -> set[str]:
    table = entity_table("conflict")
    with engine.connect() as conn:
        return {r.id for r in conn.execute(sa.select(table.c.id))}


def page_through(client, reader, **filters) -> list[dict]:
    """Every page of the queue, following ``next`` until it runs out."""
    seen, cursor = [], None
    while True:
        query = {**filters, **({"cursor": cursor} if cursor else {})}
        answer = client.get("/v1/office/conflicts", query_string=query, headers=auth_header(reader))
        assert answer.status_code == 200, answer.json
        seen.extend(answer.json["conflicts"])
        cursor = answer.json["next"]
        if cursor is None:
            return seen


@pytest.fixture
def client(timeline):
    """The office's client, on the same simulated time as the devices."""
    return timeline.app.test_client()


def test_office_pages_through_several_hundred_notes_and_sees_every_one_exactly_once(
        people, timeline, client, engine):
    desk = timeline.device(people["desk"])
    manager = timeline.device(people["manager"])
    wang = timeline.device(people["wang"])
    customer = desk.insert("customer", name="北京华信印刷有限公司", address="北京市朝阳区建国路88号")
    equipment = desk.insert("equipment", customer_id=customer, model="海德堡 SM-52")
    tickets = [desk.insert("ticket", customer_id=customer, equipment_id=equipment, status="dispatched",
                           urgency="normal", fault_description=f"第{i}台：开机十分钟后停机",
                           assignee_id=people["wang"].user_id) for i in range(330)]
    desk.sync()
    wang.sync()
    manager.sync()
    for i, ticket in enumerate(tickets):
        wang.update("ticket", ticket, fault_description=f"第{i}台：皮带磨损")
    wang.sync()
    timeline.advance(60_000)
    for i, ticket in enumerate(tickets):  # head office had not pulled the engineer's edits
        (desk if i < 220 else manager).update("ticket", ticket, fault_description=f"第{i}台：客户来电说异响")
    desk.sync()
    timeline.advance(1_000)
    between = datetime.fromtimestamp(timeline.now / 1000, timezone.utc).isoformat()
    manager.sync()
    made = all_notes(engine)
    assert len(made) == 330

    pages = page_through(client, people["manager"], limit="7")
    assert len(pages) == len({n["id"] for n in pages}) == 330 and {n["id"] for n in pages} == made
    order = [(n["created_at"], n["id"]) for n in pages]
    assert order == sorted(order, reverse=True)  # newest first, across pages too
    assert {n["lost_value"] for n in pages} == {f"第{i}台：皮带磨损" for i in range(330)}

    later = page_through(client, people["manager"], since=between, limit="50")
    earlier = page_through(client, people["manager"], until=between, limit="500")
    assert (len(later), len(earlier)) == (110, 220)
    assert {n["id"] for n in later} | {n["id"] for n in earlier} == made


def test_office_filters_the_queue_by_person_ticket_rule_and_status(people, timeline, client):
    desk = timeline.device(people["desk"])
    wang = timeline.device(people["wang"])
    chen = timeline.device(people["chen"])
    mine = desk_opens_ticket(desk, people["wang"].user_id, category="A")["ticket"]
    his = desk_opens_ticket(desk, people["chen"].user_id)["ticket"]
    given_away = desk_opens_ticket(desk, people["wang"].user_id)["ticket"]
    wang.sync()
    chen.sync()
    charge = wang.insert("charge", ticket_id=mine, kind="labour", amount=200.0, description="更换皮带工时费")
    wang.sync()
    desk.sync()
    wang.update("ticket", mine, fault_description="皮带磨损，需更换")
    wang.update("charge", charge, amount=260.0)
    chen.update("ticket", his, fault_description="轴承卡死")
    wang.update("ticket", given_away, diagnosis="电源板烧毁")  # offline: the desk gives it to Chen meanwhile
    wang.sync()
    chen.sync()
    timeline.advance(60_000)
    desk.update("ticket", mine, fault_description="客户说十分钟后停机")
    desk.update("charge", charge, amount=300.0)
    desk.update("ticket", his, fault_description="客户说有异响")
    desk.sync()
    wang.update("ticket", given_away, actions="更换电源板")  # offline, a minute before the desk gives it away
    timeline.advance(60_000)
    desk.update("ticket", given_away, assignee_id=people["chen"].user_id)
    desk.sync()
    timeline.advance(60_000)
    wang.sync()

    def listed(**filters) -> list[tuple[str, str]]:
        return sorted((n["entity"], n["field"]) for n in page_through(client, people["desk"], **filters))

    assert listed(person=people["wang"].user_id) == [("charge", "amount"), ("ticket", "assignee_id"),
                                                     ("ticket", "fault_description")]
    assert listed(person=people["chen"].user_id) == [("ticket", "fault_description")]
    assert listed(ticket=mine) == [("charge", "amount"), ("ticket", "fault_description")]
    assert listed(rule="reassignment") == [("ticket", "assignee_id")]
    assert listed(rule="reassignment", ticket=mine) == []
    [settled] = page_through(client, people["desk"], ticket=his)
    answer = client.post(f"/v1/office/conflicts/{settled['id']}/resolve", headers=auth_header(people["desk"]),
                         json={"choose": "kept", "reason": "已电话确认：客户描述为准"})
    assert answer.status_code == 200
    assert [n["id"] for n in page_through(client, people["desk"], status="resolved")] == [settled["id"]]
    assert settled["id"] not in {n["id"] for n in page_through(client, people["desk"])}


@pytest.mark.parametrize(("query", "status", "field"), [
    ({"status": "closed"}, 422, "status"),
    ({"rule": "majority_vote"}, 422, "rule"),
    ({"stauts": "resolved"}, 422, "stauts"),
    ({"limit": "0"}, 422, "limit"),
    ({"limit": "501"}, 422, "limit"),
    ({"limit": "9" * 5000}, 422, "limit"),
    ({"limit": "１０"}, 422, "limit"),
    ({"cursor": "9" * 5000 + ".x"}, 422, "cursor"),
    ({"cursor": "123"}, 422, "cursor"),
    ({"cursor": "999999999999999999.abc"}, 422, "cursor"),
    ({"cursor": "１２３.abc"}, 422, "cursor"),
    ({"since": "2026-11-23T08:00:00"}, 422, "since"),
    ({"since": "二〇二六年十一月"}, 422, "since"),
    ({"until": "2026-11-23T08:00:00+08:00" * 100}, 422, "until"),
    ({"person": "张伟"}, 422, "person"),
    ({"person": "u-nobody"}, 404, "person"),
    ({"ticket": "t-nowhere"}, 404, "ticket"),
])
def test_a_malformed_or_unknown_filter_is_refused_with_its_code(people, client, query, status, field):
    answer = client.get("/v1/office/conflicts", query_string=query, headers=auth_header(people["manager"]))
    assert (answer.status_code, answer.json["field"]) == (status, field)
    assert answer.json["code"] == ("invalid" if status == 422 else "not_found")


def test_the_queue_is_head_offices_alone(people, client):
    answer = client.get("/v1/office/conflicts", headers=auth_header(people["wang"]))
    assert (answer.status_code, answer.json["code"]) == (403, "forbidden")


@pytest.mark.parametrize("query", [
    {"since": "2026-11-24T00:00:00+08:00", "until": "2026-11-23T00:00:00+08:00"},
    {"since": "9999-12-31T23:00:00-08:00"},
    {"until": "0001-01-01T00:00:00+08:00"},
])
def test_a_time_range_no_note_can_fall_in_is_an_empty_queue_not_an_error(people, client, query):
    answer = client.get("/v1/office/conflicts", query_string=query, headers=auth_header(people["manager"]))
    assert (answer.status_code, answer.json) == (200, {"conflicts": [], "next": None})
