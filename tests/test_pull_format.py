"""Pull page format 2 (columns named once per entity, rows as arrays) gives a replica
exactly what format 1 gives it, and format 1 stays what a client of it knows.

The unit tests pack log records the way the server does and apply both formats to new
replicas through the engine; the HTTP tests ask the live app.
"""

from __future__ import annotations

import orjson
import pytest

from server import pull_format
from server.auth import add_device
from sync.client import Replica
from sync.registry import REGISTRY
from sync.transport import HttpTransport
from tests.conftest import Person, auth_header, http_client

#: A value of each field type, as a device would find it in a row (Chinese text, a
#: boolean both ways, JSON nested, a real with a fraction).
VALUES = {
    "text": "北京市朝阳区建国路88号，空调外机噪音大",
    "ref": "r-客户-1",
    "time": "2026-11-23T09:30:00+08:00",
    "integer": 42,
    "real": 386.5,
    "boolean": True,
    "json": {"区域": "机房", "items": [1, None, "皮带"], "ok": False},
}


def _row(entity, variant: int) -> dict:
    """Every field of ``entity`` set; in variant 1, every other field null and booleans false."""
    row = {}
    for index, f in enumerate(entity.fields):
        value = VALUES[f.type]
        if variant == 1:
            value = None if index % 2 else (False if f.type == "boolean" else value)
        row[f.name] = value
    return row


def _records() -> list[tuple]:
    """Log records of every entity: two upserts, a delete and an eviction each, then the
    first row upserted again (its last change on the page counts)."""
    records, seq = [], 0
    for entity in REGISTRY:
        for row_id, op, data in ((f"{entity.name}-1", "upsert", _row(entity, 0)),
                                 (f"{entity.name}-2", "upsert", _row(entity, 1)),
                                 (f"{entity.name}-3", "delete", None),
                                 (f"{entity.name}-4", "evict", None),
                                 (f"{entity.name}-1", "upsert", _row(entity, 1))):
            seq += 1
            text = None if data is None else orjson.dumps(data).decode()
            records.append((seq, entity.name, row_id, op, seq, f"1764000000000:{seq:04d}:d-desk", text, 0))
    return records


class OnePage:
    """A transport that answers the first pull with ``page``, the next with nothing."""

    def __init__(self, page: dict):
        self.page = orjson.loads(orjson.dumps(page))  # as it would arrive

    def pull(self, cursor, limit):
        page, self.page = self.page, {"changes": [], "cursor": cursor, "has_more": False}
        return page


def _format_1(records: list[tuple]) -> dict:
    return {"changes": [{"entity": e, "id": i, "op": op, "version": v, "hlc": h,
                         "data": None if d is None else orjson.loads(d)} for _s, e, i, op, v, h, d, _h in records],
            "cursor": str(records[-1][0]), "has_more": False}


def _format_2(records: list[tuple], role: str) -> dict:
    return {"format": 2, "entities": pull_format.pack(records, REGISTRY, role),
            "cursor": str(records[-1][0]), "has_more": False}


def _everything(replica: Replica) -> dict:
    return {entity.name: replica.all(entity.name) for entity in REGISTRY}


def test_every_entity_arrives_the_same_from_a_format_2_page_as_from_format_1(tmp_path):
    records = _records()
    old = Replica(tmp_path / "old.replica", "d-old", OnePage(_format_1(records)))
    new = Replica(tmp_path / "new.replica", "d-new", OnePage(_format_2(records, "manager")))
    try:
        assert old.sync().pulled == new.sync().pulled == len(records)
        held = _everything(new)
        assert held == _everything(old)
        for entity in REGISTRY:
            # the row upserted twice holds its last version; the deleted and evicted are gone
            assert held[entity.name] == {f"{entity.name}-1": _row(entity, 1), f"{entity.name}-2": _row(entity, 1)}
        ticket = held["ticket"]["ticket-1"]
        assert ticket[next(f.name for f in REGISTRY.get("ticket").fields if f.type == "text")] == VALUES["text"]
        assert new.cursor == old.cursor == str(len(records))
    finally:
        old.close()
        new.close()


def test_a_format_2_page_names_columns_once_and_sends_rows_as_arrays():
    records = _records()
    page = pull_format.pack(records, REGISTRY, "manager")
    customer = REGISTRY.get("customer")
    assert page["customer"]["columns"] == list(customer.field_names)
    first, _second, deleted, evicted, again = page["customer"]["rows"]
    assert first == ["customer-1", 1, "upsert", *(_row(customer, 0)[n] for n in customer.field_names)]
    assert deleted == ["customer-3", 3, "delete"]
    assert evicted == ["customer-4", 4, "evict"]
    assert again[:3] == ["customer-1", 5, "upsert"]
    assert list(page) == list(REGISTRY.names)  # each entity once, in the order the log named it


def test_a_field_the_role_may_not_read_has_no_column_and_is_stored_as_null(tmp_path):
    """A contract's terms are for head office: an engineer's page has no such column."""
    records = [r for r in _records() if r[1] == "contract"]
    office = pull_format.pack(records, REGISTRY, "manager")["contract"]["columns"]
    engineer = pull_format.pack(records, REGISTRY, "engineer")["contract"]["columns"]
    assert "terms" in office and set(office) - set(engineer) == {"terms"}
    replica = Replica(tmp_path / "eng.replica", "d-eng", OnePage(_format_2(records, "engineer")))
    try:
        replica.sync()
        held = replica.get("contract", "contract-2")
        assert held == {**_row(REGISTRY.get("contract"), 1), "terms": None}
    finally:
        replica.close()


def test_a_page_from_a_newer_server_with_a_column_the_replica_lacks_still_applies(tmp_path):
    """A column the app does not know is dropped; a field the page has no column for is null."""
    page = {"format": 2, "cursor": "2", "has_more": False, "entities": {
        "customer": {"columns": ["微信号", "name"], "rows": [["c-1", 2, "upsert", "wx-张伟", "华信印刷有限公司"]]}}}
    replica = Replica(tmp_path / "r.replica", "d-r", OnePage(page))
    try:
        replica.sync()
        held = replica.get("customer", "c-1")
        assert held["name"] == "华信印刷有限公司"
        assert all(value is None for name, value in held.items() if name != "name")
    finally:
        replica.close()


def _fill(replica_for, people) -> None:
    desk = replica_for(people["desk"])
    for k in range(30):
        desk.insert("customer", name=f"华信印刷有限公司{k}号", zone="ring2", phone="010-6555-0101",
                    address=None if k % 3 else "北京市朝阳区建国路88号")
    desk.sync()


def test_the_default_page_is_format_1_as_before(client, people, replica_for):
    _fill(replica_for, people)
    answer = client.get("/v1/sync/pull?limit=2", headers=auth_header(people["manager"])).get_json()
    assert set(answer) == {"changes", "cursor", "has_more"}
    assert set(answer["changes"][0]) == {"entity", "id", "op", "version", "hlc", "data"}
    assert answer["changes"][0]["data"]["zone"] == "ring2"


def test_format_2_over_http_carries_what_format_1_carries(client, people, replica_for):
    _fill(replica_for, people)
    headers = auth_header(people["manager"])
    old = client.get("/v1/sync/pull?limit=100", headers=headers).get_json()
    new = client.get("/v1/sync/pull?limit=100&format=2", headers=headers).get_json()
    assert new["format"] == 2 and (new["cursor"], new["has_more"]) == (old["cursor"], old["has_more"])
    customers = new["entities"]["customer"]
    as_rows = {row[0]: (row[1], row[2], dict(zip(customers["columns"], row[3:]))) for row in customers["rows"]}
    assert as_rows == {c["id"]: (c["version"], c["op"], c["data"]) for c in old["changes"] if c["entity"] == "customer"}
    assert len(as_rows) == 30


@pytest.mark.parametrize("asked", ["3", "0", "-1", "２", "2.0", "abc", "", "9" * 30])
def test_a_format_the_server_does_not_speak_is_refused(client, people, asked):
    response = client.get(f"/v1/sync/pull?format={asked}", headers=auth_header(people["wang"]))
    assert response.status_code == 422
    assert response.get_json()["code"] == "invalid"


class OldEngine:
    """A transport as the engine had before format 2 and issue 20: push and pull only (no
    page carried by the push, no page asked on its head, no estimate), format 1."""

    def __init__(self, inner: HttpTransport):
        self.inner = inner
        self.answers: list[dict] = []

    def push(self, changeset: dict) -> dict:
        return self.inner.push(changeset)

    def pull(self, cursor, limit) -> dict:
        answer = self.inner.pull(cursor, limit)
        self.answers.append(answer)
        return answer


def test_a_client_of_format_1_and_one_of_format_2_hold_the_same_rows(app, engine, people, replica_for, transport_for):
    _fill(replica_for, people)
    desk = replica_for(people["desk"])
    desk.update("customer", next(iter(desk.all("customer"))), zone="望京")
    desk.delete("customer", sorted(desk.all("customer"))[-1])
    desk.sync()
    with engine.begin() as conn:
        device_id, token = add_device(conn, people["manager"].user_id, "李经理的旧平板")
    old_tablet = Person(people["manager"].user_id, "manager", device_id, token)
    old_engine = OldEngine(HttpTransport(http_client(app), token, page_format=1, sleep=lambda _s: None))
    old = replica_for(old_tablet, transport=old_engine, page_size=7)
    new = replica_for(people["manager"], page_size=7)
    old.insert("customer", name="旧平板录入的客户", zone="ring3", phone="022-2570-0000")
    old.sync()
    new.sync()
    assert old.pending() == 0
    assert _everything(old) == _everything(new)
    # every page the old engine read was format 1, as it always was
    assert len(old_engine.answers) == 5 and all(set(a) == {"changes", "cursor", "has_more"} for a in old_engine.answers)
    assert len(new.all("customer")) == 30
    assert "望京" in {c["zone"] for c in new.all("customer").values()}
