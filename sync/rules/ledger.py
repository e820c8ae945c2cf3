"""Append-only ledger: stock movements and work-log entries.

Cases decided here:

1. a new row: taken whole (it never conflicts: two engineers consuming the last unit
   both count, and the stock goes negative for reconciliation to show);
2. the same row again (a retried or replayed insert): nothing changes, so it counts once;
3. an update or a delete: refused — a ledger is corrected by a compensating entry.

Decided elsewhere: the values (registry) and business checks such as an approved
requisition behind an issue (server).
"""

from __future__ import annotations

from ..changeset import Mutation
from .base import APPLIED, FieldClock, Merge, MergeContext, StoredRow

__all__ = ["merge"]


def merge(stored: StoredRow | None, mutation: Mutation, version: int, ctx: MergeContext | None = None) -> Merge:
    if mutation.op != "insert":
        return Merge.refused("append_only", f"{mutation.entity} entries are never changed: add a correcting entry")
    if stored is not None:
        return Merge(APPLIED)
    return Merge(APPLIED, writes=dict(mutation.fields),
                 clock={name: FieldClock(mutation.hlc, version) for name in mutation.fields})
