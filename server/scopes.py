"""Sync scopes: which devices' pulls a change belongs to.

Each log entry carries scope keys; a pull reads only the caller's keys. The registry
declares each entity's scope (``sync.registry``: ``Catalog``, ``Owner``, ``Via``,
``ReferencedBy``); this module turns a row into its keys:

* ``engineer:<user id>`` — an engineer's tickets and all they need of them;
* ``depot:<depot id>`` — a depot's stock, requisitions and returns;
* ``catalog`` — reference data every device gets.

Desk and manager read the whole log (no keys). When a row's keys change (a ticket
reassigned), :func:`follow` re-sends the rows that hang on it to the keys it gained and
evicts them from the keys it lost. The rows a scope is read from come from a
:class:`RowSource`: the database (:class:`StoredRows`), or a push in progress, whose
rows are not written yet (authorization, :mod:`server.authz`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

import sqlalchemy as sa

from sync import hlc
from sync.registry import Catalog, Entity, Owner, ReferencedBy, Registry, Via
from sync.rules import LEFT_MARK, FieldClock, StoredRow

from . import driver
from .changelog import LogEntry
from .rows import load, public_data

__all__ = [
    "reader_keys", "person_key", "entry_keys", "keys_of", "part_keys", "follow", "scope_moved", "departures",
    "owners", "left_mark", "RowSource", "StoredRows", "EVERYTHING", "CATALOG", "OFFICE_ROLES",
]

EVERYTHING = None
CATALOG = "catalog"
OFFICE_ROLES = frozenset({"desk", "manager"})
_MAX_DEPTH = 4


def person_key(user_id: str, role: str, depot_id: str | None) -> str | None:
    """The scope key a person's devices read (office: none, they read everything)."""
    if role == "engineer":
        return f"engineer:{user_id}"
    if role == "depot":
        return f"depot:{depot_id or user_id}"
    return None


def reader_keys(user: dict) -> list[str] | None:
    if user["role"] in OFFICE_ROLES:
        return EVERYTHING
    return [person_key(user["id"], user["role"], user.get("depot_id")), CATALOG]


class RowSource(Protocol):
    """Where the rows a row's scope is read from are found."""

    def row(self, entity: str, row_id: str) -> StoredRow | None:
        """A live row, or ``None``."""

    def referencing(self, entity: str, field: str, row_id: str) -> list[tuple[str, dict]]:
        """``(id, values)`` of the live rows of ``entity`` whose ``field`` is ``row_id``;
        ``values`` holds at least the fields ``entity``'s scope is read from."""


class StoredRows:
    """Rows as the database holds them, in the caller's transaction; each read once.

    A push's log entries read the same customers, tickets and locations over and over:
    :meth:`warm` fetches what a set of rows' scopes will read in one ``IN`` query per
    entity and field, and every later read is served from memory.
    """

    def __init__(self, conn: sa.Connection, registry: Registry):
        self.conn = conn
        self.registry = registry
        self._rows: dict[tuple[str, str], StoredRow | None] = {}
        self._refs: dict[tuple[str, str, str], list[tuple[str, dict]]] = {}

    def stored(self, entity: str, row_id: str) -> StoredRow | None:
        """The row, tombstone included, or ``None``."""
        if (entity, row_id) not in self._rows:
            self.fetch_rows(entity, [row_id])
        return self._rows[(entity, row_id)]

    def row(self, entity: str, row_id: str) -> StoredRow | None:
        found = self.stored(entity, row_id)
        return None if found is None or found.deleted else found

    def referencing(self, entity: str, field: str, row_id: str) -> list[tuple[str, dict]]:
        if (entity, field, row_id) not in self._refs:
            self.fetch_referencing(entity, field, [row_id])
        return self._refs[(entity, field, row_id)]

    def know(self, entity: str, row_id: str, row: StoredRow | None) -> None:
        """A row as the transaction holds it, known already (a push's own rows, once written)."""
        self._rows[(entity, row_id)] = row

    def fetch_rows(self, entity: str, ids) -> None:
        missing = [i for i in dict.fromkeys(ids) if i and (entity, i) not in self._rows]
        if missing:
            found = load(self.conn, self.registry.get(entity), missing)
            self._rows.update({(entity, i): found.get(i) for i in missing})

    def fetch_referencing(self, entity: str, field: str, ids) -> None:
        missing = [i for i in dict.fromkeys(ids) if i and (entity, field, i) not in self._refs]
        if not missing:
            return
        names = _referenced_names(self.registry, entity, field)
        refs = self._refs
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            for i in chunk:
                refs[(entity, field, i)] = []
            query = _referencing_query(self.conn, entity, names, len(chunk))
            for r in driver.fetch(self.conn, query, [*chunk, False]):
                values = dict(zip(names, r[1:]))
                refs[(entity, field, values[field])].append((r[0], values))

    def warm(self, entity: str, rows: list[tuple[str, dict]], moved: list[str] = ()) -> None:
        """Fetch in bulk what the scopes of these rows, and of the rows they bring, read;
        ``moved`` rows changed scope, so their children will be read too."""
        spec = self.registry.get(entity)
        ids = [row_id for row_id, _ in rows]
        for part in spec.scope:
            if isinstance(part, Via):
                self.fetch_rows(part.entity, [data.get(part.field) for _, data in rows])
            elif isinstance(part, ReferencedBy):
                self.fetch_referencing(part.entity, part.field, ids)
        for other, field, by in _hangers_on(self.registry, entity):
            if by == "child":
                self.fetch_referencing(other, field, moved)
                continue
            targets = [data.get(field) for _, data in rows if data.get(field)]
            self.fetch_rows(other, targets)
            for part in self.registry.get(other).scope:
                if isinstance(part, ReferencedBy):
                    self.fetch_referencing(part.entity, part.field, targets)


@lru_cache(maxsize=None)
def _referenced_names(registry: Registry, entity: str, field: str) -> tuple[str, ...]:
    """What a scope needs of the rows of ``entity`` naming a row in ``field``: that field,
    and the fields their own scope is read from."""
    return tuple(dict.fromkeys([field, *(p.field for p in registry.get(entity).scope if isinstance(p, (Owner, Via)))]))


def _referencing_query(conn: sa.Connection, entity: str, names: tuple[str, ...], count: int) -> str:
    """The live rows of ``entity`` whose ``names[0]`` is one of ``count`` ids: their id and ``names``."""
    q = driver.quote
    return (f"SELECT id, {', '.join(q(conn, n) for n in names)} FROM {q(conn, entity)} "
            f"WHERE {q(conn, names[0])} IN ({driver.marks(count)}) AND deleted = ?")


def entry_keys(conn: sa.Connection, registry: Registry, entity: str, row_id: str, data: dict, depth: int = 0) -> list[str]:
    """The scope keys of a row as it now stands in the database."""
    return keys_of(StoredRows(conn, registry), registry, entity, row_id, data, depth)


def keys_of(rows: RowSource, registry: Registry, entity: str, row_id: str, data: dict, depth: int = 0) -> list[str]:
    """The scope keys of a row whose field values are ``data``."""
    keys: list[str] = []
    for part in registry.get(entity).scope:
        keys += part_keys(rows, registry, part, row_id, data, depth)
    return list(dict.fromkeys(keys))


def part_keys(rows: RowSource, registry: Registry, part, row_id: str, data: dict, depth: int = 0) -> list[str]:
    """The keys one part of an entity's scope gives a row."""
    if isinstance(part, Catalog):
        return [CATALOG]
    if isinstance(part, Owner):
        return [f"{part.prefix}:{value}" if part.prefix else value for value in owners(data.get(part.field))]
    if depth >= _MAX_DEPTH:
        return []
    if isinstance(part, Via):
        parent_id = data.get(part.field)
        parent = rows.row(part.entity, parent_id) if parent_id else None
        if parent is None:
            return []
        return [k for k in keys_of(rows, registry, part.entity, parent_id, parent.values, depth + 1) if k != CATALOG]
    keys: list[str] = []
    for other_id, other in rows.referencing(part.entity, part.field, row_id):
        keys += [k for k in keys_of(rows, registry, part.entity, other_id, other, depth + 1) if k != CATALOG]
    return keys


def owners(value) -> list[str]:
    """The ids an owner field names: its value, or each id of a list (a van's crew)."""
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v]
    return [value] if value else []


def left_mark(key: str) -> str:
    """The row-clock entry recording when a row left scope ``key``."""
    return LEFT_MARK + key


def made_before_leaving(stamp: str, left: FieldClock | None) -> bool:
    """Was a write stamped ``stamp`` (its author's clock, corrected) made while the row was
    still its author's — before ``left``, the server's time when the move reached it?

    Both are read to the millisecond, and a stamp in the very millisecond the move
    arrived counts as before it: that far the two clocks cannot order them, and field
    work is kept rather than lost (a phone that had pulled the move would no longer hold
    the row to write to)."""
    return left is not None and hlc.wall_of(stamp) <= hlc.wall_of(left.hlc)


def departures(entity: Entity, values: dict, writes: dict, stamp: str, version: int) -> dict[str, FieldClock]:
    """Clock marks for the owners a write takes a row from: ``_left:<key>`` → when.

    A ticket reassigned while its engineer worked offline keeps, in its clock, that it
    left ``engineer:<id>`` at this version and at ``stamp`` (the server's time when the
    move arrived): authorization reads it to accept the work the engineer did before
    then, when their device could not know (:mod:`server.authz`).
    """
    marks = {}
    for part in entity.scope:
        if isinstance(part, Owner) and part.prefix and part.field in writes:
            for gone in set(owners(values.get(part.field))) - set(owners(writes[part.field])):
                marks[left_mark(f"{part.prefix}:{gone}")] = FieldClock(stamp, version)
    return marks


def scope_moved(registry: Registry, entity: str, before: dict | None, after: dict) -> bool:
    """Did a field the row's scope is read from change (an assignee, a parent), or one
    naming a row it brings with it (a ticket's customer)?"""
    if before is None:
        return False
    return any(before.get(f) != after.get(f) for f in _scope_fields(registry, entity))


@lru_cache(maxsize=None)
def _scope_fields(registry: Registry, entity: str) -> tuple[str, ...]:
    own = [p.field for p in registry.get(entity).scope if isinstance(p, (Owner, Via))]
    return tuple(own + [field for _, field, by in _hangers_on(registry, entity) if by == "target"])


@lru_cache(maxsize=None)
def _hangers_on(registry: Registry, entity: str) -> tuple[tuple[str, str, str], ...]:
    """Rows whose scope follows this entity's: ``(entity, field to match, by)``.

    ``by`` is ``"child"`` (their ``field`` names this row) or ``"target"`` (this row's
    ``field`` names them, and they are in scope because it does).
    """
    found = []
    for other in registry:
        for part in other.scope:
            if isinstance(part, Via) and part.entity == entity:
                found.append((other.name, part.field, "child"))
            if isinstance(part, ReferencedBy) and part.entity == entity:
                found.append((other.name, part.field, "target"))
    return tuple(found)


def follow(rows: StoredRows, registry: Registry, entity: str, row_id: str, before: dict | None,
           after: dict, logged: frozenset = frozenset()) -> list[LogEntry]:
    """Log entries moving the rows that hang on a row whose scope keys changed.

    The row itself is logged under its new keys by the caller; here it is evicted from
    the keys it lost, and each dependent row is sent to the keys it gained and evicted
    from the ones it no longer has by any path. A new row (``before`` None) brings the
    rows it refers to (a new ticket for a known customer brings the customer), and so
    does a row that refers to another one now (a ticket's customer corrected). A row
    brought back from a tombstone (``before`` empty: a deleted row is in no scope) brings
    those and the rows that hang on it, which its delete had evicted: a deleted ticket
    that an engineer's offline work revives returns to its assignee with its parts, old
    parts and signatures. Rows in ``logged`` are already in this append under the keys
    they have; they still get their evictions.
    """
    if before is not None and not scope_moved(registry, entity, before, after):
        return []
    hangers = [h for h in _hangers_on(registry, entity) if before is not None or h[2] == "target"]
    # with nothing hanging on it, only a row that changed scope has keys to be evicted from:
    # a new row had none, and a deleted row's delete goes to every key it had
    if not hangers and (before is None or not after):
        return []
    old = set(keys_of(rows, registry, entity, row_id, before)) - {CATALOG} if before is not None else set()
    new = set(keys_of(rows, registry, entity, row_id, after)) - {CATALOG}
    entries = []
    if old - new:
        entries.append(LogEntry(entity, row_id, "evict", 0, None, scope_keys=sorted(old - new)))
    for other, field, by in hangers:
        if by == "child" and old == new:
            continue
        spec = registry.get(other)
        for other_id, was, now in _carried(rows, other, field, by, row_id, before or {}, after, old, new):
            if was == now:
                continue
            stored = rows.stored(other, other_id)
            if stored is None:
                continue
            data = public_data(spec, stored)
            # deleted in this append: in no scope now, but the keys that had it must hear
            now_keys = set() if stored.deleted else set(keys_of(rows, registry, other, other_id, data)) - {CATALOG}
            gained, lost = (now - was) & now_keys, (was - now) - now_keys
            # a row logged in this append went to the keys it has; the ones it lost still need telling
            if gained and (other, other_id) not in logged:
                entries.append(LogEntry(other, other_id, "upsert", stored.version, data, scope_keys=sorted(gained)))
            if lost:
                entries.append(LogEntry(other, other_id, "evict", 0, None, scope_keys=sorted(lost)))
    return entries


def _carried(rows: StoredRows, other: str, field: str, by: str, row_id: str, before: dict, after: dict,
             old: set, new: set) -> list[tuple[str, set, set]]:
    """The related rows, each with the keys this row carried it to before and carries it to now."""
    if by == "child":
        return [(other_id, old, new) for other_id, _ in rows.referencing(other, field, row_id)]
    was_id, now_id = before.get(field), after.get(field)
    return [(target, old if target == was_id else set(), new if target == now_id else set())
            for target in dict.fromkeys((was_id, now_id)) if target]
