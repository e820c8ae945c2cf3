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


def test_every_registry_entity_has_a_table_with_exactly_its_fields(tmp_path):
    replica = Replica(tmp_path / "r.db", "dev")
    for entity in REGISTRY:
        assert columns(replica.db, entity.name) == ["id", *entity.field_names], entity.name


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
