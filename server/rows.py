"""Synced rows as the server stores them, to and from :class:`sync.rules.StoredRow`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson
import sqlalchemy as sa

from sync.registry import Entity
from sync.rules import FieldClock, StoredRow

from .tables import entity_table

__all__ = ["RowState", "load", "save", "public_data"]

_CHUNK = 500


@dataclass
class RowState:
    """A stored row plus what the push did to it."""

    row: StoredRow
    exists: bool
    dirty: bool = False
    #: for a new row: device_time, skew_ms, author_device (see server.tables)
    meta: dict | None = None


def _decode(entity: Entity, name: str, value: Any) -> Any:
    spec = entity.field(name)
    if value is None or spec is None:
        return value
    if spec.type == "json":
        return orjson.loads(value)
    return value


def _encode(entity: Entity, name: str, value: Any) -> Any:
    spec = entity.field(name)
    if value is not None and spec is not None and spec.type == "json":
        return orjson.dumps(value).decode()
    return value


def load(conn: sa.Connection, entity: Entity, ids: list[str]) -> dict[str, StoredRow]:
    table = entity_table(entity.name)
    found: dict[str, StoredRow] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for record in conn.execute(sa.select(table).where(table.c.id.in_(chunk))).mappings():
            values = {name: _decode(entity, name, record[name]) for name in entity.field_names}
            clock = {k: FieldClock.from_list(v) for k, v in orjson.loads(record["clock"]).items()}
            found[record["id"]] = StoredRow(values, clock, record["version"], bool(record["deleted"]))
    return found


def save(conn: sa.Connection, entity: Entity, states: dict[str, RowState]) -> None:
    """Insert or update every dirty row in two bulk statements."""
    table = entity_table(entity.name)
    now = datetime.now(timezone.utc)
    inserts, updates = [], []
    for row_id, state in states.items():
        if not state.dirty:
            continue
        record = {name: _encode(entity, name, state.row.values.get(name)) for name in entity.field_names}
        record.update(
            id=row_id,
            version=state.row.version,
            deleted=state.row.deleted,
            clock=orjson.dumps({k: c.to_list() for k, c in state.row.clock.items()}).decode(),
            updated_at=now,
        )
        if state.exists:
            updates.append(record)
        else:
            record["created_at"] = now
            record.update(state.meta or {})
            inserts.append(record)
            state.exists = True
    if inserts:
        conn.execute(table.insert(), inserts)
    if updates:
        params = [{("b_" + k if k == "id" else k): v for k, v in r.items()} for r in updates]
        stmt = table.update().where(table.c.id == sa.bindparam("b_id"))
        conn.execute(stmt, params)


def public_data(entity: Entity, row: StoredRow) -> dict:
    """The row as devices see it: every field, no sync bookkeeping."""
    return {name: row.values.get(name) for name in entity.field_names}


