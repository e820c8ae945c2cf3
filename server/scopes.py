"""Sync scopes: which devices' pulls a change belongs to.

Each log entry carries scope keys; a pull reads only the caller's keys. The registry
declares each entity's scope (``sync.registry``: ``Catalog``, ``Owner``, ``Via``,
``ReferencedBy``); this module turns a row into its keys:

* ``engineer:<user id>`` — an engineer's tickets and all they need of them;
* ``depot:<depot id>`` — a depot's stock, requisitions and returns;
* ``catalog`` — reference data every device gets.

Desk and manager read the whole log (no keys). When a row's keys change (a ticket
reassigned), :func:`follow` re-sends the rows that hang on it to the keys it gained and
evicts them from the keys it lost.
"""

from __future__ import annotations

import sqlalchemy as sa

from sync.registry import Catalog, Owner, ReferencedBy, Registry, Via

from .changelog import LogEntry
from .rows import load, public_data
from .tables import entity_table

__all__ = ["reader_keys", "person_key", "entry_keys", "follow", "scope_moved", "EVERYTHING", "CATALOG"]

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


def _row_data(conn: sa.Connection, registry: Registry, entity: str, row_id: str) -> dict | None:
    row = load(conn, registry.get(entity), [row_id]).get(row_id)
    return None if row is None or row.deleted else public_data(registry.get(entity), row)


def _referencing(conn: sa.Connection, entity: str, field: str, row_id: str) -> list[tuple[str, dict]]:
    table = entity_table(entity)
    found = conn.execute(
        sa.select(table).where(getattr(table.c, field) == row_id, table.c.deleted.is_(False))
    ).mappings()
    return [(r["id"], dict(r)) for r in found]


def entry_keys(conn: sa.Connection, registry: Registry, entity: str, row_id: str, data: dict, depth: int = 0) -> list[str]:
    """The scope keys of a row as it now stands."""
    keys: list[str] = []
    for part in registry.get(entity).scope:
        if isinstance(part, Catalog):
            keys.append(CATALOG)
        elif isinstance(part, Owner):
            value = data.get(part.field)
            if value:
                keys.append(f"{part.prefix}:{value}" if part.prefix else value)
        elif depth >= _MAX_DEPTH:
            continue
        elif isinstance(part, Via):
            parent_id = data.get(part.field)
            parent = _row_data(conn, registry, part.entity, parent_id) if parent_id else None
            if parent is not None:
                keys += [k for k in entry_keys(conn, registry, part.entity, parent_id, parent, depth + 1) if k != CATALOG]
        elif isinstance(part, ReferencedBy):
            for other_id, other in _referencing(conn, part.entity, part.field, row_id):
                keys += [k for k in entry_keys(conn, registry, part.entity, other_id, other, depth + 1) if k != CATALOG]
    return list(dict.fromkeys(keys))


def scope_moved(registry: Registry, entity: str, before: dict | None, after: dict) -> bool:
    """Did a field the row's scope is read from change (an assignee, a parent)?"""
    if before is None:
        return False
    fields = [p.field for p in registry.get(entity).scope if isinstance(p, (Owner, Via))]
    return any(before.get(f) != after.get(f) for f in fields)


def _hangers_on(registry: Registry, entity: str) -> list[tuple[str, str, str]]:
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
    return found


def follow(conn: sa.Connection, registry: Registry, entity: str, row_id: str, before: dict | None,
           after: dict, logged: frozenset = frozenset()) -> list[LogEntry]:
    """Log entries moving the rows that hang on a row whose scope keys changed.

    The row itself is logged under its new keys by the caller; here it is evicted from
    the keys it lost, and each dependent row is sent to the keys it gained and evicted
    from the ones it no longer has by any path. A new row brings the rows it refers to
    (a new ticket for a known customer brings the customer). Rows in ``logged`` are
    already in this append with their full keys.
    """
    if before is not None and not scope_moved(registry, entity, before, after):
        return []
    hangers = [h for h in _hangers_on(registry, entity) if before is not None or h[2] == "target"]
    if not hangers:
        return []
    old = set(entry_keys(conn, registry, entity, row_id, before)) - {CATALOG} if before is not None else set()
    new = set(entry_keys(conn, registry, entity, row_id, after)) - {CATALOG}
    if old == new:
        return []
    entries = []
    if old - new:
        entries.append(LogEntry(entity, row_id, "evict", 0, None, scope_keys=sorted(old - new)))
    for other, field, by in hangers:
        if by == "child":
            related = [other_id for other_id, _ in _referencing(conn, other, field, row_id)]
        else:
            related = [i for i in {after.get(field), (before or {}).get(field)} if i]
        spec = registry.get(other)
        for other_id in related:
            if (other, other_id) in logged:
                continue
            stored = load(conn, spec, [other_id]).get(other_id)
            if stored is None or stored.deleted:
                continue
            data = public_data(spec, stored)
            now_keys = set(entry_keys(conn, registry, other, other_id, data)) - {CATALOG}
            gained, lost = (new - old) & now_keys, (old - new) - now_keys
            if gained:
                entries.append(LogEntry(other, other_id, "upsert", stored.version, data, scope_keys=sorted(gained)))
            if lost:
                entries.append(LogEntry(other, other_id, "evict", 0, None, scope_keys=sorted(lost)))
    return entries
