"""Ticket merge: ``status`` by a state machine, every other field by LWW.

The main path, in rank order::

    reported → dispatched → accepted → travelling → on_site
        → [carried_back → in_workshop → returned] → completed → signed → closed

plus ``cancelled``. Cases decided here for an incoming status (``S`` stored, ``I``
incoming; "seen" means the author's ``base_version`` covers the stored status):

1. new ticket: any status but ``closed``; same status: nothing to decide;
2. a role moving to a status it may never set is refused (an engineer closing or
   cancelling, the office completing, a depot keeper at all);
3. engineer, forward (``I`` ranks above ``S``): taken;
4. engineer, over ``cancelled``: field work (``on_site`` or later) wins and the ticket is
   flagged for review, the cancel kept as the losing side; earlier steps lose;
5. office cancels: taken over a ticket not yet on site; over field work in progress only
   when seen (and flagged); over completed work never — it stays, flagged, the cancel
   is the losing side;
6. office dispatches (again): taken from ``reported``, or when seen and the work is not
   completed (a second engineer takes over); otherwise it loses;
7. office closes: only a ``signed`` ticket (else refused ``not_signed``);
8. anything else going backwards (a stale device) loses; the stored status stays;
9. an engineer's move made before a reassignment it had not seen (a ``_left:`` mark
   newer than its ``base_version``, left by the server) loses to any status written
   after that reassignment: the former assignee's late work never overtakes the new
   assignee's (whether it is accepted at all is the server's authorization).

Every losing status leaves an :class:`Overwrite`, except one the same person set
earlier from another of their devices (:func:`sync.rules.lww.noted`). Reaching ``completed`` records
``_completed`` in the row's clock: a signature must come after it (rule ``signature``).
Decided elsewhere (server, :mod:`server.domain.signoff`): whether a ticket being signed or
closed holds a current signature with its image, whether one being completed has its
service report, and taking a ticket out of ``signed`` when its report changes.
"""

from __future__ import annotations

from ..changeset import Mutation
from ..entities import TICKET_STATUSES
from ..wording import a
from . import lww
from .base import CONFLICT, LEFT_MARK, SYSTEM, FieldClock, Merge, MergeContext, Overwrite, StoredRow

__all__ = ["merge", "transition", "RANK", "PATH", "FIELD_WORK", "COMPLETED_MARK", "ENGINEER_SETS", "OFFICE_SETS"]

PATH = tuple(s for s in TICKET_STATUSES if s != "cancelled")
RANK = {status: rank for rank, status in enumerate(PATH)}
FIELD_WORK = RANK["on_site"]
DONE = RANK["completed"]
COMPLETED_MARK = "_completed"
_OFFICE = {"desk", "manager"}
#: the statuses each side may set (a depot keeper sets none)
ENGINEER_SETS = frozenset(PATH[RANK["accepted"]:RANK["signed"] + 1])
OFFICE_SETS = frozenset({"reported", "dispatched", "cancelled", "closed"})


def merge(stored: StoredRow | None, mutation: Mutation, version: int, ctx: MergeContext) -> Merge:
    incoming = mutation.fields.get("status")
    if "status" not in mutation.fields or mutation.op == "delete":
        return lww.merge(stored, mutation, version, ctx)
    others = Mutation(mutation.mutation_id, mutation.entity, mutation.id, mutation.op,
                      {k: v for k, v in mutation.fields.items() if k != "status"}, mutation.hlc, mutation.base_version)
    if stored is None:
        if incoming == "closed":
            return Merge.refused("invalid_transition", "a ticket cannot be created closed", "status")
        result = lww.merge(None, mutation, version, ctx)
        _mark_completed(result, None, incoming, mutation.hlc, version)
        return result
    current = stored.values.get("status")
    if incoming == current:
        return lww.merge(stored, others, version, ctx)
    refusal = _refuse(ctx.role, current, incoming)
    if refusal is not None:
        return refusal
    result = lww.merge(stored, others, version, ctx)
    decision, review = _decide(ctx.role, current, incoming, _seen(stored, mutation))
    if ctx.role == "engineer" and _overtaken(stored, mutation):
        decision, review = "keep", None
    if decision == "take":
        result.writes["status"] = incoming
        result.clock["status"] = FieldClock(mutation.hlc, version)
        _mark_completed(result, stored, incoming, mutation.hlc, version)
        if current is not None and lww.noted(stored.clock.get("status"), mutation, ctx):
            result.overwrites.append(Overwrite("status", incoming, mutation.hlc, current,
                                               stored.clock["status"].hlc, "incoming"))
    else:
        kept = stored.clock.get("status")
        result.overwrites.append(Overwrite("status", current, kept.hlc if kept else None, incoming, mutation.hlc, "stored"))
    if review:
        result.writes["needs_review"] = review
        result.clock["needs_review"] = FieldClock(mutation.hlc, version)
    if result.overwrites:
        result.outcome = CONFLICT
    return result


def transition(role: str, current: str, incoming: str, seen: bool) -> tuple[str, str | None]:
    """What this rule does with ``incoming`` over a stored ``current`` status written by
    someone else: ``("take" | "keep", review reason or None)``, or ``("refused", why)``.

    The table docs/entities.md prints is made by this function (cases 2-8 above); case 9,
    a move overtaken by a reassignment, is the one input it leaves out.
    """
    refusal = _refuse(role, current, incoming)
    if refusal is not None:
        return "refused", refusal.refusal.message
    return _decide(role, current, incoming, seen)


def _seen(stored: StoredRow, mutation: Mutation) -> bool:
    return not lww.concurrent(stored.clock.get("status"), mutation)


def _overtaken(stored: StoredRow, mutation: Mutation) -> bool:
    """Was the status written, by someone else, after a reassignment the author had not seen?"""
    status = stored.clock.get("status")
    if status is None or lww.node_of(status.hlc) == lww.node_of(mutation.hlc):
        return False
    base = mutation.base_version or 0
    return any(name.startswith(LEFT_MARK) and base < mark.version < status.version
               for name, mark in stored.clock.items())


def _refuse(role: str, current: str | None, incoming: str) -> Merge | None:
    if role == SYSTEM:
        return None
    allowed = ENGINEER_SETS if role == "engineer" else OFFICE_SETS if role in _OFFICE else set()
    if incoming not in allowed:
        return Merge.refused("invalid_transition", f"{a(role)} does not set a ticket {incoming}", "status")
    if incoming == "closed" and current != "signed":
        return Merge.refused("not_signed", "only a signed ticket is closed (its report must be complete)", "status")
    return None


def _decide(role: str, current: str | None, incoming: str, seen: bool) -> tuple[str, str | None]:
    """``("take" | "keep", review reason or None)``."""
    if role == SYSTEM or current is None:
        return "take", None
    rank = RANK.get(current, -1)
    if role == "engineer":
        if current == "cancelled":
            if RANK[incoming] >= FIELD_WORK:
                return "take", "field work arrived after the desk cancelled the ticket"
            return "keep", None
        return ("take", None) if RANK[incoming] > rank else ("keep", None)
    if incoming == "cancelled":
        if rank < FIELD_WORK:
            return "take", None
        if rank < DONE and seen:
            return "take", "cancelled while field work was in progress"
        return "keep", "the desk cancelled a ticket whose field work was done or in progress"
    if incoming == "dispatched":
        if current in ("reported", "cancelled") or (seen and rank < DONE):
            return "take", None
        return "keep", None
    return ("take", None) if RANK[incoming] > rank else ("keep", None)


def _mark_completed(result: Merge, stored: StoredRow | None, status: str, stamp: str, version: int) -> None:
    """Remember when the work was first completed, by the author's clock."""
    already = stored is not None and COMPLETED_MARK in stored.clock
    if status in RANK and RANK[status] >= DONE and not already:
        result.clock[COMPLETED_MARK] = FieldClock(stamp, version)
