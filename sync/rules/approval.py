"""Approval-bearing records: a status machine whose approvals cover exactly what was approved.

Requisitions, expense claims (travel advances among them) and charges (a part sale above
the threshold is paid only once approved) carry a ``status``; the fields a decision is
given on are the entity's :class:`~sync.registry.Approval` ``covers``. No status yet
reads as ``submitted``::

    submitted ──approve──▶ approved ──pay──▶ paid     (pay: payable entities only)
    submitted ──refuse───▶ refused  ◀──refuse── approved
    approved, refused ──a covered value changes, or an author withdraws──▶ submitted

Who moves it:

==========  ==========================  ==========================================
to          from                        by
==========  ==========================  ==========================================
submitted   (new)                       whoever may create the record
submitted   approved, refused           the claimant or an author (``authors``)
approved    submitted, refused          an approver who is neither
refused     submitted, approved         an approver who is neither
paid        approved                    an approver who is neither
==========  ==========================  ==========================================

Approvers are the roles the deployment configures (``ctx.approvers``); authors are the
claimant and everyone who wrote a covered value, kept by this rule in ``authors``.

Cases decided here, for one incoming mutation:

1. a new record starts submitted: created with any other status, refused
   ``invalid_transition`` (a decision needs someone else to have seen it); its author
   is recorded;
2. a decision (approved, refused, paid) by a role that is not an approver: refused
   ``not_an_approver``; the server's own writes never decide, a person does;
3. a decision by the claimant or an author, or one that itself writes a covered value:
   refused ``own_approval``;
4. a decision whose author had not seen the record as it stands — its status or a
   covered value written by another device after the author's ``base_version`` —
   refused ``approval_outdated``: a decision covers what its author saw, whichever order
   the writes arrive in;
5. a move the table above does not have: refused ``invalid_transition``; on a paid
   record, a move, a covered value or a delete: refused ``already_paid`` (the money
   left; a difference is a new claim);
6. a covered value that changes on an approved or refused record, whatever its stamp
   and whenever it arrives: taken, and the decision is void — ``status`` back to
   submitted, the decider cleared, the history keeping the decision and what changed —
   and a voided approval leaves a conflict note whose losing side is the approval, so
   its approver is told;
7. an author withdrawing a decision (``submitted``): as 6;
8. each decision goes into ``approval_history`` (event, by, role, stamp, arrival and the
   covered values it was given on), an approval's approver into the decider field.

Every other field: last-writer-wins (rule ``lww``). Decided elsewhere: who may write the
row at all (the server's authorization), and what needs other rows (server checks: a
part sale paid only once approved, an issue within its approved requisition).
"""

from __future__ import annotations

from ..changeset import Mutation
from ..registry import REGISTRY, Approval
from ..wording import a
from . import lww
from .base import CONFLICT, SYSTEM, FieldClock, Merge, MergeContext, Overwrite, StoredRow

__all__ = ["merge", "DECISIONS", "MOVES", "status_of", "authors_of"]

SUBMITTED, APPROVED, REFUSED, PAID = "submitted", "approved", "refused", "paid"
#: the statuses only an approver sets
DECISIONS = frozenset({APPROVED, REFUSED, PAID})
#: status → the statuses it may be reached from
MOVES = {
    SUBMITTED: frozenset({APPROVED, REFUSED}),
    APPROVED: frozenset({SUBMITTED, REFUSED}),
    REFUSED: frozenset({SUBMITTED, APPROVED}),
    PAID: frozenset({APPROVED}),
}


def status_of(values: dict) -> str:
    """A record's status; none yet reads as submitted."""
    return values.get("status") or SUBMITTED


def authors_of(values: dict, spec: Approval) -> set[str]:
    """Who may never decide on the record: its claimant and whoever wrote a covered value."""
    found = set(values.get("authors") or ())
    if spec.claimant and values.get(spec.claimant):
        found.add(values[spec.claimant])
    return found


def merge(stored: StoredRow | None, mutation: Mutation, version: int, ctx: MergeContext) -> Merge:
    spec = REGISTRY.get(mutation.entity).approval
    live = stored is not None and not stored.deleted
    current = status_of(stored.values) if live else None
    if current == PAID:
        refusal = _paid(stored, mutation, spec)
        if refusal is not None:
            return refusal
    if mutation.op == "delete":
        return lww.merge(stored, mutation, version, ctx)
    incoming = (mutation.fields.get("status") or SUBMITTED) if "status" in mutation.fields else None
    if not live:
        if incoming not in (None, SUBMITTED):
            return Merge.refused("invalid_transition", f"a new {mutation.entity} starts submitted: it is decided "
                                 "once someone else has seen it", "status")
        result = lww.merge(stored, mutation, version, ctx)
        _add_author(result, stored, ctx, version, mutation.hlc)
        return result
    moving = incoming is not None and incoming != current
    if moving:
        refusal = _may_move(stored, mutation, spec, ctx, current, incoming)
        if refusal is not None:
            return refusal
    others = Mutation(mutation.mutation_id, mutation.entity, mutation.id, mutation.op,
                      {k: v for k, v in mutation.fields.items() if k != "status"}, mutation.hlc, mutation.base_version)
    result = lww.merge(stored, others, version, ctx)
    changed = {f: [stored.values.get(f), result.writes[f]] for f in spec.covers if f in result.writes}
    if changed:
        _add_author(result, stored, ctx, version, mutation.hlc)
    if moving and incoming in DECISIONS:
        _decide(result, stored, mutation, version, ctx, spec, incoming)
    elif current in (APPROVED, REFUSED) and (changed or moving):
        _void(result, stored, mutation, version, ctx, spec, current, changed)
    if result.overwrites:
        result.outcome = CONFLICT
    return result


def _paid(stored: StoredRow, mutation: Mutation, spec: Approval) -> Merge | None:
    """A paid record keeps its status and covered values: the money has left."""
    what = f"this {mutation.entity} is paid"
    if mutation.op == "delete":
        return Merge.refused("already_paid", f"{what}: it is never deleted")
    if mutation.fields.get("status", PAID) != PAID:
        return Merge.refused("already_paid", f"{what}: its status no longer changes", "status")
    for name in spec.covers:
        if name in mutation.fields and mutation.fields[name] != stored.values.get(name):
            return Merge.refused("already_paid", f"{what}: a difference is a new {mutation.entity}", name)
    return None


def _may_move(stored: StoredRow, mutation: Mutation, spec: Approval, ctx: MergeContext, current: str,
              incoming: str) -> Merge | None:
    entity = mutation.entity
    if incoming not in MOVES or current not in MOVES[incoming] or (incoming == PAID and not spec.payable):
        return Merge.refused("invalid_transition", f"{a(entity)} does not go from {current} to {incoming}", "status")
    authors = authors_of(stored.values, spec)
    if incoming not in DECISIONS:
        if ctx.role != SYSTEM and ctx.user_id not in authors:
            return Merge.refused("invalid_transition", f"only its claimant or an author withdraws {a(entity)}",
                                 "status")
        return None
    if ctx.role == SYSTEM or ctx.role not in ctx.approvers:
        who = "the server" if ctx.role == SYSTEM else a(ctx.role)
        return Merge.refused("not_an_approver", f"{who} does not decide on {a(entity)} here "
                             f"(approvers: {', '.join(sorted(ctx.approvers)) or 'none'})", "status")
    rewrites = [f for f in spec.covers if f in mutation.fields and mutation.fields[f] != stored.values.get(f)]
    if ctx.user_id in authors or rewrites:
        return Merge.refused("own_approval", f"nobody decides on {a(entity)} they claim or wrote: "
                             "another approver does", "status")
    unseen = [f for f in (*spec.covers, "status") if lww.concurrent(stored.clock.get(f), mutation)]
    if unseen:
        return Merge.refused("approval_outdated", f"the {entity} changed since you saw it ({', '.join(unseen)}): "
                             "look at it again before deciding", "status")
    return None


def _write(result: Merge, name: str, value, stamp: str, version: int) -> None:
    result.writes[name] = value
    result.clock[name] = FieldClock(stamp, version)


def _add_author(result: Merge, stored: StoredRow | None, ctx: MergeContext, version: int, stamp: str) -> None:
    authors = list((stored.values.get("authors") if stored is not None else None) or ())
    if ctx.role != SYSTEM and ctx.user_id and ctx.user_id not in authors:
        _write(result, "authors", [*authors, ctx.user_id], stamp, version)


def _history(stored: StoredRow, result: Merge, entry: dict, stamp: str, version: int) -> None:
    _write(result, "approval_history", [*(stored.values.get("approval_history") or ()), entry], stamp, version)


def _decide(result: Merge, stored: StoredRow, mutation: Mutation, version: int, ctx: MergeContext,
            spec: Approval, decision: str) -> None:
    values = {**stored.values, **result.writes}
    _write(result, "status", decision, mutation.hlc, version)
    if spec.decider and decision != PAID:
        _write(result, spec.decider, ctx.user_id if decision == APPROVED else None, mutation.hlc, version)
    _history(stored, result, {"event": decision, "by": ctx.user_id, "role": ctx.role, "at": mutation.hlc,
                              "arrived": ctx.arrival, "covers": {f: values.get(f) for f in spec.covers}},
             mutation.hlc, version)


def _void(result: Merge, stored: StoredRow, mutation: Mutation, version: int, ctx: MergeContext,
          spec: Approval, current: str, changed: dict) -> None:
    """The decision in force no longer holds: back to submitted, the decision kept."""
    _write(result, "status", SUBMITTED, mutation.hlc, version)
    if spec.decider and stored.values.get(spec.decider) is not None:
        _write(result, spec.decider, None, mutation.hlc, version)
    event = "withdrawn" if not changed else "voided" if current == APPROVED else "reopened"
    _history(stored, result, {"event": event, "by": ctx.user_id, "role": ctx.role, "at": mutation.hlc,
                              "arrived": ctx.arrival, "changed": changed}, mutation.hlc, version)
    if current == APPROVED:
        approved = stored.clock.get("status")
        result.overwrites.append(Overwrite("status", SUBMITTED, mutation.hlc, APPROVED,
                                           approved.hlc if approved else "", "incoming"))
