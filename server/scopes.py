"""Sync scopes: which devices' pulls a change belongs to.

Each log entry carries scope keys; a pull reads only the caller's keys. Keys:

* ``engineer:<user id>`` — an engineer's tickets and what they need of them;
* ``catalog`` — reference data every device gets.

Desk and manager read the whole log (no keys).
"""

from __future__ import annotations

import sqlalchemy as sa

from sync.registry import Registry

from .changelog import LogEntry
from .rows import load, public_data
from .tables import entity_table

__all__ = ["reader_keys", "entry_keys", "follow_ticket", "EVERYTHING"]

EVERYTHING = None
_OFFICE_ROLES = {"desk", "manager"}
#: Rows a ticket pulls into its engineer's scope: (entity, field of the ticket naming it).
TICKET_DEPENDENTS = (("customer", "customer_id"), ("equipment", "equipment_id"))


def reader_keys(user: dict) -> list[str] | None:
    if user["role"] in _OFFICE_ROLES:
        return EVERYTHING
    if user["role"] == "engineer":
        return [f"engineer:{user['id']}", "catalog"]
    return [f"depot:{user.get('depot_id') or user['id']}", "catalog"]


def _engineers_of(conn: sa.Connection, field: str, row_id: str) -> list[str]:
    ticket = entity_table("ticket")
    rows = conn.execute(
        sa.select(ticket.c.assignee_id).distinct().where(
            getattr(ticket.c, field) == row_id, ticket.c.assignee_id.is_not(None), ticket.c.deleted.is_(False)
        )
    )
    return [f"engineer:{r[0]}" for r in rows]


def entry_keys(conn: sa.Connection, entity: str, row_id: str, data: dict) -> list[str]:
    """The scope keys of a row as it now stands."""
    if entity == "ticket":
        return [f"engineer:{data['assignee_id']}"] if data.get("assignee_id") else []
    for dependent, field in TICKET_DEPENDENTS:
        if dependent == entity:
            return _engineers_of(conn, field, row_id)
    return ["catalog"]


def follow_ticket(conn: sa.Connection, registry: Registry, row_id: str, before: dict | None, after: dict) -> list[LogEntry]:
    """Entries that move a ticket's scope when its assignee changes.

    The new engineer gets the ticket's customer and equipment as they stand (the ticket
    itself is logged under its new key by the push); the old one gets an ``evict``.
    """
    old = (before or {}).get("assignee_id")
    new = after.get("assignee_id")
    if old == new:
        return []
    entries: list[LogEntry] = []
    if old:
        entries.append(LogEntry("ticket", row_id, "evict", 0, None, scope_keys=[f"engineer:{old}"]))
    if new:
        for dependent, field in TICKET_DEPENDENTS:
            ref = after.get(field)
            if not ref:
                continue
            spec = registry.get(dependent)
            row = load(conn, spec, [ref]).get(ref)
            if row is None or row.deleted:
                continue
            entries.append(
                LogEntry(dependent, ref, "upsert", row.version, public_data(spec, row), scope_keys=[f"engineer:{new}"])
            )
    return entries
