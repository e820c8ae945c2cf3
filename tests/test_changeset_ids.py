"""A change-set id names one change-set: one refused whole (422) was never recorded, so
王师傅's phone sends it again under the same id without the mutation named; an id the
server answered is answered again from its record for the same mutations, and refused
(409 ``changeset_reused``) for any others, which are not applied."""

from __future__ import annotations

import sqlalchemy as sa

from server.tables import entity_table
from sync import hlc
from sync.ids import new_id
from tests.conftest import auth_header


def mutation(name: str, counter: int, *, clock: str | None = None) -> dict:
    return {"mutation_id": new_id(), "entity": "customer", "id": new_id(), "op": "insert",
            "fields": {"name": name, "address": "上海市浦东新区张江路 88 号"},
            "hlc": clock or hlc.format_hlc(hlc.now_ms(), counter, "d-wang"), "base_version": None}


def push(client, person, changeset_id: str, mutations: list[dict]):
    return client.post("/v1/sync/push", headers=auth_header(person), json={
        "changeset_id": changeset_id, "device_id": person.device_id, "schema_version": 1, "mutations": mutations})


def test_a_change_set_refused_whole_is_sent_again_under_its_id_without_the_mutation_named(people, client):
    wang = people["wang"]
    good, bad = mutation("张三", 0), mutation("李四", 1, clock="昨天下午")
    refused = push(client, wang, "cs-1", [good, bad])
    assert (refused.status_code, refused.json["details"]["mutation_index"]) == (422, 1)
    again = push(client, wang, "cs-1", [good])
    assert again.status_code == 200 and not again.json.get("replayed")  # the 422 left no record
    assert [r["status"] for r in again.json["results"]] == ["applied"]
    assert push(client, wang, "cs-1", [good]).json["replayed"] is True


def test_an_answered_change_set_id_sent_with_other_mutations_is_refused_and_applies_nothing(people, client):
    wang, first, other = people["wang"], mutation("张三", 0), mutation("王五", 1)
    assert push(client, wang, "cs-2", [first]).status_code == 200
    reused = push(client, wang, "cs-2", [other])
    assert (reused.status_code, reused.json["code"], reused.json["field"]) == (409, "changeset_reused", "changeset_id")
    assert push(client, wang, "cs-2", [first, other]).status_code == 409  # more than it was: refused too
    row = client.get(f"/v1/sync/rows/customer/{other['id']}", headers=auth_header(wang))
    assert row.status_code == 404  # 王五 was never stored
    assert push(client, wang, "cs-2", [first]).json["replayed"] is True


def test_a_replica_restored_from_an_old_copy_sends_its_edit_again_under_a_new_id(people, replica_for, engine):
    wang = replica_for(people["wang"])
    wang.insert("customer", name="张三", address="上海市浦东新区")
    wang.sync()
    with engine.connect() as conn:
        answered = conn.execute(sa.text("SELECT changeset_id FROM changesets")).scalar_one()
    customer = wang.insert("customer", name="赵六", address="上海市徐汇区")
    with wang._transaction():  # the copy still had the old id in flight, now on the new edit
        wang.db.execute("UPDATE _outbox SET changeset_id = ?", (answered,))
        wang._set_state("inflight_changeset", answered)
    wang.sync()
    assert not wang.pending()
    customers = entity_table("customer")
    with engine.connect() as conn:
        stored = conn.execute(sa.select(customers.c.name).where(customers.c.id == customer)).scalar_one()
    assert stored == "赵六"
