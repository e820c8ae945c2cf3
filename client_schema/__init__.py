"""The device replica's schema: versioned SQL steps plus change-capture triggers.

The steps in ``steps/`` are plain SQL files applied in name order with
``sqlite_utils.Migrations``, each in one transaction with the record of it; a replica
made by an older release migrates forward by running the steps it lacks. The capture
triggers are generated from :mod:`sync.registry` and rebuilt on every open, so they
always match the tables; ``tests/test_client_schema.py`` checks the tables against the
registry.

A trigger copies each local insert, update or delete into ``_outbox`` in the same
transaction as the write, stamped by the SQL function ``fieldsync_hlc()`` that the
device engine registers on its connection (a client in another language registers its
own: it returns the next hybrid-logical-clock timestamp, see docs/protocol.md).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from sync.registry import REGISTRY, Entity, Registry

__all__ = ["SQL_TYPES", "MIGRATIONS_TABLE", "MIGRATION_SET", "migrations", "apply", "capture_triggers",
           "version_triggers", "steps", "triggers_sql", "migrations_table_sql", "write_sql", "SQL_FILES"]

SQL_TYPES = {
    "text": "TEXT",
    "ref": "TEXT",
    "time": "TEXT",
    "json": "TEXT",
    "integer": "INTEGER",
    "boolean": "INTEGER",
    "real": "REAL",
}

_STEPS_DIR = Path(__file__).with_name("steps")
_TRIGGER_PREFIX = "fs_capture_"
_VERSION_TRIGGER_PREFIX = "fs_version_"
_NOT_A_KEY = "$.\"\""

#: Where a replica records the steps it has run: one row per step, ``migration_set`` =
#: :data:`MIGRATION_SET`, ``name`` = the step's file name without ``.sql``.
MIGRATIONS_TABLE = "_sqlite_migrations"
MIGRATION_SET = "fieldsync-replica"
#: The generated SQL for clients in other languages (``fieldsync client-schema write``):
#: file name → what writes it; tests/test_client_schema_sql.py checks them fresh.
SQL_DIR = Path(__file__).with_name("sql")

migrations = Migrations(MIGRATION_SET)


def steps() -> list[Path]:
    return sorted(_STEPS_DIR.glob("*.sql"))


def _statements(script: str) -> list[str]:
    """Split a SQL script into statements (``executescript`` would commit mid-step)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip() and not all(l.strip().startswith("--") or not l.strip() for l in current.splitlines()):
        raise ValueError(f"incomplete SQL statement at the end: {current.strip()[:80]!r}")
    return statements


def _register(path: Path) -> None:
    def run(db: sqlite_utils.Database) -> None:
        for statement in _statements(path.read_text()):
            db.conn.execute(statement)

    migrations(name=path.stem)(run)


for _path in steps():
    _register(_path)


def apply(db: sqlite_utils.Database, registry: Registry = REGISTRY) -> None:
    """Bring a replica to the newest schema and rebuild its triggers.

    The triggers are dropped first: a step that rewrites rows (0004 fills ``_version``)
    must not be captured as local edits, and the triggers of the old schema may not fit
    the new one.
    """
    with db.conn:
        for (name,) in db.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND (name LIKE ? OR name LIKE ?)",
            (_TRIGGER_PREFIX + "%", _VERSION_TRIGGER_PREFIX + "%"),
        ).fetchall():
            db.conn.execute(f'DROP TRIGGER "{name}"')
    migrations.apply(db)
    with db.conn:
        for entity in registry:
            for sql in version_triggers(entity):
                db.conn.execute(sql)
            if not _captured(entity):
                continue  # written by the server only (conflict notes): nothing to send
            for sql in capture_triggers(entity):
                db.conn.execute(sql)


def version_triggers(entity: Entity) -> list[str]:
    """The trigger that keeps a deleted row's server version in ``_row_version``.

    It fires on every delete, the engine's too: a row deleted here or by a pull must
    not be taken back by an older copy of it (a late pull page, a push answered from
    the server's record). The engine forgets the version when the row leaves the scope.
    """
    table = entity.name
    return [
        f'CREATE TRIGGER "{_VERSION_TRIGGER_PREFIX}{table}_delete" AFTER DELETE ON "{table}" '
        f"WHEN OLD._version IS NOT NULL BEGIN "
        f"INSERT INTO _row_version (entity, id, version) VALUES ('{table}', OLD.id, OLD._version) "
        f"ON CONFLICT (entity, id) DO UPDATE SET version = excluded.version; END"
    ]


def _captured(entity: Entity) -> list:
    """Fields a local write sends: server-owned ones are only ever pulled."""
    return [f for f in entity.fields if not f.server_owned]


def _json_pairs(entity: Entity) -> str:
    parts = []
    for f in _captured(entity):
        value = f"json(NEW.\"{f.name}\")" if f.type == "json" else f'NEW."{f.name}"'
        parts.append(f"'{f.name}', {value}")
    return ", ".join(parts)


def _outbox_insert(entity: Entity, op: str, fields_sql: str, row: str) -> str:
    return (
        "INSERT INTO _outbox (mutation_id, entity, row_id, op, fields, hlc, base_version) "
        f"SELECT lower(hex(randomblob(16))), '{entity.name}', {row}.id, '{op}', f, fieldsync_hlc(), "
        f"coalesce({row}._version, (SELECT version FROM _row_version WHERE entity = '{entity.name}' AND id = {row}.id)) "
        f"FROM (SELECT {fields_sql} AS f)"
    )


def capture_triggers(entity: Entity) -> list[str]:
    """The three triggers that copy writes on ``entity``'s table into the outbox."""
    table, quiet = entity.name, "(SELECT applying FROM _sync_control) = 0"
    pairs = _json_pairs(entity)
    nulls = ", ".join(
        f"CASE WHEN NEW.\"{f.name}\" IS NULL THEN '$.{f.name}' ELSE '{_NOT_A_KEY}' END" for f in _captured(entity)
    )
    unchanged = ", ".join(
        f"CASE WHEN NEW.\"{f.name}\" IS OLD.\"{f.name}\" THEN '$.{f.name}' ELSE '{_NOT_A_KEY}' END"
        for f in _captured(entity)
    )
    insert_fields = f"json_remove(json_object({pairs}), {nulls})"
    update_fields = f"json_remove(json_object({pairs}), {unchanged})"
    return [
        f'CREATE TRIGGER "{_TRIGGER_PREFIX}{table}_insert" AFTER INSERT ON "{table}" WHEN {quiet} BEGIN '
        f"{_outbox_insert(entity, 'insert', insert_fields, 'NEW')}; END",
        f'CREATE TRIGGER "{_TRIGGER_PREFIX}{table}_update" AFTER UPDATE ON "{table}" WHEN {quiet} BEGIN '
        f"{_outbox_insert(entity, 'update', update_fields, 'NEW')} WHERE f <> '{{}}'; END",
        f'CREATE TRIGGER "{_TRIGGER_PREFIX}{table}_delete" AFTER DELETE ON "{table}" WHEN {quiet} BEGIN '
        f"{_outbox_insert(entity, 'delete', repr('{}'), 'OLD')}; END",
    ]


def _trigger_names(registry: Registry) -> list[str]:
    names = []
    for entity in registry:
        names.append(f"{_VERSION_TRIGGER_PREFIX}{entity.name}_delete")
        if _captured(entity):
            names += [f"{_TRIGGER_PREFIX}{entity.name}_{op}" for op in ("insert", "update", "delete")]
    return names


def triggers_sql(registry: Registry = REGISTRY) -> str:
    """Every trigger :func:`apply` makes, as one SQL script: dropped, then created.

    Run it after the steps, each time the replica is opened by a new release: the
    triggers always match the newest tables.
    """
    lines = [
        "-- fieldsync device replica: the change-capture and version triggers (see client_schema/README.md).",
        "-- Generated by `fieldsync client-schema write` from sync/registry.py: do not edit.",
        "-- Run after the steps in client_schema/steps/, in one transaction, on every upgrade. The",
        "-- capture triggers call fieldsync_hlc(), a SQL function the client registers on its",
        "-- connection: it returns the next hybrid-logical-clock stamp (docs/protocol.md).",
        "",
    ]
    lines += [f'DROP TRIGGER IF EXISTS "{name}";' for name in _trigger_names(registry)]
    for entity in registry:
        lines.append("")
        lines.append(f"-- {entity.name}")
        statements = version_triggers(entity) + (capture_triggers(entity) if _captured(entity) else [])
        lines += [statement + ";" for statement in statements]
    return "\n".join(lines) + "\n"


def migrations_table_sql() -> str:
    """The table (and its unique index) a replica records its steps in, as
    ``sqlite_utils`` makes it, so a replica made by any client opens in any other."""
    db = sqlite_utils.Database(memory=True)
    Migrations(MIGRATION_SET).ensure_migrations_table(db)
    rows = db.conn.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type DESC, name",
        (MIGRATIONS_TABLE,),
    ).fetchall()
    header = [
        f"-- fieldsync device replica: the table {MIGRATIONS_TABLE} records each step run (see client_schema/README.md).",
        "-- Generated by `fieldsync client-schema write`: do not edit. Run it once, on a new replica file.",
        f"-- After each step: INSERT INTO {MIGRATIONS_TABLE} (migration_set, name, applied_at)",
        f"--   VALUES ('{MIGRATION_SET}', '<step file name without .sql>', '<UTC time, ISO-8601>');",
        "",
    ]
    return "\n".join(header + [sql + ";" for (sql,) in rows]) + "\n"


SQL_FILES = {"migrations_table.sql": migrations_table_sql, "triggers.sql": triggers_sql}


def write_sql(directory: Path = SQL_DIR) -> list[Path]:
    """Write :data:`SQL_FILES` into ``directory``; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in SQL_FILES.items():
        path = directory / name
        path.write_text(make(), encoding="utf-8")
        written.append(path)
    return written
