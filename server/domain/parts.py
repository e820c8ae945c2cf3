"""The spare-parts rules (001 §3.6–3.7, 003 备件管理) on the push path: checks made
before a mutation is merged, effects after it.

* who held a part, and who holds a shared van (:mod:`server.domain.holders`);
* written off only against the signed report and the old part; the old part's
  disposal; parts lost or damaged (:mod:`server.domain.writeoff`);
* stocktakes against the ledger, settled once approved (:mod:`server.domain.stocktake`).

Each entity not named here costs one dictionary look-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync.changeset import Mutation, Rejection
from sync.registry import Entity
from sync.rules import Merge, StoredRow

from . import holders, stocktake, writeoff

if TYPE_CHECKING:
    from ..apply import Batch, Caller

__all__ = ["before_merge", "after_change"]


def before_merge(batch: "Batch", caller: "Caller", entity: Entity, stored: StoredRow | None,
                 mutation: Mutation) -> Rejection | None:
    check = _CHECKS.get(entity.name)
    if check is None or mutation.op == "delete":
        return None
    return check(batch, caller, stored, mutation)


def _movement(batch: "Batch", caller: "Caller", stored: StoredRow | None, mutation: Mutation) -> Rejection | None:
    if stored is not None:
        return None  # a ledger entry again: counted once by its rule
    return holders.check_movement(batch, caller, mutation) or writeoff.check_movement(caller, mutation)


_CHECKS = {
    "stock_movement": _movement,
    "old_part_return": writeoff.check_return,
    "stock_location": holders.check_crew,
    "stock_count": stocktake.check_count,
}


def after_change(batch: "Batch", entity: Entity, row_id: str, merge: Merge, mutation: Mutation) -> None:
    if merge.deleted:
        return
    if entity.name == "stock_movement":
        state = batch.states["stock_movement"][row_id]
        if state.exists:
            return
        if state.row.values.get("kind") == "consume":
            writeoff.expect_old_part(batch, row_id, mutation)
        stocktake.after_movement(batch, row_id)
    elif entity.name == "old_part_return":
        writeoff.claim_pending(batch, row_id)
    elif entity.name == "stock_count":
        stocktake.after_count(batch, row_id, merge.writes)
