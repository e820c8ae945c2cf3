"""Business checks that read other rows, made before a mutation is merged.

A failed check rejects that one mutation with a code (the rest of the change-set
applies). Ledger entries are never refused for stock levels: a part that was physically
used is recorded, and negative stock shows in reconciliation. Parts leave a depot for a
van only by an issue within an approved requisition (:mod:`.requisitions`); the
spare-parts rules (holders, write-offs, stocktakes) are :mod:`server.domain.parts`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sync.changeset import Mutation, Rejection, coerce_value
from sync.registry import REGISTRY, Entity
from sync.rules import StoredRow
from sync.rules.approval import APPROVED, PAID, status_of
from sync.wording import a

from . import parts, requisitions, signoff

if TYPE_CHECKING:
    from ..apply import Batch, Caller

__all__ = ["before_merge"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")

#: movement kind → (needs a from location, needs a to location)
MOVEMENT_ENDS = {
    "receive": (False, True),
    "issue": (True, True),
    "consume": (True, False),
    "old_part_collected": (False, True),
    "old_part_received": (True, True),
    "transfer": (True, True),
    "stocktake_adjustment": (False, True),
    "write_off": (True, False),
    "supplier_claim": (True, False),
}


def before_merge(batch: "Batch", caller: "Caller", entity: Entity, stored: StoredRow | None,
                 mutation: Mutation) -> Rejection | None:
    check = _CHECKS.get(entity.name)
    if mutation.op == "delete":
        return None
    refusal = check(batch, caller, stored, mutation) if check is not None else None
    return refusal or parts.before_merge(batch, caller, entity, stored, mutation)


def _ticket(batch: "Batch", caller: "Caller", stored: StoredRow | None, mutation: Mutation) -> Rejection | None:
    return signoff.check_ticket(batch, caller, stored, mutation)


def _movement(batch: "Batch", caller: "Caller", stored: StoredRow | None, mutation: Mutation) -> Rejection | None:
    if stored is not None:
        return None
    f = mutation.fields
    kind = f.get("kind")
    if kind is None or not f.get("part_id"):
        return Rejection("incomplete_movement", "a stock movement names its kind and part", "kind")
    qty = f.get("qty")
    if qty is None or (qty <= 0 and kind != "stocktake_adjustment"):
        return Rejection("invalid_quantity", "a movement moves a positive quantity (adjustments may be negative)", "qty")
    needs_from, needs_to = MOVEMENT_ENDS[kind]
    if (needs_from and not f.get("from_location_id")) or (needs_to and not f.get("to_location_id")):
        return Rejection("incomplete_movement", f"{a(kind)} names where the part comes from and goes to", "from_location_id")
    if kind in ("consume", "old_part_collected") and not f.get("ticket_id"):
        return Rejection("incomplete_movement", f"{a(kind)} names its ticket", "ticket_id")
    if kind == "issue":
        return requisitions.check_issue(batch, mutation)
    if kind == "transfer" and caller.role in ("engineer", "depot") \
            and _kind_of(batch, f["from_location_id"]) == "depot" and _kind_of(batch, f["to_location_id"]) == "van":
        # head office's own corrections excepted: it writes any row, and the trail keeps them
        return Rejection("requisition_required", "parts go from a depot to a van as an issue against an approved "
                         "requisition", "kind")
    return None


def _kind_of(batch: "Batch", location_id: str) -> str | None:
    location = batch.lookup("stock_location", location_id)
    return location.values.get("kind") if location is not None else None


def _signature(batch: "Batch", caller: "Caller", stored: StoredRow | None, mutation: Mutation) -> Rejection | None:
    if stored is not None:
        return None
    for name in ("blob_sha256", "report_hash"):
        if not _SHA256.match(str(mutation.fields.get(name) or "")):
            return Rejection("invalid_value", f"signature.{name} is a lowercase hex SHA-256", name)
    return None


_CHARGE_COVERS = REGISTRY.get("charge").approval.covers


def _charge(batch: "Batch", caller: "Caller", stored: StoredRow | None, mutation: Mutation) -> Rejection | None:
    """Engineers charge on paid service only; a part sale above the threshold is paid only
    while an approval covers it as it stands; a paid charge keeps what was paid."""
    values = dict(stored.values) if stored else {}
    values.update(mutation.fields)
    if caller.role == "engineer" and stored is None:
        ticket = batch.lookup("ticket", values.get("ticket_id") or "")
        if ticket is None or ticket.values.get("category") != "A":
            return Rejection("not_paid_service", "engineers collect charges only on paid (category A) service",
                             "ticket_id")
    before = stored.values if stored is not None else {}
    changed = [f for f in _CHARGE_COVERS if f in mutation.fields and mutation.fields[f] != before.get(f)]
    if before.get("paid") and (changed or mutation.fields.get("status", before.get("status")) != before.get("status")):
        return Rejection("already_paid", "this charge is paid: a difference is a new charge",
                         changed[0] if changed else "status")
    paying = values.get("paid") and not before.get("paid")
    above = values.get("kind") == "part_sale" and (values.get("amount") or 0) > batch.config.part_sale_approval_above
    # a covered value changed by this very write voids the approval (rule approval)
    if paying and above and (status_of(values) != APPROVED or changed):
        return Rejection("approval_required",
                         f"a part sale above {batch.config.part_sale_approval_above:g} needs an approval of this "
                         "amount before payment and delivery", "paid")
    return None


def _plan(batch: "Batch", caller: "Caller", stored: StoredRow | None, mutation: Mutation) -> Rejection | None:
    """A plan's checklist entries become inspection items (:mod:`server.domain.maintenance`):
    the area and item of each entry must be values those items' fields take."""
    checklist = mutation.fields.get("checklist")
    items = batch.registry.get("inspection_item")
    for entry in checklist if isinstance(checklist, list) else []:
        for name in ("area", "item") if isinstance(entry, dict) else ():
            try:
                coerce_value(items.field(name), entry.get(name))
            except ValueError as exc:
                return Rejection("invalid_value", f"maintenance_plan.checklist: the {name} of an entry: {exc}",
                                 "checklist")
    return None


def _expense(batch: "Batch", caller: "Caller", stored: StoredRow | None, mutation: Mutation) -> Rejection | None:
    """A claim is settled against an advance of its own engineer's; an advance is approved
    and paid only with its amount (paid, its amount can no longer change: the money that
    left would stay unrecorded)."""
    values = {**(stored.values if stored is not None else {}), **mutation.fields}
    deciding = mutation.fields.get("status") in (APPROVED, PAID) and mutation.fields["status"] != (
        stored.values.get("status") if stored is not None else None)
    if deciding and values.get("kind") == "advance" and not (values.get("amount") or 0) > 0:
        return Rejection("amount_required", "an advance is approved and paid only with the amount it advances",
                         "amount")
    if not {"advance_id", "engineer_id", "kind"} & mutation.fields.keys():
        return None
    if not values.get("advance_id"):
        return None
    advance = batch.lookup("expense_claim", values["advance_id"])
    if (advance is None or advance.values.get("kind") != "advance" or values.get("kind") != "claim"
            or advance.values.get("engineer_id") != values.get("engineer_id")):
        return Rejection("invalid_advance", "a claim names an advance drawn by its own engineer", "advance_id")
    return None


def _requisition(batch: "Batch", caller: "Caller", stored: StoredRow | None, mutation: Mutation) -> Rejection | None:
    problem = requisitions.check_lines(mutation.fields.get("lines"))
    return Rejection("invalid_value", f"requisition.{problem}", "lines") if problem else None


_CHECKS = {
    "maintenance_plan": _plan,
    "ticket": _ticket,
    "stock_movement": _movement,
    "signature": _signature,
    "charge": _charge,
    "expense_claim": _expense,
    "requisition": _requisition,
}
