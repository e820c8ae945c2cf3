"""Per-field last-writer-wins by hybrid logical clock.

Cases decided here, for one incoming mutation against the stored row:

1. no stored row: an insert or update creates it with every field it carries; a delete
   of a row never seen is a no-op;
2. update (or a replayed insert) of a live row: each field is taken when its HLC is
   later than the stored field's, or when its author had seen the stored value (another
   device's write that its ``base_version`` covers: an edit made after seeing a value
   replaces it, whatever the clocks say); a field written concurrently (stored after the
   author's ``base_version``) with a different value leaves an :class:`Overwrite` either
   way, so the losing value is kept — except a value the same person wrote earlier on
   another of their devices, which the later write simply replaces (see :func:`noted`);
3. update of a tombstone: the update wins and revives the row; the delete is recorded as
   overwritten (field work is never discarded by a delete);
4. delete of a live row: a tombstone, unless a field was written after the author's
   ``base_version`` (an update the deleter never saw): then the row stays and the delete
   is recorded as the losing side;
5. delete of a tombstone: a no-op.

Decided before this is called: the mutation's shape and values (``sync.changeset``) and
the author's right to touch the row and fields (the server's authorization).
"""

from __future__ import annotations

from ..changeset import Mutation
from .base import APPLIED, CONFLICT, MERGED, FieldClock, Merge, MergeContext, Overwrite, StoredRow

__all__ = ["merge", "node_of", "concurrent", "noted"]

DELETED = "_deleted"


def merge(stored: StoredRow | None, mutation: Mutation, version: int, ctx: MergeContext | None = None) -> Merge:
    """Merge ``mutation`` into ``stored``; ``version`` is the row version it would make."""
    if stored is None:
        if mutation.op == "delete":
            return Merge(APPLIED)
        clock = {name: FieldClock(mutation.hlc, version) for name in mutation.fields}
        return Merge(APPLIED, writes=dict(mutation.fields), clock=clock)
    if mutation.op == "delete":
        return _delete(stored, mutation, version)
    return _update(stored, mutation, version, ctx)


def node_of(stamp: str) -> str:
    """The node (device id) that issued an HLC timestamp."""
    return stamp.split(":", 2)[-1]


def concurrent(stored_clock: FieldClock | None, mutation: Mutation) -> bool:
    """Was the stored write unseen by the mutation's author?

    A device always sees its own writes; another's it has seen once its ``base_version``
    reaches the version that write made.
    """
    if stored_clock is None or node_of(stored_clock.hlc) == node_of(mutation.hlc):
        return False
    return mutation.base_version is None or stored_clock.version > mutation.base_version


def _seen_over(stored_clock: FieldClock, mutation: Mutation) -> bool:
    """Was the stored value another device's that the mutation's author had seen? (A
    device's own writes are ordered by its clock: a replay of an older one loses.)"""
    return node_of(stored_clock.hlc) != node_of(mutation.hlc) and not concurrent(stored_clock, mutation)


def noted(stored_clock: FieldClock | None, mutation: Mutation, ctx: MergeContext | None) -> bool:
    """Does replacing the stored write with the mutation's leave a conflict record?

    Only when the author had not seen it (:func:`concurrent`) and it is not their own
    earlier value: a person editing on a tablet what they wrote on their phone is
    changing their mind, not overruling anyone, whichever device pushes first.
    """
    if not concurrent(stored_clock, mutation):
        return False
    own = ctx is not None and mutation.hlc > stored_clock.hlc and ctx.by_author(stored_clock.hlc)
    return not own


def _update(stored: StoredRow, mutation: Mutation, version: int, ctx: MergeContext | None) -> Merge:
    result = Merge(APPLIED)
    if stored.deleted:
        result.deleted_changed = True
        result.outcome = CONFLICT
        deleted_at = stored.clock.get(DELETED)
        result.clock[DELETED] = FieldClock(mutation.hlc, version)
        result.overwrites.append(
            Overwrite(DELETED, False, mutation.hlc, True, deleted_at.hlc if deleted_at else "", "incoming")
        )
    for name, value in mutation.fields.items():
        current = stored.clock.get(name)
        old = stored.values.get(name)
        if current is None or mutation.hlc > current.hlc or _seen_over(current, mutation):
            if value != old:
                result.writes[name] = value
                result.clock[name] = FieldClock(mutation.hlc, version)
                if noted(current, mutation, ctx):
                    result.overwrites.append(Overwrite(name, value, mutation.hlc, old, current.hlc, "incoming"))
            continue
        if value != old:
            result.overwrites.append(Overwrite(name, old, current.hlc, value, mutation.hlc, "stored"))
    if result.overwrites:
        result.outcome = CONFLICT
    elif mutation.base_version is not None and mutation.base_version < stored.version:
        result.outcome = MERGED
    return result


def _delete(stored: StoredRow, mutation: Mutation, version: int) -> Merge:
    if stored.deleted:
        return Merge(APPLIED)
    unseen = [
        name
        for name, clock in stored.clock.items()
        if name != DELETED and concurrent(clock, mutation)
    ]
    if unseen:
        lost = Overwrite(DELETED, False, max(stored.clock[n].hlc for n in unseen), True, mutation.hlc, "stored")
        return Merge(CONFLICT, overwrites=[lost])
    return Merge(APPLIED, deleted=True, deleted_changed=True, clock={DELETED: FieldClock(mutation.hlc, version)})
