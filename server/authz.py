"""Who may write which rows: the row-level half of push authorization.

Field-level rights (which role owns which field) are declared in the registry and
checked by :func:`sync.changeset.check_values`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync.changeset import Mutation, Rejection
from sync.registry import Entity
from sync.rules import StoredRow

if TYPE_CHECKING:
    from .push import Caller

__all__ = ["check_row", "may_read"]


def check_row(caller: "Caller", entity: Entity, stored: StoredRow | None, mutation: Mutation) -> Rejection | None:
    if mutation.op == "delete" and caller.role not in entity.deleters:
        return Rejection("not_allowed", f"a {caller.role} may not delete a {entity.name}")
    if stored is None and mutation.op != "delete" and caller.role not in entity.creators:
        return Rejection("not_allowed", f"a {caller.role} may not create a {entity.name}")
    return None


def may_read(caller: "Caller", entity: Entity, stored: StoredRow) -> bool:
    return True
