"""The work each role does in the property test's day (who is in the day, and the stock
room it starts with, are ``tests/field_day.py``).

The work is a table (``ROLE_ACTIONS``): an action draws what it needs from the device's
own replica and writes plain SQL there, as the app would. The machine that runs them,
with its network faults and invariants, is ``tests/test_property_sync.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable

import httpx
from hypothesis import strategies as st

from server import changelog
from server.compaction import compact
from sync.rules.ticket import RANK
from tests.field_day import (
    ASSIGNEE_IDS,
    ASSIGNEES,
    BLOB_LIMIT,
    CLOCK_SETTINGS,
    DEPOT,
    DEVICES,
    ENGINEERS,
    FRACTIONAL_UNITS,
    HOSE,
    PART,
    RETURNABLE_PART,
    VAN_OF,
)
from tests.report_oracle import expected_report_hash
from tests.world import Decision, Device, Image, Signing

if TYPE_CHECKING:
    from tests.test_property_sync import FieldWork


# -- the work each role does ----------------------------------------------------------


@dataclass(frozen=True)
class Action:
    name: str
    run: Callable[["FieldWork", Device, st.DataObject], None]
    #: how often, relative to the role's other actions
    weight: int = 1

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.name)


def _actions(*entries: Callable | tuple[Callable, int]) -> tuple[Action, ...]:
    """The role's actions, each listed ``weight`` times: over many examples, each drawing
    from its own order of the list, it comes up about that many times as often."""
    out = []
    for entry in entries:
        run, weight = entry if isinstance(entry, tuple) else (entry, 1)
        out.extend([Action(run.__name__, run, weight)] * weight)
    return tuple(out)


def _pick(data: st.DataObject, device: Device, entity: str, where: str = "TRUE") -> str | None:
    """One of the device's rows (those ``where`` holds for), in the order they reached it:
    ids are partly random, so sorting by id would hand a replayed run a different row for
    the same choice."""
    ids = [r[0] for r in device.replica.db.execute(f'SELECT id FROM "{entity}" WHERE {where} ORDER BY rowid')]
    return data.draw(st.sampled_from(ids), label=entity) if ids else None


def _part(data: st.DataObject) -> str:
    return data.draw(st.sampled_from([RETURNABLE_PART, PART, HOSE]), label="part")


def _qty(data: st.DataObject, most: int, part: str | None = None, device: Device | None = None) -> float:
    """A whole quantity up to ``most``; of a part whose unit (as the device's catalog
    holds it) counts fractions, a quarter-step one: 0.5, 1.25, ... (exact in binary, so
    sums stay exact)."""
    found = device.replica.get("part", part) if device is not None and part else None
    if found is not None and found.get("unit") in FRACTIONAL_UNITS:
        return data.draw(st.integers(1, 4 * most), label="quarters") / 4
    return float(data.draw(st.integers(1, most), label="qty"))


def _line(data: st.DataObject, device: Device, most: int) -> dict:
    """A requisition's line: a part and how many (of hose, metres in quarters)."""
    part = _part(data)
    return {"part_id": part, "qty": _qty(data, most, part, device)}


def _assignee(data: st.DataObject) -> str | None:
    return data.draw(ASSIGNEES, label="assignee")


def open_ticket(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """The desk takes a call: a customer (new or known), their equipment, a ticket."""
    replica = device.replica
    customer = _pick(data, device, "customer") if data.draw(st.booleans(), label="known customer") else None
    if customer is None:
        customer = replica.insert("customer", name=m.fresh("customer"), zone="ring2", phone=m.fresh("tel"))
    equipment = replica.insert("equipment", customer_id=customer, model=m.fresh("model"), serial=m.fresh("SN"))
    replica.insert("ticket", customer_id=customer, equipment_id=equipment, status="dispatched", urgency="normal",
                   fault_description=m.fresh("fault"), channel="phone", assignee_id=_assignee(data))


def edit_as_office(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """The desk corrects the fault description, judges urgency, notes why it cancels."""
    ticket = _pick(data, device, "ticket")
    if ticket:
        name = data.draw(st.sampled_from(["fault_description", "urgency", "cancel_reason"]), label="field")
        value = data.draw(st.sampled_from(["emergency", "normal"])) if name == "urgency" else m.fresh(name)
        device.replica.update("ticket", ticket, **{name: value})


def reassign(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    ticket = _pick(data, device, "ticket")
    if ticket:
        device.replica.update("ticket", ticket, assignee_id=_assignee(data))


def _worked_on(m: "FieldWork", name: str) -> list[str]:
    """The tickets an engineer worked on today, the latest last: each write of his app
    to a ticket or to a row on one (a part fitted, a signature, an old part)."""
    tickets = [w.row_id if w.entity == "ticket" else w.fields.get("ticket_id") for w in m.writes[f"d-{name}"]]
    return list(dict.fromkeys(reversed([t for t in tickets if t])))[::-1]


def reassign_and_return(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """The desk takes from an engineer working offline the ticket he last worked on (or
    one of his), and gives it back (the one it went to was needed elsewhere), syncing
    each time. His phone pulls in the background while the ticket is away — it is to
    leave once his work on it is pushed — and again once it is back: then it stays, and
    his push must not take it off."""
    name = data.draw(st.sampled_from(ENGINEERS), label="from")
    engineer = f"u-{name}"
    his = [t for (t,) in device.replica.db.execute("SELECT id FROM ticket WHERE assignee_id = ? ORDER BY rowid",
                                                   (engineer,))]
    if not his:
        return
    ticket = ([t for t in _worked_on(m, name) if t in his] or his)[-1]
    others = [a for a in ASSIGNEE_IDS if a != engineer]
    device.replica.update("ticket", ticket, assignee_id=data.draw(st.sampled_from(others), label="away to"))
    m.sync("desk", False)
    m.sync(name, True)
    device.replica.update("ticket", ticket, assignee_id=engineer)
    m.sync("desk", False)
    m.sync(name, True)


def customer_calls_the_desk(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """A customer whose ticket is out with an engineer calls: the fault is not quite what
    was written down. The engineer, on site, may be writing it down anew at the same time
    (``customer_tells_the_engineer``): the later in real time is kept."""
    ticket = _pick(data, device, "ticket", "assignee_id IS NOT NULL")
    if ticket:
        device.replica.update("ticket", ticket, fault_description=m.fresh("客户来电补充的故障"))


def customer_tells_the_engineer(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """On site the customer tells the engineer what the fault really is."""
    ticket = _pick(data, device, "ticket")
    if ticket:
        device.replica.update("ticket", ticket, fault_description=m.fresh("客户现场说明的故障"))


def move_status_as_office(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """The desk cancels a ticket or dispatches it again."""
    ticket = _pick(data, device, "ticket")
    if ticket:
        device.replica.update("ticket", ticket, status=data.draw(st.sampled_from(["cancelled", "dispatched"])))


def edit_customer(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    customer = _pick(data, device, "customer")
    if customer:
        name = data.draw(st.sampled_from(["phone", "contact", "address"]), label="field")
        device.replica.update("customer", customer, **{name: m.fresh(name)})


def edit_equipment(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    equipment = _pick(data, device, "equipment")
    if equipment:
        name = data.draw(st.sampled_from(["run_hours", "mileage_km", "serial"]), label="field")
        device.replica.update("equipment", equipment, **{name: m.fresh_value(name)})


def delete_row(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    entity = data.draw(st.sampled_from(["ticket", "equipment", "customer"]), label="entity")
    row = _pick(data, device, entity)
    if row:
        device.replica.delete(entity, row)


def record_work(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """An engineer on site: arrival, what they heard, found and did."""
    ticket = _pick(data, device, "ticket")
    if ticket:
        name = data.draw(st.sampled_from(["diagnosis", "actions", "cause", "arrived_at", "run_hours_reading"]),
                         label="field")
        device.replica.update("ticket", ticket, **{name: m.fresh_value(name)})


#: the minimum service report a ticket is completed with (arrival, diagnosis, actions, result)
MINIMUM_REPORT = ("arrived_at", "diagnosis", "actions", "result")


def _complete(m: "FieldWork", device: Device, ticket: str, **more) -> None:
    """Complete the ticket in one write that also fills what its minimum report lacks."""
    held = device.replica.get("ticket", ticket)
    missing = {name: m.fresh_value(name) for name in MINIMUM_REPORT if not held.get(name)}
    device.replica.update("ticket", ticket, status="completed", **missing, **more)


def move_status_in_the_field(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """An engineer accepts, sets off, arrives, completes (writing what the report lacks)."""
    ticket = _pick(data, device, "ticket")
    if ticket:
        status = data.draw(st.sampled_from(["on_site", "accepted", "completed", "travelling"]), label="status")
        if status == "completed":
            _complete(m, device, ticket)
        else:
            device.replica.update("ticket", ticket, status=status)


def register_equipment_found_on_site(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """A machine no ticket names yet: the server keeps it and evicts it from its author."""
    customer = _pick(data, device, "customer")
    if customer:
        device.replica.insert("equipment", customer_id=customer, model=m.fresh("model"), serial=m.fresh("SN"))


def open_ticket_on_site(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """A customer stops an engineer on site: he opens the ticket and takes it himself."""
    customer = device.replica.insert("customer", name=m.fresh("customer"), zone="ring2", phone=m.fresh("tel"))
    equipment = device.replica.insert("equipment", customer_id=customer, model=m.fresh("model"))
    device.replica.insert("ticket", customer_id=customer, equipment_id=equipment, status="accepted",
                          channel="on_site", fault_description=m.fresh("fault"), assignee_id=device.user_id)


def overstep(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """An engineer writes what only the desk may (urgency) or deletes a ticket: refused, parked."""
    ticket = _pick(data, device, "ticket")
    if ticket is None:
        return
    if data.draw(st.booleans(), label="delete"):
        device.replica.delete("ticket", ticket)
    else:
        device.replica.update("ticket", ticket, urgency=data.draw(st.sampled_from(["emergency", "normal"])))


def approve_requisition(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """The desk approves a requisition (only then does the depot issue its parts), or
    raises one itself for the parts an engineer's ticket needs — which someone else
    approves: one it raised itself is refused."""
    requisition = _pick(data, device, "requisition") if data.draw(st.booleans(), label="approves") else None
    if requisition:
        decide(m, device, "requisition", requisition, "approved")
        return
    engineer = data.draw(st.sampled_from(sorted(VAN_OF)), label="for")
    device.replica.insert("requisition", engineer_id=engineer, depot_location_id=DEPOT, van_location_id=VAN_OF[engineer],
                          lines=[_line(data, device, 3)], reason=m.fresh("reason"))


def ask_for_more(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """Working offline, the engineer changes a record already sent for approval: he raises
    an expense claim's amount (a toll he forgot) or asks for more on a requisition (a
    line's quantity up, or another part). Approved, it is approved no more: the approver
    must see it again."""
    if data.draw(st.booleans(), label="a claim"):
        claim = _pick(data, device, "expense_claim", f"engineer_id = '{device.user_id}' AND status IS NOT 'paid'")
        if claim:
            amount = device.replica.get("expense_claim", claim)["amount"] or 0.0
            device.replica.update("expense_claim", claim, amount=amount + _qty(data, 300))
        return
    requisition = _pick(data, device, "requisition", f"engineer_id = '{device.user_id}'")
    if requisition:
        lines = list(device.replica.get("requisition", requisition)["lines"] or [])
        more = _line(data, device, 2)
        same = [i for i, line in enumerate(lines) if line["part_id"] == more["part_id"]]
        if same:
            lines[same[0]] = {**lines[same[0]], "qty": lines[same[0]]["qty"] + more["qty"]}
        else:
            lines.append(more)
        device.replica.update("requisition", requisition, lines=lines)


def phone_clock_is_set(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """The engineer's phone clock is set days back or hours on while he works offline,
    or set right again: the engine takes the jump out of its stamps, and the server
    orders his writes by when he made them."""
    m.set_clock(device, CLOCK_SETTINGS[data.draw(st.sampled_from(list(CLOCK_SETTINGS)), label="clock")])


def _photo(m: "FieldWork", what: str, size: int) -> bytes:
    """``size`` bytes no other capture has."""
    stem = f"{m.fresh(what)} ".encode()
    return (stem * (size // len(stem) + 1))[:size]


def file_expense_claim(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """The engineer files an expense claim for a trip with a photo of the toll ticket and,
    sometimes, of the hotel invoice taken at full size: over the server's limit, it is
    parked on his phone, while the claim and the toll ticket go."""
    replica = device.replica
    photos = {replica.put_blob(_photo(m, "高速通行费票据", BLOB_LIMIT // 8), "image/jpeg"): None}
    if data.draw(st.booleans(), label="the invoice at full size"):
        photos[replica.put_blob(_photo(m, "酒店住宿发票", BLOB_LIMIT + 1), "image/jpeg")] = "too_large"
    claim = replica.insert("expense_claim", engineer_id=device.user_id, ticket_id=_pick(data, device, "ticket"),
                           kind="claim", amount=_qty(data, 900), description=m.fresh("出差住宿和通行费"), receipts=list(photos),
                           status="submitted")
    m.images.extend(Image(device.device_id, sha256, "expense_claim", claim, "receipts", refusal)
                    for sha256, refusal in photos.items())


def ask_for_parts(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """An engineer writes a requisition for parts to his van, for one of his tickets or for stock."""
    device.replica.insert("requisition", engineer_id=device.user_id, ticket_id=_pick(data, device, "ticket"),
                          depot_location_id=DEPOT, van_location_id=VAN_OF[device.user_id],
                          lines=[_line(data, device, 3)], reason=m.fresh("reason"))


def fit_part(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """An engineer fits a part from his van on a ticket; the old belt it replaces is
    expected back at the depot. Sometimes he miscounted and edits the entry instead of
    adding a correcting one: refused, the ledger is append-only."""
    ticket = _pick(data, device, "ticket")
    if ticket is None:
        return
    part = _part(data)
    qty = _qty(data, 2, part, device)
    movement = device.replica.insert("stock_movement", kind="consume", part_id=part, qty=qty, condition="new",
                                     from_location_id=VAN_OF[device.user_id], ticket_id=ticket,
                                     held_by=device.user_id, occurred_at=m.fresh_value("occurred_at"))
    if part == RETURNABLE_PART:
        # the consumption's own return: the server would make it with this id had he not
        device.replica.insert("old_part_return", id=movement, ticket_id=ticket, part_id=part, qty=qty,
                              engineer_id=device.user_id, depot_location_id=DEPOT, status="expected")
    if data.draw(st.booleans(), label="edits the count"):
        device.replica.update("stock_movement", movement, qty=qty + 1)


def collect_old_part(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """The engineer packs a replaced part into his van's old-parts bin for the depot."""
    expected = _pick(data, device, "old_part_return", "status = 'expected'")
    if expected is None:
        return
    back = device.replica.get("old_part_return", expected)
    device.replica.update("old_part_return", expected, status="collected", collected_at=m.fresh_value("collected_at"))
    device.replica.insert("stock_movement", kind="old_part_collected", part_id=back["part_id"], qty=back["qty"],
                          condition="old", to_location_id=VAN_OF[device.user_id], ticket_id=back["ticket_id"],
                          return_id=expected, held_by=device.user_id, occurred_at=m.fresh_value("occurred_at"))


def return_unused_part(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """An engineer takes a part he did not need back to the depot."""
    part = _part(data)
    device.replica.insert("stock_movement", kind="transfer", part_id=part, qty=_qty(data, 1, part, device),
                          condition="new", from_location_id=VAN_OF[device.user_id], to_location_id=DEPOT,
                          held_by=device.user_id, occurred_at=m.fresh_value("occurred_at"))


def customer_signs(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """The engineer completes the job and the customer signs the report on his device.
    Then he marks the ticket signed, or tries to correct the signer's name (refused: a
    signature never changes), or leaves it — or another app rewrites the image file
    before it is uploaded: the image is parked on his phone, the signature still goes.

    The test works out the hash of the report the customer saw itself, from the ticket
    and the parts on the device, and keeps it with what the device captured.
    """
    ticket = _pick(data, device, "ticket")
    if ticket is None:
        return
    replica = device.replica
    if RANK.get(replica.get("ticket", ticket)["status"], -1) < RANK["completed"]:
        _complete(m, device, ticket, completed_at=m.fresh_value("completed_at"))
    seen = replica.get("ticket", ticket)
    consumed = [r for r in replica.all("stock_movement").values() if r["ticket_id"] == ticket and r["kind"] == "consume"]
    image = replica.put_blob(m.fresh("strokes").encode())
    captured = {"ticket_id": ticket, "blob_sha256": image, "signer_name": m.fresh("signer"),
                "signed_at": m.fresh_value("signed_at"), "report_hash": replica.report_hash(ticket)}
    signature = replica.insert("signature", **captured)
    m.signings[signature] = Signing(captured, expected_report_hash(ticket, seen, consumed))
    then = data.draw(st.sampled_from(["marks it signed", "corrects the name", "leaves it", "the image file changes"]),
                     label="then")
    if then == "marks it signed":
        replica.update("ticket", ticket, status="signed")
    elif then == "corrects the name":
        replica.update("signature", signature, signer_name=m.fresh("signer"))
    elif then == "the image file changes":
        # the engine keeps images in its replica: the other app's bytes go there
        replica.db.execute("UPDATE _blobs SET data = ? WHERE sha256 = ?", (m.fresh("被修图软件改过的签名").encode(), image))
    refusal = "hash_mismatch" if then == "the image file changes" else None
    m.images.append(Image(device.device_id, image, "signature", signature, "blob_sha256", refusal))


def receive_delivery(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """A supplier's delivery arrives at the depot (a receiving note)."""
    part = _part(data)
    device.replica.insert("stock_movement", kind="receive", part_id=part, qty=_qty(data, 9, part, device),
                          condition="new", to_location_id=DEPOT, held_by=device.user_id,
                          occurred_at=m.fresh_value("occurred_at"))


def issue_parts(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """The depot issues a requisition's parts to the engineer's van (refused unless it was
    approved, or beyond what it approved; the server marks it issued)."""
    requisition = _pick(data, device, "requisition", "issued IS NOT 1")
    if requisition is None:
        return
    asked = device.replica.get("requisition", requisition)
    for line in asked["lines"] or []:
        device.replica.insert("stock_movement", kind="issue", part_id=line["part_id"], qty=float(line["qty"]),
                              condition="new", from_location_id=DEPOT, to_location_id=asked["van_location_id"],
                              requisition_id=requisition, held_by=asked["engineer_id"],
                              occurred_at=m.fresh_value("occurred_at"))


def book_old_part_in(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """An engineer hands in an old part: the depot books it received, from his van into
    the depot's old-parts bin — whether or not his "collected" has arrived yet."""
    back = _pick(data, device, "old_part_return", "status IN ('expected', 'collected')")
    if back is None:
        return
    row = device.replica.get("old_part_return", back)
    device.replica.update("old_part_return", back, status="received", received_at=m.fresh_value("received_at"),
                          received_by=device.user_id)
    device.replica.insert("stock_movement", kind="old_part_received", part_id=row["part_id"], qty=row["qty"],
                          condition="old", from_location_id=VAN_OF[row["engineer_id"]], to_location_id=DEPOT,
                          return_id=back, held_by=row["engineer_id"], occurred_at=m.fresh_value("occurred_at"))


def dispose_of_old_part(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """A received old part is repaired, scrapped, or sent back to the supplier on a claim."""
    back = _pick(data, device, "old_part_return", "status = 'received'")
    if back is None:
        return
    row = device.replica.get("old_part_return", back)
    disposition = data.draw(st.sampled_from(["repair", "scrap", "supplier_claim"]), label="disposition")
    device.replica.update("old_part_return", back, status="disposed", disposition=disposition,
                          disposed_at=m.fresh_value("disposed_at"))
    if disposition != "repair":
        device.replica.insert("stock_movement", kind="write_off" if disposition == "scrap" else "supplier_claim",
                              part_id=row["part_id"], qty=row["qty"], condition="old", from_location_id=DEPOT,
                              return_id=back, held_by=device.user_id, occurred_at=m.fresh_value("occurred_at"))


def _shelf(device: Device, location: str) -> dict[tuple[str, str], float]:
    """What the device's ledger says a location holds, per part and condition."""
    held: dict[tuple[str, str], float] = {}
    for row in device.replica.all("stock_movement").values():
        key = (row["part_id"], row["condition"] or "new")
        if row["to_location_id"] == location:
            held[key] = held.get(key, 0.0) + row["qty"]
        if row["from_location_id"] == location:
            held[key] = held.get(key, 0.0) - row["qty"]
    return held


def count_the_shelf(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """The depot keeper counts the depot's shelves, part by part, on a count sheet his
    device stamps with its own clock, and sends it: a unit missing, one found, or as
    the ledger says. The differences wait for the manager's approval."""
    held = _shelf(device, DEPOT)
    parts = data.draw(st.lists(st.sampled_from([RETURNABLE_PART, PART, HOSE]), min_size=1, max_size=3, unique=True),
                      label="counts")
    lines = []
    for part in parts:
        off = data.draw(st.sampled_from([0.0, -1.0, 1.0, -0.5]), label="off by")
        if off == -0.5 and device.replica.get("part", part)["unit"] not in FRACTIONAL_UNITS:
            off = -1.0
        lines.append({"part_id": part, "condition": "new", "qty": max(0.0, held.get((part, "new"), 0.0) + off)})
    wall = datetime.fromtimestamp((m.now + m.errors[device.name]) / 1000, timezone.utc)
    device.replica.insert("stock_count", location_id=DEPOT, counted_by=device.user_id,
                          counted_at=wall.isoformat(timespec="milliseconds"), lines=lines, note=m.fresh("盘点"))
    m.sync(device.name, False)


def decide(m: "FieldWork", device: Device, entity: str, row_id: str, status: str) -> None:
    """An approver sets a record's status; the test notes what the approval covers as his
    device shows it (what he approved: ``approval_never_covers_more_than_approved``)."""
    held = device.replica.get(entity, row_id)
    covers = {"requisition": ("engineer_id", "depot_location_id", "van_location_id", "lines"),
              "expense_claim": ("engineer_id", "kind", "amount", "site_days", "receipts")}[entity]
    m.decisions.append(Decision(device.device_id, entity, row_id, status, {name: held.get(name) for name in covers}))
    device.replica.update(entity, row_id, status=status)


def decide_at_the_office(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """The manager, at head office on its network, syncs, decides on what waits for him —
    an expense claim approved, refused or paid once approved; a requisition approved — and
    syncs again."""
    m.sync(device.name, False)
    entity = data.draw(st.sampled_from(["expense_claim", "expense_claim", "requisition"]), label="decides on")
    row_id = _pick(data, device, entity, "status IS NOT 'paid'")
    if row_id is None:
        return
    now = device.replica.get(entity, row_id)["status"] or "submitted"
    choices = {"submitted": ["approved", "refused"], "approved": ["paid", "refused"], "refused": ["approved"]}[now]
    if entity == "requisition":
        choices = [c for c in choices if c != "paid"] or ["approved"]
    decide(m, device, entity, row_id, data.draw(st.sampled_from(choices), label="decision"))
    m.sync(device.name, False)


def approve_count(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """The manager approves a count sheet: the server posts its differences."""
    m.sync(device.name, False)
    count = _pick(data, device, "stock_count", "approved IS NOT 1")
    if count:
        device.replica.update("stock_count", count, approved=True)
        m.sync(device.name, False)


def close_ticket(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """The manager closes a signed ticket (one whose signature went stale is refused)."""
    ticket = _pick(data, device, "ticket", "status = 'signed'") or _pick(data, device, "ticket")
    if ticket:
        device.replica.update("ticket", ticket, status="closed")


def settle_a_conflict(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """The manager goes through the conflict queue at head office (the office API, not
    his replica) and confirms the value the rules kept, with a reason; one settled
    meanwhile is answered 409. Restoring the losing value is a write of the server's the
    write invariants do not model, so he keeps what won."""
    conflict = _pick(data, device, "conflict", "status = 'open'")
    if conflict is None:
        return
    with httpx.Client(transport=httpx.WSGITransport(app=m.server), base_url="http://fieldsync",
                      headers={"Authorization": f"Bearer token-{device.name}"}) as office:
        answer = office.post(f"/v1/office/conflicts/{conflict}/resolve",
                             json={"choose": "kept", "reason": m.fresh("经理核实后保留")})
    assert answer.status_code in (200, 409), f"resolving conflict {conflict}: {answer.status_code} {answer.text}"


def compact_the_log(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """Head office compacts the change log (``fieldsync db compact``) up to now: a device
    whose cursor falls behind the new horizon is answered ``resync_required`` at its
    next pull, fetches its scope afresh and keeps its pending work."""
    with m.server.engine.connect() as conn:
        last = changelog.head(conn)[0]
    compact(m.server.engine, last)


def at_the_same_instant(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """The desk corrects a ticket's fault description in the very instant its engineer
    writes it down on site (no time passes between): on the server both writes may be
    ordered at the same wall time and counter, and the tie is broken the same way
    whichever arrives first."""
    ticket = _pick(data, device, "ticket", "assignee_id IS NOT NULL")
    if ticket is None:
        return
    engineer = device.replica.get("ticket", ticket)["assignee_id"].removeprefix("u-")
    names = [n for n, person in DEVICES.items() if person == engineer
             and m.devices[n].replica.get("ticket", ticket) is not None]
    if not names:
        return
    other = m.devices[data.draw(st.sampled_from(names), label="on site")]
    device.replica.update("ticket", ticket, fault_description=m.fresh("同时补充的故障"))
    other.replica.update("ticket", ticket, fault_description=m.fresh("同时现场记录的故障"))


ROLE_ACTIONS: dict[str, tuple[Action, ...]] = {
    "desk": _actions(open_ticket, (edit_as_office, 2), (reassign, 2), (reassign_and_return, 3), move_status_as_office,
                     edit_customer, edit_equipment, delete_row, approve_requisition, (customer_calls_the_desk, 3),
                     at_the_same_instant),
    "engineer": _actions((record_work, 3), move_status_in_the_field, edit_customer, edit_equipment,
                         register_equipment_found_on_site, open_ticket_on_site, overstep, ask_for_parts,
                         (fit_part, 2), collect_old_part, return_unused_part, (customer_signs, 3),
                         (phone_clock_is_set, 2), file_expense_claim, (customer_tells_the_engineer, 3), ask_for_more),
    "depot": _actions(receive_delivery, issue_parts, book_old_part_in, dispose_of_old_part, (count_the_shelf, 2)),
    "manager": _actions((decide_at_the_office, 2), (approve_count, 2), close_ticket, settle_a_conflict,
                        compact_the_log),
}
