"""The checks made before a write is merged (:mod:`server.domain.checks`): a stock movement
names its kind, part, quantity and ends; a signature its hashes; a charge, an expense
claim, a maintenance plan and a requisition what they must. Each refusal rejects that one
mutation with its code and field, and the rest of the change-set applies."""

from __future__ import annotations

import itertools

import orjson
import sqlalchemy as sa

from server.tables import entity_table
from sync import hlc
from tests.conftest import Person, auth_header

_BASE_MS = hlc.now_ms()


class Pusher:
    """One person's device pushing change-sets straight to the server, each mutation at a
    later stamp of its own clock."""

    def __init__(self, client, person: Person):
        self.client, self.person = client, person
        self._counter = itertools.count(1)

    def push(self, *mutations: tuple) -> list[dict]:
        """``(entity, id, op, fields)`` or ``(entity, id, op, fields, base_version)`` each;
        the server's answer for each, in order."""
        body = {"changeset_id": f"cs-{self.person.device_id}-{next(self._counter)}", "device_id": self.person.device_id,
                "schema_version": 1, "mutations": []}
        for entity, row_id, op, fields, *base in mutations:
            n = next(self._counter)
            body["mutations"].append({
                "mutation_id": f"m-{self.person.device_id}-{n}", "entity": entity, "id": row_id, "op": op,
                "fields": fields, "hlc": str(hlc.Timestamp(_BASE_MS + n, 0, self.person.device_id)),
                "base_version": base[0] if base else None})
        answer = self.client.post("/v1/sync/push", data=orjson.dumps(body),
                                  headers={**auth_header(self.person), "Content-Type": "application/json"})
        assert answer.status_code == 200, answer.json
        return answer.json["results"]

    def one(self, entity: str, row_id: str, op: str, fields: dict, base_version: int | None = None) -> dict:
        [result] = self.push((entity, row_id, op, fields, base_version))
        return result


def refusal(result: dict) -> tuple:
    """A rejection as (status, code, field), or the status alone when applied."""
    if result["status"] != "rejected":
        return (result["status"],)
    assert result["message"]
    return result["status"], result["code"], result.get("field")


def stored(engine, entity: str, row_id: str) -> dict | None:
    table = entity_table(entity)
    with engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().one_or_none()
    return dict(row) if row is not None else None


REJECTED = "rejected"


def test_a_movement_of_nothing_is_refused_and_an_adjustment_down_is_taken(client, people, engine):
    """The depot keeper books a receipt of zero drive belts (refused) and the count's
    correction of two belts fewer than the ledger (taken: adjustments go both ways)."""
    desk = Pusher(client, people["desk"])
    assert [refusal(r) for r in desk.push(
        ("part", "p-belt", "insert", {"code": "BLT-200", "name": "传动皮带", "unit": "条", "returnable": True}),
        ("stock_location", "l-depot", "insert", {"kind": "depot", "name": "北京总库", "depot_id": "depot-main"}),
    )] == [("applied",), ("applied",)]
    depot = Pusher(client, people["depot"])
    results = depot.push(
        ("stock_movement", "mv-zero", "insert", {"kind": "receive", "part_id": "p-belt", "qty": 0.0,
                                                 "to_location_id": "l-depot"}),
        ("stock_movement", "mv-down", "insert", {"kind": "stocktake_adjustment", "part_id": "p-belt", "qty": -2.0,
                                                 "to_location_id": "l-depot"}),
    )
    assert [refusal(r) for r in results] == [(REJECTED, "invalid_quantity", "qty"), ("applied",)]
    assert stored(engine, "stock_movement", "mv-zero") is None
    assert stored(engine, "stock_movement", "mv-down")["qty"] == -2.0
