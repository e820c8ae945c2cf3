"""Row-level SQL on the device replica, used by the engine in :mod:`sync.client`.

Everything here runs inside a transaction the caller holds, with the capture triggers
quiet (``_sync_control.applying = 1``) unless it says otherwise.
"""

from __future__ import annotations

import sqlite3
from operator import itemgetter
from typing import Any, Callable, Iterable

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
        """Write a whole row and its version in one statement, unless the row holds a newer one.

        The guard in ``DO UPDATE … WHERE`` lets a page of rows the replica may already
        hold go in without looking their versions up first (NULL: never pulled).
        """
        sql = self._upsert_sql.get(entity.name)
        if sql is None:
            cols = ["id", *entity.field_names, "_version"]
            quoted = ", ".join(f'"{c}"' for c in cols)
            marks = ", ".join("?" for _ in cols)
            sets = ", ".join(f'"{c}" = excluded."{c}"' for c in [*entity.field_names, "_version"])
            sql = (f'INSERT INTO "{entity.name}" ({quoted}) VALUES ({marks}) ON CONFLICT (id) DO UPDATE SET {sets} '
                   f'WHERE "{entity.name}"._version IS NULL OR excluded._version >= "{entity.name}"._version')
            self._upsert_sql[entity.name] = sql
        return sql

    def parameters(self, entity: Entity, changes: list[dict]) -> list:
        """The upsert's parameters for pulled changes (``id``, ``data``, ``version``; or, from
        a page of format 2, ``row`` and ``columns``: :func:`sync.pull.changes_of`).

        This runs once per pulled row, so it does as little as it can: one C-level
        ``itemgetter`` call per row when every field is present (the server sends whole
        rows), ``dict.get`` when some are not (a field the role may not read), and a
        conversion only for json fields (a boolean binds as the integer it is).
        """
        pick, names, json_columns = self._layout(entity)
        if changes and "row" in changes[0]:
            values = _from_rows(changes, names)
        else:
            try:
                values = [(c["id"], *pick(c["data"]), c["version"]) for c in changes]
            except (KeyError, TypeError):
                values = [(c["id"], *map((c.get("data") or {}).get, names), c["version"]) for c in changes]
        if not json_columns:
            return values
        converted = []
        for row in values:
            row = list(row)
            for index in json_columns:
                row[index] = to_column("json", row[index])
            converted.append(row)
        return converted

    def _layout(self, entity: Entity) -> tuple[Callable[[dict], tuple], tuple[str, ...], tuple[int, ...]]:
        layout = self._layouts.get(entity.name)
        if layout is None:
            names = entity.field_names
            pick = itemgetter(*names) if len(names) > 1 else (lambda data: (data[names[0]],))
            json_columns = tuple(i for i, f in enumerate(entity.fields, start=1) if f.type == "json")
            layout = self._layouts[entity.name] = (pick, names, json_columns)
        return layout

    def put_rows(self, entity_name: str, changes: list[dict]) -> None:
        """Replace whole rows with the server's state (pulled changes: ``id``, ``data``,
        ``version``); a row that holds a newer version stays as it is."""
        entity = self._entity(entity_name)
        self.db.executemany(self.upsert_sql(entity), self.parameters(entity, changes))

    def delete_rows(self, entity_name: str, ids: Iterable[str]) -> None:
        """Delete rows; their versions stay in ``_row_version`` (the delete trigger)."""
        self._entity(entity_name)
        self.db.executemany(f'DELETE FROM "{entity_name}" WHERE id = ?', [(i,) for i in ids])

    def keep_versions(self, entity_name: str, items: Iterable[tuple[str, int]]) -> None:
        """Remember the versions of rows the replica no longer holds (pulled deletes)."""
        self.db.executemany(
            "INSERT INTO _row_version (entity, id, version) VALUES (?, ?, ?) "
            "ON CONFLICT (entity, id) DO UPDATE SET version = excluded.version",
            [(entity_name, row_id, version) for row_id, version in items],
        )

    def forget_versions(self, items: Iterable[tuple[str, str]]) -> None:
        """Forget deleted rows' versions: they left the scope (call after deleting them)."""
        self.db.executemany("DELETE FROM _row_version WHERE entity = ? AND id = ?", list(items))

    def keeps_deleted(self, entity_name: str) -> bool:
        """Whether the replica remembers versions of deleted rows of this entity."""
        return self.db.execute("SELECT EXISTS (SELECT 1 FROM _row_version WHERE entity = ?)",
                               (entity_name,)).fetchone()[0] == 1

    def versions(self, entity_name: str, ids: list[str]) -> dict[str, int]:
        """The version held for each row: the row's own, else the one kept when it was deleted."""
        self._entity(entity_name)
        found: dict[str, int] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            found.update(self.db.execute(
                f"SELECT id, version FROM _row_version WHERE entity = ? AND id IN ({marks})", [entity_name, *chunk]
            ).fetchall())
            found.update(self.db.execute(
                f'SELECT id, _version FROM "{entity_name}" WHERE _version IS NOT NULL AND id IN ({marks})', chunk
            ).fetchall())
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


def _from_rows(changes: list[dict], names: tuple[str, ...]) -> list[tuple]:
    """Upsert parameters from format 2 rows ``[id, version, op, value, …]`` of one page.

    When the page's columns are the replica's fields in its order (the server and the
    app on the same version), a row is its parameters already, sliced; otherwise each
    field is taken from its column, and one the page has none for is null.
    """
    columns = tuple(changes[0]["columns"])
    if columns == names:
        return [(row[0], *row[3:], row[1]) for row in (c["row"] for c in changes)]
    where = {name: index for index, name in enumerate(columns, start=3)}
    spots = [where.get(name) for name in names]
    return [(row[0], *(None if i is None else row[i] for i in spots), row[1]) for row in (c["row"] for c in changes)]

