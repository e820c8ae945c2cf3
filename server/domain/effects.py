"""What a change does to other fields and rows, inside the same push.

* a new ticket gets its number (``TYYMM-NNNNN``, the month it was made on the device), its service category when the desk
  left it open (C within the equipment's warranty, B under an active contract, else A;
  the engineer re-checks it on site), and, unless the desk set one, its response
  deadline from zone × urgency × contract; a change to any of those moves it, and its
  SLA state follows its arrivals (:mod:`.sla`, a logged arrival too);
* a new complaint gets its number (``CYYMM-NNN``, likewise) and its deadline (13 days, 17 abroad);
* field work pushed by an engineer on a ticket the desk meanwhile gave to another is
  kept, and a ``reassignment`` conflict record tells the desk;
* an expense claim's site allowance follows its site days;
* an issue against a requisition keeps the requisition's ``issued`` true to the issues,
  and one kept beyond the approval in force leaves a note for the approver
  (:mod:`.requisitions`); so does a change to a requisition's lines;
* a new signature is checked against the ticket's current report; a report changed
  after signing (its fields, or the parts consumed on it) marks the signatures that no
  longer match stale — they are kept, and the ticket needs a new one: a signed or closed
  ticket goes back to ``completed`` until the customer signs again (:mod:`.signoff`);
* the spare-parts effects (an old part expected back, stocktakes settled) are
  :mod:`server.domain.parts`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from sync.changeset import Mutation
from sync.entities import REPORT_FIELDS
from sync.registry import Entity
from sync.report import REPORT_FORMAT, REPORT_FORMATS, report_hash
from sync.rules import Merge, Overwrite

from . import maintenance, parts, requisitions, signoff, sla
from .moments import stored_text

if TYPE_CHECKING:
    from ..apply import Batch, Caller

__all__ = ["after_change", "service_category"]

_REPORT_FIELDS = frozenset(REPORT_FIELDS)


def after_change(batch: "Batch", entity: Entity, row_id: str, merge: Merge, mutation: Mutation,
                 caller: "Caller") -> None:
    handler = _EFFECTS.get(entity.name)
    if handler is not None and not merge.deleted:
        handler(batch, row_id, merge, mutation)
    parts.after_change(batch, entity, row_id, merge, mutation)
    if entity.name == "ticket" and caller.role == "engineer":
        _work_after_reassignment(batch, row_id, mutation, caller)


def _work_after_reassignment(batch: "Batch", row_id: str, mutation: Mutation, caller: "Caller") -> None:
    row = batch.states["ticket"][row_id].row
    assignee = row.values.get("assignee_id")
    if assignee and assignee != caller.user_id:
        given = row.clock.get("assignee_id")
        batch.note_conflicts("ticket", "reassignment", mutation, [Overwrite(
            "assignee_id", assignee, given.hlc if given else None, caller.user_id, mutation.hlc, "stored")])


def _created(batch: "Batch", entity: str, row_id: str) -> bool:
    state = batch.states[entity][row_id]
    return not state.exists and state.row.version == 1


def _made_ms(batch: "Batch", entity: str, row_id: str) -> int:
    """When a new row was made on its device: its ``device_time`` (the device's clock
    corrected by the skew measured at the push, kept for every new row), which numbers,
    filled-in times and reports go by."""
    return int(batch.states[entity][row_id].meta["device_time"].timestamp() * 1000)


def _made_text(made_ms: int) -> str:
    """A time field the server fills in for a record written without one: when it was made."""
    return stored_text(datetime.fromtimestamp(made_ms / 1000, timezone.utc))


def _ticket(batch: "Batch", row_id: str, merge: Merge, mutation: Mutation) -> None:
    row = batch.states["ticket"][row_id].row
    writes: dict = {}
    if _created(batch, "ticket", row_id):
        made_ms = _made_ms(batch, "ticket", row_id)
        if not row.values.get("reported_at"):
            # A call written with no time was taken when it was written: both deadlines and
            # the day's figures count from then, not from whichever later edit moves the SLA.
            writes["reported_at"] = _made_text(made_ms)
        writes["number"] = batch.numbers.next("T", made_ms)  # server-owned: no device sends one
        if not row.values.get("category"):
            called = sla.parse_time(writes.get("reported_at") or row.values["reported_at"])
            writes["category"] = service_category(batch, row.values, called)
    sla.after_ticket(batch, row_id, merge, mutation, writes)  # with deadlines and SLA state: one write
    if not _REPORT_FIELDS.isdisjoint(merge.writes):
        _restale(batch, row_id, mutation)


def service_category(batch: "Batch", ticket: dict, when: datetime) -> str:
    """A paid, B contract, C free warranty (004 §6), from the equipment and contract
    (the console shows it at intake before the ticket is saved)."""
    equipment = batch.lookup("equipment", ticket.get("equipment_id") or "")
    day = when.date()
    warranty_end = sla.parse_time(equipment.values.get("warranty_end")) if equipment else None
    if warranty_end is not None and warranty_end.date() >= day:
        return "C"
    contract_id = ticket.get("contract_id") or (equipment.values.get("contract_id") if equipment else None)
    contract = batch.lookup("contract", contract_id or "")
    if contract is not None:
        starts, ends = (sla.parse_time(contract.values.get(name)) for name in ("starts_on", "ends_on"))
        if (starts is None or starts.date() <= day) and (ends is None or ends.date() >= day):
            return "B"
    return "A"


def _complaint(batch: "Batch", row_id: str, merge: Merge, mutation: Mutation) -> None:
    if not _created(batch, "complaint", row_id):
        return
    row = batch.states["complaint"][row_id].row
    made_ms = _made_ms(batch, "complaint", row_id)
    writes = {"number": batch.numbers.next("C", made_ms)}
    if not row.values.get("received_at"):
        writes["received_at"] = _made_text(made_ms)  # as a ticket's call time: its deadline counts from it
    if not row.values.get("deadline"):
        days = batch.config.complaint_days_abroad if row.values.get("abroad") else batch.config.complaint_days_domestic
        received = sla.parse_time(writes.get("received_at") or row.values["received_at"])
        writes["deadline"] = sla.later(received, days * 24).isoformat()
    batch.system_write("complaint", row_id, writes)


def current_report_hash(batch: "Batch", ticket_id: str, report_format: int = REPORT_FORMAT) -> str | None:
    ticket = batch.lookup("ticket", ticket_id)
    if ticket is None:
        return None
    consumed = [m.values for m in batch.find("stock_movement", "ticket_id", ticket_id).values()
                if m.values.get("kind") == "consume"]
    return report_hash(ticket_id, ticket.values, consumed, report_format)


def _restale(batch: "Batch", ticket_id: str, mutation: Mutation) -> None:
    """Mark the ticket's signatures that no longer match its report stale, each checked
    in the report format it was made in; a ticket left without a current one is no
    longer signed (:func:`.signoff.after_stale`)."""
    signatures = {i: s for i, s in batch.find("signature", "ticket_id", ticket_id).items() if not s.values.get("stale")}
    if not signatures:
        return  # nothing signed: no report to hash
    current: dict[int, str | None] = {}
    stale = []
    for sig_id, sig in signatures.items():
        report_format = sig.values.get("report_format") or 1
        if report_format not in current:
            current[report_format] = current_report_hash(batch, ticket_id, report_format)
        if sig.values.get("report_hash") != current[report_format]:
            stale.append(sig_id)
    for sig_id in stale:
        batch.system_write("signature", sig_id, {"stale": True})
    if stale:
        signoff.after_stale(batch, ticket_id, mutation)


def _signature(batch: "Batch", row_id: str, merge: Merge, mutation: Mutation) -> None:
    """A new signature: ``stale`` false or true (never left empty), and the report format
    it was checked in. A device that states no format (a client from before format 2,
    or a signature made offline before its replica learned of it) is checked in the
    current format, then in format 1, and the one that matches is written."""
    if not _created(batch, "signature", row_id):
        return
    row = batch.states["signature"][row_id].row
    stated = row.values.get("report_format")
    ticket_id = row.values.get("ticket_id")
    tried = (stated,) if stated else (REPORT_FORMAT, *(f for f in REPORT_FORMATS if f != REPORT_FORMAT))
    matched = next((f for f in tried if row.values.get("report_hash") == current_report_hash(batch, ticket_id, f)),
                   None)
    writes: dict = {"stale": matched is None}
    if not stated:
        writes["report_format"] = matched or REPORT_FORMAT
    batch.system_write("signature", row_id, writes)
    signoff.after_signature(batch, row_id)


def _movement(batch: "Batch", row_id: str, merge: Merge, mutation: Mutation) -> None:
    row = batch.states["stock_movement"][row_id].row
    if not _created(batch, "stock_movement", row_id):
        return
    if row.values.get("kind") == "consume" and row.values.get("ticket_id"):
        _restale(batch, row.values["ticket_id"], mutation)
    elif row.values.get("kind") == "issue":
        requisitions.after_issue(batch, row_id, mutation)


def _requisition(batch: "Batch", row_id: str, merge: Merge, mutation: Mutation) -> None:
    if "lines" in merge.writes and not _created(batch, "requisition", row_id):  # a new one has no issues yet
        requisitions.update_issued(batch, row_id)


def _expense(batch: "Batch", row_id: str, merge: Merge, mutation: Mutation) -> None:
    """Site days × the configured daily allowance (001 §3.4.3)."""
    if "site_days" not in merge.writes:
        return
    days = batch.states["expense_claim"][row_id].row.values.get("site_days") or 0
    batch.system_write("expense_claim", row_id, {"allowance": round(days * batch.config.site_allowance_per_day, 2)})


_EFFECTS = {
    "ticket": _ticket,
    "expense_claim": _expense,
    "complaint": _complaint,
    "signature": _signature,
    "stock_movement": _movement,
    "requisition": _requisition,
    "work_log": sla.after_work_log,
    "maintenance_visit": maintenance.after_visit,
}
