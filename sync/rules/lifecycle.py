"""Old-part returns: a one-way lifecycle, each step written by its own role.

``expected → collected (engineer) → received (depot) → disposed (depot)``

Cases decided here:

1. a new return: taken as sent;
2. every field but ``status``: last-writer-wins (rule ``lww``); the registry lets each
   step's fields be written only by the step's role;
3. ``status`` never goes back: the further step wins, whatever arrives first. A step
   that arrives after a later one (the depot booked the part received before the
   engineer's "collected" synced) keeps its own fields and is recorded as an
   out-of-order step (an :class:`Overwrite` with the earlier step as the losing side);
4. a role setting a step that is not its own is refused.
"""

from __future__ import annotations

from ..changeset import Mutation
from ..entities import RETURN_STEPS
from ..wording import a
from . import lww
from .base import CONFLICT, SYSTEM, FieldClock, Merge, MergeContext, Overwrite, StoredRow

__all__ = ["merge", "STEPS", "STEP_ROLES"]

STEPS = RETURN_STEPS
STEP_RANK = {step: rank for rank, step in enumerate(STEPS)}
STEP_ROLES = {
    "expected": {"engineer", "depot", "desk", "manager"},
    "collected": {"engineer"},
    "received": {"depot"},
    "disposed": {"depot"},
}


def merge(stored: StoredRow | None, mutation: Mutation, version: int, ctx: MergeContext) -> Merge:
    step = mutation.fields.get("status")
    if step is not None and ctx.role != SYSTEM and ctx.role not in STEP_ROLES.get(step, set()):
        return Merge.refused("step_not_owned", f"{a(ctx.role)} does not mark a part {step}", "status")
    if stored is None or step is None or mutation.op == "delete":
        return lww.merge(stored, mutation, version, ctx)
    others = Mutation(mutation.mutation_id, mutation.entity, mutation.id, mutation.op,
                      {k: v for k, v in mutation.fields.items() if k != "status"}, mutation.hlc, mutation.base_version)
    result = lww.merge(stored, others, version, ctx)
    current = stored.values.get("status")
    if current is None or STEP_RANK[step] > STEP_RANK.get(current, -1):
        result.writes["status"] = step
        result.clock["status"] = FieldClock(mutation.hlc, version)
    elif step != current:
        kept = stored.clock.get("status")
        result.overwrites.append(Overwrite("status", current, kept.hlc if kept else None, step, mutation.hlc, "stored"))
        result.outcome = CONFLICT
    return result
