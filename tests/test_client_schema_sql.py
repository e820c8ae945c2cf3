"""The replica's SQL as files: a client in another language runs them, not Python.

``client_schema/steps/*.sql`` (hand-written, never edited once released) and the
generated ``client_schema/sql/`` (the migrations table and every capture and version
trigger) are applied by the ``sqlite3`` command-line shell alone, as
``client_schema/README.md`` tells a client to; the file must then hold exactly the
schema the device engine makes, and the engine must open it finding nothing to run.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import sqlite_utils

import client_schema
from sync.client import Replica

ROOT = Path(__file__).resolve().parent.parent
SQL = ROOT / "client_schema" / "sql"

needs_shell = pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 shell is not installed")


def _schema(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall())


def _script_from_files_alone() -> str:
    """What a client in another language runs on a new replica file, read from the files."""
    parts = [(SQL / "migrations_table.sql").read_text(encoding="utf-8")]
    for step in sorted((ROOT / "client_schema" / "steps").glob("*.sql")):
        parts += ["BEGIN;", step.read_text(encoding="utf-8"),
                  "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                  f"VALUES ('fieldsync-replica', '{step.stem}', strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'));",
                  "COMMIT;"]
    parts += ["BEGIN;", (SQL / "triggers.sql").read_text(encoding="utf-8"), "COMMIT;"]
    return "\n".join(parts)


@pytest.mark.parametrize("name", sorted(client_schema.SQL_FILES))
def test_checked_in_replica_sql_is_what_the_registry_generates(name):
    assert (SQL / name).read_text(encoding="utf-8") == client_schema.SQL_FILES[name](), \
        "run 'fieldsync client-schema write' and commit client_schema/sql/"


@needs_shell
def test_replica_made_by_the_sqlite3_shell_from_the_files_has_the_engines_schema(tmp_path):
    by_files = tmp_path / "from-files.db"
    subprocess.run(["sqlite3", "-bail", str(by_files)], input=_script_from_files_alone(), text=True, check=True,
                   capture_output=True)
    by_engine = tmp_path / "by-engine.db"
    db = sqlite_utils.Database(sqlite3.connect(by_engine))
    client_schema.apply(db)
    db.conn.close()

    assert _schema(by_files) == _schema(by_engine)
    triggers = [row for row in _schema(by_files) if row[0] == "trigger"]
    assert {name for _, name, _, _ in triggers} >= {"fs_capture_ticket_insert", "fs_version_ticket_delete"}


@needs_shell
def test_replica_made_from_the_files_opens_in_the_engine_which_runs_no_step_and_captures_王师傅s_edit(tmp_path):
    path = tmp_path / "wang.db"
    subprocess.run(["sqlite3", "-bail", str(path)], input=_script_from_files_alone(), text=True, check=True,
                   capture_output=True)
    with sqlite3.connect(path) as conn:
        recorded = [name for (name,) in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert recorded == [step.stem for step in client_schema.steps()]

    replica = Replica(path, "d-wang")
    assert client_schema.migrations.pending(sqlite_utils.Database(replica.db)) == []
    ticket = replica.insert("ticket", status="on_site", fault_description="空调外机异响，制冷效果差")
    fields = replica.db.execute("SELECT fields FROM _outbox WHERE row_id = ?", (ticket,)).fetchone()[0]
    assert "空调外机异响" in fields
    replica.close()
