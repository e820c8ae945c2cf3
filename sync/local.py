"""Row-level SQL on the device replica, used by the engine in :mod:`sync.client`.

Everything here runs inside a transaction the caller holds, with the capture triggers
quiet (``_sync_control.applying = 1``) unless it says otherwise.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Iterable

import orjson

from .registry import Entity, Registry

__all__ = ["LocalRows", "to_column", "from_column"]


def to_column(kind: str, value: Any) -> Any:
    """A JSON value as the replica stores it."""
    if value is None:
        return None
    if kind == "json":
        return orjson.dumps(value).decode()
    if kind == "boolean":
        return int(bool(value))
    return value


def from_column(kind: str, value: Any) -> Any:
    """A stored column as its JSON value."""
    if value is None:
        return None
    if kind == "json":
        return orjson.loads(value)
    if kind == "boolean":
        return bool(value)
    return value


class LocalRows:
    """Writes pulled rows and replays pending local edits over them."""

    def __init__(self, db: sqlite3.Connection, registry: Registry):
        self.db = db
        self.registry = registry
        self._upsert_sql: dict[str, str] = {}
        self._layouts: dict[str, tuple] = {}

    def _entity(self, name: str) -> Entity:
        entity = self.registry.get(name)
        if entity is None:
            raise KeyError(name)
        return entity

    def upsert_sql(self, entity: Entity) -> str:
        sql = self._upsert_sql.get(entity.name)
        if sql is None:
            cols = ["id", *entity.field_names]
            quoted = ", ".join(f'"{c}"' for c in cols)
            marks = ", ".join("?" for _ in cols)
            sets = ", ".join(f'"{c}" = excluded."{c}"' for c in entity.field_names)
            sql = f'INSERT INTO "{entity.name}" ({quoted}) VALUES ({marks}) ON CONFLICT (id) DO UPDATE SET {sets}'
            self._upsert_sql[entity.name] = sql
        return sql

    def row_values(self, entity: Entity, row_id: str, data: dict) -> list:
        """The upsert's parameters; only json and boolean fields need converting."""
        names, converted = self._layout(entity)
        values = [row_id, *map(data.get, names)]
        for index, kind in converted:
            values[index] = to_column(kind, values[index])
        return values

    def _layout(self, entity: Entity) -> tuple[tuple[str, ...], tuple[tuple[int, str], ...]]:
        layout = self._layouts.get(entity.name)
        if layout is None:
            converted = tuple((i, f.type) for i, f in enumerate(entity.fields, start=1) if f.type in ("json", "boolean"))
            layout = self._layouts[entity.name] = (entity.field_names, converted)
        return layout

    def put_rows(self, entity_name: str, rows: Iterable[tuple[str, dict]]) -> None:
        """Replace whole rows with the server's state."""
        entity = self._entity(entity_name)
        self.db.executemany(self.upsert_sql(entity), [self.row_values(entity, rid, data) for rid, data in rows])

    def delete_rows(self, entity_name: str, ids: Iterable[str]) -> None:
        self._entity(entity_name)
        self.db.executemany(f'DELETE FROM "{entity_name}" WHERE id = ?', [(i,) for i in ids])

    def set_versions(self, items: Iterable[tuple[str, str, int]]) -> None:
        self.db.executemany(
            "INSERT INTO _row_version (entity, id, version) VALUES (?, ?, ?) "
            "ON CONFLICT (entity, id) DO UPDATE SET version = excluded.version",
            list(items),
        )

    def forget_versions(self, items: Iterable[tuple[str, str]]) -> None:
        self.db.executemany("DELETE FROM _row_version WHERE entity = ? AND id = ?", list(items))

    def versions(self, entity_name: str, ids: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            found.update(
                self.db.execute(
                    f"SELECT id, version FROM _row_version WHERE entity = ? AND id IN ({marks})", [entity_name, *chunk]
                ).fetchall()
            )
        return found

    def pending_rows(self) -> set[tuple[str, str]]:
        return set(self.db.execute("SELECT DISTINCT entity, row_id FROM _outbox").fetchall())

    def rebase(self, entity_name: str, row_id: str) -> None:
        """Replay the row's pending local edits, oldest first, over what is stored now."""
        entity = self._entity(entity_name)
        pending = self.db.execute(
            "SELECT op, fields FROM _outbox WHERE entity = ? AND row_id = ? ORDER BY seq", (entity_name, row_id)
        ).fetchall()
        for op, raw in pending:
            if op == "delete":
                self.db.execute(f'DELETE FROM "{entity_name}" WHERE id = ?', (row_id,))
                continue
            fields = {k: v for k, v in orjson.loads(raw).items() if entity.field(k) is not None}
            exists = self.db.execute(f'SELECT 1 FROM "{entity_name}" WHERE id = ?', (row_id,)).fetchone()
            if not exists:
                self.db.execute(f'INSERT INTO "{entity_name}" (id) VALUES (?)', (row_id,))
            if fields:
                sets = ", ".join(f'"{k}" = ?' for k in fields)
                values = [to_column(entity.field(k).type, v) for k, v in fields.items()]
                self.db.execute(f'UPDATE "{entity_name}" SET {sets} WHERE id = ?', (*values, row_id))

    def read_row(self, entity_name: str, row_id: str) -> dict | None:
        entity = self._entity(entity_name)
        cols = ", ".join(f'"{c}"' for c in entity.field_names)
        row = self.db.execute(f'SELECT {cols} FROM "{entity_name}" WHERE id = ?', (row_id,)).fetchone()
        if row is None:
            return None
        return {f.name: from_column(f.type, v) for f, v in zip(entity.fields, row)}
