"""One synced row as the caller's pull would give it, or nothing.

A device asks for a row when it cannot know how the server holds it: a mutation
refused unread (413 on its change-set, 422 naming it) carries no ``server_row``, and
dismissing it must put the row back as the server has it (docs/protocol.md). The
answer sees what a pull sees: the office every row, a field device the rows under its
scope keys and the catalog (:mod:`server.scopes`), each without the fields its role
may not read (``Field.readers``). A row out of scope is answered like a row never
stored, so an id alone tells nothing.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from sync.registry import Registry

from . import rows, scopes
from .authz import visible_data

__all__ = ["visible_row", "ID_PATTERN"]

#: Every id a push accepts (sync.changeset): an id outside it names no stored row.
ID_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z_.:-]{0,63}$"
_ID = re.compile(ID_PATTERN)


def visible_row(conn: sa.Connection, registry: Registry, user: dict, entity_name: str, row_id: str) -> dict | None:
    """``{entity, id, version, data}`` of a live row the user may read, else ``None``
    (an unknown entity and an id no row can have included)."""
    entity = registry.get(entity_name)
    if entity is None or not _ID.fullmatch(row_id):
        return None
    stored = rows.load(conn, entity, [row_id]).get(row_id)
    if stored is None or stored.deleted:
        return None
    keys = scopes.reader_keys(user)
    if keys is not scopes.EVERYTHING:
        held = scopes.entry_keys(conn, registry, entity_name, row_id, stored.values)
        if not set(keys).intersection(held):
            return None
    return {"entity": entity_name, "id": row_id, "version": stored.version,
            "data": visible_data(entity, rows.public_data(entity, stored), user["role"])}
