"""Signed means signed now: a ticket is signed, and closed, only while it holds a current
signature whose image is here; it is completed only with its service report.

A part used on a job is written off against the signed service report (001 §3.7.4), and
the customer signs the report as it stands, after the work (001 §3.3.2). So:

* a signature counts while it signs the report as it stands (the server marks it
  ``stale`` when the report changes after signing, :mod:`server.domain.effects`) and
  once its image arrived whole: a blob is in ``blobs`` only when complete, uploads in
  progress live elsewhere;
* a ticket is completed only with the minimum service report of its category (the
  deployment's ``completion_report``: diagnosis, actions, result, and for field work an
  arrival — the ticket's ``arrived_at`` or an ``arrived`` work log), and a carried-back
  one only once the product is returned (``returned_at``, or status ``returned``) —
  checked on what the ticket holds once the mutation is merged: fields written in the
  same mutation, or earlier in the same change-set, count (``report_incomplete``,
  ``not_returned``);
* a ticket is set ``signed`` only with a current signature (``signature_required``,
  ``signature_image_missing``) and closed only with one (``not_signed``);
* when the report changes after signing, a ``signed`` or ``closed`` ticket that no longer
  holds a current signature goes back to ``completed`` (the server's write), whatever
  order the close and the change arrive in; a closed one is flagged for review and the
  closer told by a conflict note. The customer's new signature, with its image, makes it
  ``signed`` again by the server's hand — the device may still show it signed, and a
  write of what it already holds would be no change to push.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from sync.changeset import Mutation, Rejection
from sync.rules import Overwrite, StoredRow
from sync.rules.lww import node_of
from sync.rules.ticket import DONE, ENGINEER_SETS, RANK

from ..tables import blobs, entity_table

if TYPE_CHECKING:
    from ..apply import Batch, Caller

__all__ = ["current_signature", "holds_current_signature", "check_ticket", "after_stale", "after_signature"]

#: statuses that claim a current signature
_SIGNED = ("signed", "closed")
#: a carried-back product not yet back with its customer
_AWAY = ("carried_back", "in_workshop")
REOPENED = ("closed before a change to the signed report arrived: the customer signs the report again, "
            "then the ticket is closed again")


def current_signature(ticket_id: sa.ColumnElement) -> sa.Exists:
    """SQL: does the ticket named by ``ticket_id`` hold a current, complete signature?"""
    signatures = entity_table("signature")
    return sa.exists(
        sa.select(sa.literal(1))
        .select_from(signatures.join(blobs, blobs.c.sha256 == signatures.c.blob_sha256))
        .where(signatures.c.ticket_id == ticket_id, signatures.c.deleted.is_(False),
               sa.or_(signatures.c.stale.is_(None), signatures.c.stale.is_(False)))
    )


def _signature_refusal(batch: "Batch", ticket_id: str) -> tuple[str, str] | None:
    """Why the ticket holds no current, complete signature as the push stands, or ``None``."""
    current = [s for s in batch.find("signature", "ticket_id", ticket_id).values() if not s.values.get("stale")]
    if not current:
        return "signature_required", "a ticket is signed only with a current customer signature"
    hashes = [s.values.get("blob_sha256") for s in current]
    if not batch.conn.execute(sa.select(blobs.c.sha256).where(blobs.c.sha256.in_(hashes))).first():
        return "signature_image_missing", "the signature image has not arrived whole yet: upload it, then sync again"
    return None


def holds_current_signature(batch: "Batch", ticket_id: str) -> bool:
    return _signature_refusal(batch, ticket_id) is None


def check_ticket(batch: "Batch", caller: "Caller", stored: StoredRow | None, mutation: Mutation) -> Rejection | None:
    """A move of a ticket to ``completed``, ``signed`` or ``closed`` — the server's own too:
    head office settling a conflict never stores what no device could (a close taken back
    restored without a signature), and the server's writes here pass by construction."""
    incoming = mutation.fields.get("status")
    current = stored.values.get("status") if stored is not None else None
    if incoming is None or incoming == current:
        return None
    if caller.role == "depot" or (caller.role == "engineer" and incoming not in ENGINEER_SETS):
        return None  # a status this role never sets: the ticket machine refuses it for the role
    if incoming in ("completed", "signed") and (current == "cancelled" or RANK.get(current, -1) < DONE):
        refusal = _completion_refusal(batch, stored, mutation)
        if refusal is not None:
            return refusal
    if incoming == "signed":
        why = _signature_refusal(batch, mutation.id)
        return Rejection(*why, "status") if why else None
    if incoming == "closed" and not holds_current_signature(batch, mutation.id):
        return Rejection("not_signed", "a ticket is closed only while it holds the customer's signature of its "
                         "report as it stands: the report changed after signing, or nobody signed it", "status")
    return None


def _completion_refusal(batch: "Batch", stored: StoredRow | None, mutation: Mutation) -> Rejection | None:
    values = {**(stored.values if stored is not None else {}), **mutation.fields}
    wanted = batch.config.completion_report_of(values.get("category"))
    missing = [name for name in wanted if not _filled(values.get(name))]
    if "arrived_at" in missing and _arrival_logged(batch, mutation.id):
        missing.remove("arrived_at")
    if missing:
        return Rejection("report_incomplete", f"a ticket is completed only with its service report; missing: "
                         f"{', '.join(missing)}", missing[0])
    current = stored.values.get("status") if stored is not None else None
    away = values.get("carried_back") is True or current in _AWAY
    if away and not _filled(values.get("returned_at")) and current != "returned":
        return Rejection("not_returned", "a carried-back product is completed only once it is returned to the "
                         "customer (returned_at)", "returned_at")
    return None


def _filled(value) -> bool:
    return value is not None and (not isinstance(value, str) or value.strip() != "")


def _arrival_logged(batch: "Batch", ticket_id: str) -> bool:
    return any(log.values.get("event") == "arrived" for log in batch.find("work_log", "ticket_id", ticket_id).values())


def after_stale(batch: "Batch", ticket_id: str, mutation: Mutation) -> None:
    """The ticket's report changed after signing: a signed or closed ticket without a
    current signature goes back to ``completed``; closed, it is flagged and the closer told."""
    ticket = batch.lookup("ticket", ticket_id)
    status = ticket.values.get("status") if ticket is not None else None
    if status not in _SIGNED or holds_current_signature(batch, ticket_id):
        return
    closed = ticket.clock.get("status") if status == "closed" else None
    writes: dict = {"status": "completed"}
    if closed is not None:
        writes.update(needs_review=REOPENED, closed_at=None)
    batch.system_write("ticket", ticket_id, writes)
    if closed is not None:
        kept = batch.lookup("ticket", ticket_id).clock["status"]
        about = Mutation(mutation.mutation_id, "ticket", ticket_id, "update", {}, mutation.hlc, None)
        batch.note_conflicts("ticket", "signature", about, [Overwrite(
            "status", "completed", kept.hlc, "closed", closed.hlc, "incoming")])


def after_signature(batch: "Batch", signature_id: str) -> None:
    """A new current signature on a ticket the server took out of ``signed``: signed again."""
    signature = batch.lookup("signature", signature_id)
    ticket_id = signature.values.get("ticket_id") if signature is not None else None
    ticket = batch.lookup("ticket", ticket_id or "")
    if ticket is None or signature.values.get("stale") or ticket.values.get("status") != "completed":
        return
    status = ticket.clock.get("status")
    unsigned = status is not None and node_of(status.hlc) == "server" and any(
        s.values.get("stale") for s in batch.find("signature", "ticket_id", ticket_id).values())
    if unsigned and holds_current_signature(batch, ticket_id):
        batch.system_write("ticket", ticket_id, {"status": "signed"})
