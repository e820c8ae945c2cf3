"""Head office settling a conflict writes only what a device could have pushed: the
chosen value passes the push's own checks (type, choices, length, NUL), or nothing is
stored and the answer names the push's code."""

from __future__ import annotations

import orjson
import pytest
import sqlalchemy as sa

from server.tables import change_log, entity_table
from tests.conftest import auth_header
from tests.scenario import desk_opens_ticket


def server_row(engine, entity, row_id) -> dict:
    table = entity_table(entity)
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().one())


def log_length(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(change_log)).scalar()


@pytest.fixture
def client(timeline):
    """The office's client, on the same simulated time as the devices."""
    return timeline.app.test_client()


@pytest.fixture
def disputed(people, timeline, engine) -> dict:
    """Wang, offline on site, and the desk a minute later disagree on a ticket's status,
    category and fault description: one open note for each field."""
    desk = timeline.device(people["desk"])
    wang = timeline.device(people["wang"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id, category="C")["ticket"]
    wang.sync()
    wang.update("ticket", ticket, status="on_site", category="A", fault_description="皮带磨损，打滑")
    timeline.advance(60_000)
    desk.update("ticket", ticket, status="cancelled", category="B", fault_description="客户来电：已自行恢复")
    wang.sync()
    desk.sync()
    table = entity_table("conflict")
    with engine.connect() as conn:
        notes = {r.field: r.id for r in conn.execute(sa.select(table).where(table.c.row_id == ticket))}
    assert {"status", "category", "fault_description"} <= notes.keys()
    return {"ticket": ticket, "notes": notes}


@pytest.mark.parametrize(("field", "value", "why"), [
    ("category", 42, "expected one of"),
    ("status", "修好了", "expected one of"),
    ("fault_description", "皮带磨损" * 1001, "at most 4000 characters"),
    ("fault_description", "皮带\x00磨损", "NUL"),
    ("fault_description", ["皮带磨损"], "expected text"),
])
def test_office_choosing_a_value_no_device_could_push_is_refused_and_nothing_is_stored(
        people, client, engine, disputed, field, value, why):
    ticket, note = disputed["ticket"], disputed["notes"][field]
    before, logged = server_row(engine, "ticket", ticket), log_length(engine)
    answer = client.post(f"/v1/office/conflicts/{note}/resolve", headers=auth_header(people["manager"]),
                         json={"choose": "value", "value": value, "reason": "经理核实后修改"})
    assert (answer.status_code, answer.json["code"], answer.json["field"]) == (422, "invalid_value", field)
    assert why in answer.json["message"]
    assert server_row(engine, "ticket", ticket) == before
    assert server_row(engine, "conflict", note)["status"] == "open"
    assert log_length(engine) == logged


def test_a_lost_value_that_no_longer_fits_its_field_is_not_restored(people, client, engine, disputed):
    """A note kept from before the field's choices narrowed: restoring it is checked too."""
    note = disputed["notes"]["category"]
    table = entity_table("conflict")
    with engine.begin() as conn:
        conn.execute(table.update().where(table.c.id == note).values(lost_value=orjson.dumps("甲类").decode()))
    answer = client.post(f"/v1/office/conflicts/{note}/resolve", headers=auth_header(people["manager"]),
                         json={"choose": "lost", "reason": "恢复工程师的判断"})
    assert (answer.status_code, answer.json["code"]) == (422, "invalid_value")
    assert server_row(engine, "ticket", disputed["ticket"])["category"] == "B"


def test_office_choosing_a_value_that_fits_sets_it_everywhere(people, client, engine, disputed, timeline):
    note = disputed["notes"]["fault_description"]
    answer = client.post(f"/v1/office/conflicts/{note}/resolve", headers=auth_header(people["manager"]),
                         json={"choose": "value", "value": "皮带磨损打滑，客户确认需上门", "reason": "电话回访确认"})
    assert answer.status_code == 200 and answer.json["status"] == "resolved"
    assert server_row(engine, "ticket", disputed["ticket"])["fault_description"] == "皮带磨损打滑，客户确认需上门"
    wang = timeline.device(people["wang"])
    wang.sync()
    assert wang.get("ticket", disputed["ticket"])["fault_description"] == "皮带磨损打滑，客户确认需上门"
