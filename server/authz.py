"""Who may write and read which rows: the row-level half of authorization.

Field-level rights (which role owns which field) are declared in the registry and
checked by :func:`sync.changeset.check_values`. Rows: the office may touch any row; a
field device only rows in its own scope (see :mod:`server.scopes`), plus new rows it
creates — which must land in its scope too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from sync.changeset import Mutation, Rejection
from sync.registry import Entity, Registry
from sync.rules import SYSTEM, StoredRow

from . import scopes
from .rows import public_data

if TYPE_CHECKING:
    from .apply import Caller

__all__ = ["check_row", "may_read"]


def _my_key(caller: "Caller") -> str | None:
    return scopes.person_key(caller.user_id, caller.role, caller.depot_id)


def check_row(caller: "Caller", entity: Entity, stored: StoredRow | None, mutation: Mutation) -> Rejection | None:
    if caller.role == SYSTEM:
        return None
    if mutation.op == "delete" and caller.role not in entity.deleters:
        return Rejection("not_allowed", f"a {caller.role} may not delete a {entity.name}")
    if (stored is None or stored.deleted) and mutation.op != "delete" and caller.role not in entity.creators:
        return Rejection("not_allowed", f"a {caller.role} may not create a {entity.name}")
    return None


def may_read(conn: sa.Connection, registry: Registry, caller: "Caller", entity: Entity, row_id: str,
             stored: StoredRow) -> bool:
    """May the caller see this row (in a rejection's ``server_row``, say)?"""
    if caller.role in scopes.OFFICE_ROLES or caller.role == SYSTEM:
        return True
    keys = scopes.entry_keys(conn, registry, entity.name, row_id, public_data(entity, stored))
    return _my_key(caller) in keys or scopes.CATALOG in keys
