"""Business checks that read other rows, made before a mutation is merged.

A failed check rejects that one mutation with a code (the rest of the change-set
applies). Ledger entries are never refused for stock levels: a part that was physically
used is recorded, and negative stock shows in reconciliation. The spare-parts rules
(holders, write-offs, stocktakes) are :mod:`server.domain.parts`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import sqlalchemy as sa

from sync.changeset import Mutation, Rejection
from sync.registry import Entity
from sync.rules import SYSTEM, StoredRow

from ..tables import blobs
from . import parts

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
    if mutation.fields.get("status") != "signed" or caller.role == SYSTEM:
        return None
    if stored is not None and stored.values.get("status") == "signed":
        return None
    signatures = batch.find("signature", "ticket_id", mutation.id)
    current = [s for s in signatures.values() if not s.values.get("stale")]
    if not current:
        return Rejection("signature_required", "a ticket is signed only with a current customer signature", "status")
    hashes = [s.values.get("blob_sha256") for s in current]
    present = {r[0] for r in batch.conn.execute(sa.select(blobs.c.sha256).where(blobs.c.sha256.in_(hashes)))}
    if not present:
        return Rejection("signature_image_missing",
                         "the signature image has not arrived whole yet: upload it, then sync again", "status")
    return None


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
        return Rejection("incomplete_movement", f"a {kind} names where the part comes from and goes to", "from_location_id")
    if kind in ("consume", "old_part_collected") and not f.get("ticket_id"):
        return Rejection("incomplete_movement", f"a {kind} names its ticket", "ticket_id")
    if kind == "issue":
        requisition = batch.lookup("requisition", f.get("requisition_id") or "")
        if requisition is None or not requisition.values.get("approved"):
            return Rejection("requisition_not_approved", "parts are issued against an approved requisition",
                             "requisition_id")
    return None


def _signature(batch: "Batch", caller: "Caller", stored: StoredRow | None, mutation: Mutation) -> Rejection | None:
    if stored is not None:
        return None
    for name in ("blob_sha256", "report_hash"):
        if not _SHA256.match(str(mutation.fields.get(name) or "")):
            return Rejection("invalid_value", f"signature.{name} is a lowercase hex SHA-256", name)
    return None


def _charge(batch: "Batch", caller: "Caller", stored: StoredRow | None, mutation: Mutation) -> Rejection | None:
    values = dict(stored.values) if stored else {}
    values.update(mutation.fields)
    if caller.role == "engineer" and stored is None:
        ticket = batch.lookup("ticket", values.get("ticket_id") or "")
        if ticket is None or ticket.values.get("category") != "A":
            return Rejection("not_paid_service", "engineers collect charges only on paid (category A) service",
                             "ticket_id")
    if (values.get("kind") == "part_sale" and values.get("paid")
            and (values.get("amount") or 0) > batch.config.part_sale_approval_above and not values.get("approved_by")):
        return Rejection("approval_required",
                         f"a part sale above {batch.config.part_sale_approval_above:g} needs the manager's approval "
                         "before payment and delivery", "paid")
    return None


_CHECKS = {
    "ticket": _ticket,
    "stock_movement": _movement,
    "signature": _signature,
    "charge": _charge,
}
