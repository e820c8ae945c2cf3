"""The device schema: migrations forward, triggers that capture every write."""

from __future__ import annotations

import sqlite3

import orjson
import sqlite_utils

import client_schema
from sync.client import Replica
from sync.registry import REGISTRY


def columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]


def test_every_registry_entity_has_a_table_with_exactly_its_fields_and_the_version_held(tmp_path):
    replica = Replica(tmp_path / "r.db", "dev")
    for entity in REGISTRY:
        held = columns(replica.db, entity.name)
        assert "_version" in held, entity.name
        assert [c for c in held if c != "_version"] == ["id", *entity.field_names], entity.name


def test_a_replica_made_by_an_older_release_migrates_forward_keeping_its_data(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(sqlite3.connect(path))
    first, *later = [p.stem for p in client_schema.steps()]
    client_schema.migrations.apply(old, stop_before=later[0])
    old.conn.execute("INSERT INTO _sync_state (key, value) VALUES ('cursor', '42')")
    old.conn.commit()
    assert "ticket" not in old.table_names()
    old.conn.close()
    replica = Replica(path, "dev")
    assert replica.cursor == "42"
    assert "ticket" in sqlite_utils.Database(replica.db).table_names()
    assert [m.name for m in client_schema.migrations.applied(sqlite_utils.Database(replica.db))] == [first, *later]


def test_applying_steps_in_two_goes_gives_the_schema_of_one_go(tmp_path):
    def schema(db):
        return sorted(r for r in db.conn.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"))

    once = sqlite_utils.Database(sqlite3.connect(tmp_path / "once.db"))
    client_schema.apply(once)
    twice = sqlite_utils.Database(sqlite3.connect(tmp_path / "twice.db"))
    client_schema.migrations.apply(twice, stop_before=client_schema.steps()[1].stem)
    client_schema.apply(twice)
    strip = lambda rows: [r for r in rows if r[1] != "_sqlite_migrations"]  # noqa: E731
    assert strip(schema(once)) == strip(schema(twice))


def test_triggers_capture_inserts_changed_fields_only_and_deletes(tmp_path):
    replica = Replica(tmp_path / "r.db", "dev")
    ticket = replica.insert("ticket", status="reported", diagnosis=None)
    replica.update("ticket", ticket, status="dispatched", fault_description="E07")
    replica.update("ticket", ticket, status="dispatched")  # no change: nothing captured
    replica.delete("ticket", ticket)
    rows = [(op, orjson.loads(f)) for op, f in replica.db.execute("SELECT op, fields FROM _outbox ORDER BY seq")]
    assert rows == [
        ("insert", {"status": "reported"}),
        ("update", {"status": "dispatched", "fault_description": "E07"}),
        ("delete", {}),
    ]


def test_a_server_assigned_field_written_locally_is_not_sent(tmp_path):
    replica = Replica(tmp_path / "r.db", "dev")
    ticket = replica.insert("ticket", status="reported")
    replica.update("ticket", ticket, number="T2611-99999")
    assert replica.pending() == 1


def test_clock_resumes_past_pending_writes_after_a_restart(tmp_path):
    replica = Replica(tmp_path / "r.db", "dev", wall=lambda: 5_000)
    replica.insert("customer", name="a")
    stamp = replica.db.execute("SELECT hlc FROM _outbox").fetchone()[0]
    replica.close()
    reopened = Replica(tmp_path / "r.db", "dev", wall=lambda: 1_000)  # clock went backwards
    reopened.insert("customer", name="b")
    stamps = [r[0] for r in reopened.db.execute("SELECT hlc FROM _outbox ORDER BY seq")]
    assert stamps[0] == stamp and stamps[1] > stamp


class _OnePage:
    """A server that answers one pull page."""

    def __init__(self, changes: list[dict]):
        self.changes = changes

    def pull(self, cursor, limit):
        return {"changes": self.changes, "cursor": "8", "has_more": False}


def test_a_replica_at_step_3_upgrades_keeping_its_rows_versions_and_pending_edits(tmp_path):
    path = tmp_path / "v3.db"
    old = sqlite_utils.Database(sqlite3.connect(path))
    client_schema.migrations.apply(old, stop_before="0004_row_version_in_row")
    db = old.conn
    db.execute("INSERT INTO _sync_state (key, value) VALUES ('device_id', 'dev'), ('cursor', '7')")
    db.execute("INSERT INTO customer (id, name) VALUES ('c-pulled', 'Acme'), ('c-local', 'New')")
    db.execute("INSERT INTO _row_version (entity, id, version) VALUES ('customer', 'c-pulled', 3), "
               "('customer', 'c-deleted', 5)")
    db.execute("INSERT INTO _outbox (mutation_id, entity, row_id, op, fields, hlc) VALUES "
               "('m1', 'customer', 'c-local', 'insert', '{\"name\": \"New\"}', '001700000000000:00000:dev')")
    # the release before left its capture triggers in the file; this one captures any update
    db.execute("CREATE TRIGGER fs_capture_customer_update AFTER UPDATE ON customer BEGIN "
               "INSERT INTO _outbox (mutation_id, entity, row_id, op, hlc) "
               "VALUES (lower(hex(randomblob(16))), 'customer', NEW.id, 'update', 'x'); END")
    db.commit()
    db.close()

    replica = Replica(path, "dev", _OnePage([
        {"entity": "customer", "id": "c-deleted", "op": "upsert", "version": 4, "hlc": None, "data": {"name": "old"}},
    ]))

    assert replica.cursor == "7"
    assert {k: v["name"] for k, v in replica.all("customer").items()} == {"c-pulled": "Acme", "c-local": "New"}
    assert dict(replica.db.execute("SELECT id, _version FROM customer")) == {"c-pulled": 3, "c-local": None}
    assert replica.db.execute("SELECT entity, id, version FROM _row_version").fetchall() == [("customer", "c-deleted", 5)]
    assert replica.pending() == 1  # the step's own writes were not captured
    replica.update("customer", "c-pulled", name="Acme Ltd")
    assert replica.db.execute("SELECT base_version FROM _outbox WHERE row_id = 'c-pulled'").fetchone() == (3,)
    replica.pull()
    assert replica.get("customer", "c-deleted") is None  # older than the delete the replica remembers


def test_a_deleted_row_keeps_its_version_until_it_leaves_the_scope(tmp_path):
    replica = Replica(tmp_path / "r.db", "dev", _OnePage([
        {"entity": "customer", "id": "c1", "op": "upsert", "version": 6, "hlc": None, "data": {"name": "a"}},
    ]))
    replica.pull()
    replica.delete("customer", "c1")
    assert replica.db.execute("SELECT base_version FROM _outbox WHERE op = 'delete'").fetchone() == (6,)
    assert replica.rows.versions("customer", ["c1"]) == {"c1": 6}
    replica.insert("customer", id="c1", name="again")
    assert replica.db.execute("SELECT base_version FROM _outbox WHERE op = 'insert'").fetchone() == (6,)


def test_a_replica_holding_an_approved_requisition_keeps_it_approved_after_step_7(tmp_path):
    path = tmp_path / "v6.db"
    old = sqlite_utils.Database(sqlite3.connect(path))
    client_schema.migrations.apply(old, stop_before="0009_approvals")
    old.conn.execute("INSERT INTO _sync_state (key, value) VALUES ('device_id', 'dev')")
    old.conn.execute("INSERT INTO requisition (id, reason, approved, _version) VALUES "
                     "('r-approved', '换皮带', 1, 3), ('r-waiting', '换皮带', 0, 2)")
    old.conn.execute("INSERT INTO charge (id, kind, amount, approved_by, _version) VALUES "
                     "('c-sold', 'part_sale', 800, 'u-manager', 4)")
    old.conn.commit()
    old.conn.close()
    replica = Replica(path, "dev")
    assert {i: r["status"] for i, r in replica.all("requisition").items()} == {"r-approved": "approved",
                                                                            "r-waiting": None}
    assert replica.get("charge", "c-sold")["status"] == "approved"
    assert replica.pending() == 0  # the step's own writes are not local edits
    assert dict(replica.db.execute("SELECT id, _version FROM requisition")) == {"r-approved": 3, "r-waiting": 2}
