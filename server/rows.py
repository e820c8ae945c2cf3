"""Synced rows as the server stores them, to and from :class:`sync.rules.StoredRow`.

A push reads and writes hundreds of rows: each entity's columns, json fields and
statements are worked out once (:func:`_layout`), not per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import orjson
import sqlalchemy as sa

from sync.registry import Entity
from sync.rules import FieldClock, StoredRow

from . import driver

__all__ = ["RowState", "load", "save", "public_data", "decode_clock", "encode_clock"]

_CHUNK = 500
#: columns every write sets after the fields, and those only an insert sets (id last)
_WRITTEN = ("version", "deleted", "clock", "updated_at")
_MADE = ("created_at", "device_time", "skew_ms", "author_device", "id")


@dataclass
class RowState:
    """A stored row plus what the push did to it."""

    row: StoredRow
    exists: bool
    dirty: bool = False
    #: for a new row: device_time, skew_ms, author_device (see server.tables)
    meta: dict | None = None


@dataclass(frozen=True)
class _Layout:
    """What reading and writing one entity's rows needs, computed once."""

    name: str
    names: tuple[str, ...]
    #: where the json and boolean fields are in ``names``
    json_at: tuple[int, ...]
    bool_at: tuple[int, ...]
    #: every field, None: a row's values laid over it are the row as devices see it
    blank: dict
    _selects: dict = field(default_factory=dict, compare=False)

    def select(self, conn: sa.Connection, count: int) -> str:
        """The query of ``count`` rows by id: the fields, then version, deleted, clock."""
        key = (conn.dialect.name, count)
        if key not in self._selects:
            columns = ", ".join(driver.quote(conn, c) for c in ("id", *self.names, "version", "deleted", "clock"))
            self._selects[key] = f"SELECT {columns} FROM {driver.quote(conn, self.name)} WHERE id IN ({driver.marks(count)})"
        return self._selects[key]


_LAYOUTS: dict[str, _Layout] = {}


def _layout(entity: Entity) -> _Layout:
    """By name, as :func:`server.tables.entity_table` (hashing an entity costs more)."""
    layout = _LAYOUTS.get(entity.name)
    if layout is None:
        kinds = [f.type for f in entity.fields]
        layout = _LAYOUTS[entity.name] = _Layout(
            name=entity.name,
            names=entity.field_names,
            json_at=tuple(k for k, kind in enumerate(kinds) if kind == "json"),
            bool_at=tuple(k for k, kind in enumerate(kinds) if kind == "boolean"),
            blank=dict.fromkeys(entity.field_names),
        )
    return layout


def decode_clock(text: str) -> dict[str, FieldClock]:
    """A row's clock column as ``{field: FieldClock}``.

    Most fields of a row share the write that made it: equal entries share one
    (immutable) :class:`FieldClock` instead of building thirty alike.
    """
    made: dict[tuple, FieldClock] = {}
    clock = {}
    for name, (stamp, version) in orjson.loads(text).items():
        found = made.get((stamp, version))
        if found is None:
            found = made[(stamp, version)] = FieldClock(stamp, version)
        clock[name] = found
    return clock


def encode_clock(clock: dict[str, FieldClock]) -> str:
    return orjson.dumps({name: [c.hlc, c.version] for name, c in clock.items()}).decode()


def load(conn: sa.Connection, entity: Entity, ids: list[str]) -> dict[str, StoredRow]:
    layout = _layout(entity)
    names, json_at, bool_at = layout.names, layout.json_at, layout.bool_at
    found: dict[str, StoredRow] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for record in driver.fetch(conn, layout.select(conn, len(chunk)), chunk):
            values = list(record[1:-3])
            for at in json_at:
                if values[at] is not None:
                    values[at] = orjson.loads(values[at])
            for at in bool_at:  # SQLite answers 0 and 1
                if values[at] is not None:
                    values[at] = bool(values[at])
            found[record[0]] = StoredRow(dict(zip(names, values)), decode_clock(record[-1]), record[-3],
                                         bool(record[-2]))
    return found


def save(conn: sa.Connection, entity: Entity, states: dict[str, RowState], when: datetime) -> None:
    """Insert or update every dirty row in two bulk statements; ``when``: the server's time."""
    layout = _layout(entity)
    names, json_at = layout.names, layout.json_at
    now = driver.stamp(conn, when)
    inserts, updates = [], []
    for row_id, state in states.items():
        if not state.dirty:
            continue
        row = state.row
        values = list(public_data(entity, row).values())
        for at in json_at:
            if values[at] is not None:
                values[at] = orjson.dumps(values[at]).decode()
        values += (row.version, row.deleted, encode_clock(row.clock), now)
        if state.exists:
            updates.append((*values, row_id))
        else:
            meta = state.meta or {}
            inserts.append((*values, now, driver.stamp(conn, meta.get("device_time")), meta.get("skew_ms"),
                            meta.get("author_device"), row_id))
            state.exists = True
    driver.insert(conn, entity.name, (*names, *_WRITTEN, *_MADE), inserts)
    driver.update(conn, entity.name, (*names, *_WRITTEN), "id", updates)


def public_data(entity: Entity, row: StoredRow) -> dict:
    """The row as devices see it: every field in the registry's order, no sync bookkeeping.

    Asked a thousand times per push: the row's values laid over the blank row in one
    step, not field by field.
    """
    blank = _layout(entity).blank
    data = {**blank, **row.values}
    if len(data) != len(blank):  # a value under no field's name: not shown
        data = {name: data[name] for name in blank}
    return data
