"""Customer signatures: written once, after the work, bound to the report they sign.

Cases decided here:

1. a new signature for a ticket whose work was completed earlier *by the device's own
   clock* (the ticket's ``_completed`` mark precedes the signature's HLC): taken;
2. a new signature before the work was completed, or for an unknown ticket: refused —
   the customer signs after the work, never before (001 §3.3.2);
3. the same signature again with the same values (a retry): nothing changes;
4. any different write to an existing signature, or a delete: refused — a signature is
   never altered; a changed report needs a new signature, and the old one is kept.

The server's own write (marking a signature stale) is plain LWW. Decided elsewhere:
the report hash against the ticket's current report, which marks a
signature stale (server), and the image's arrival before the ticket is ``signed``.
"""

from __future__ import annotations

from ..changeset import Mutation
from . import lww
from .base import APPLIED, SYSTEM, FieldClock, Merge, MergeContext, StoredRow
from .ticket import COMPLETED_MARK

__all__ = ["merge"]


def merge(stored: StoredRow | None, mutation: Mutation, version: int, ctx: MergeContext) -> Merge:
    if ctx.role == SYSTEM:
        return lww.merge(stored, mutation, version, ctx)  # the server marking it stale
    if mutation.op == "delete":
        return Merge.refused("signature_immutable", "a customer signature is never deleted")
    if stored is not None:
        same = all(stored.values.get(k) == v for k, v in mutation.fields.items())
        if same:
            return Merge(APPLIED)
        return Merge.refused("signature_immutable", "a customer signature is never altered: capture a new one")
    ticket_id = mutation.fields.get("ticket_id")
    ticket = ctx.lookup("ticket", ticket_id) if ticket_id else None
    if ticket is None:
        return Merge.refused("unknown_ticket", "a signature must name a ticket the server knows", "ticket_id")
    completed = ticket.clock.get(COMPLETED_MARK)
    if completed is None or completed.hlc >= mutation.hlc:
        return Merge.refused("signed_before_completion",
                             "the customer signs after the work is completed, never before", "ticket_id")
    return Merge(APPLIED, writes=dict(mutation.fields),
                 clock={name: FieldClock(mutation.hlc, version) for name in mutation.fields})
