"""The people of the property test's day and the work each role does.

The work is a table (``ROLE_ACTIONS``): an action draws what it needs from the device's
own replica and writes plain SQL there, as the app would. The machine that runs them,
with its network faults and invariants, is ``tests/test_property_sync.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from hypothesis import strategies as st

from sync.rules.ticket import RANK
from tests.domain_invariants import expected_report_hash
from tests.world import Device, Image, Signing

if TYPE_CHECKING:
    from tests.test_property_sync import FieldWork


#: name → role; one engineer's phone runs ten minutes fast (the server corrects his
#: stamps by the skew it measures at each push).
PEOPLE = {"desk": "desk", "wang": "engineer", "chen": "engineer", "liu": "engineer", "zhao": "depot"}
ENGINEERS = ("wang", "chen", "liu")
#: device → whose it is: everyone has a phone (named after them); Wang also works on a
#: tablet, so one person's own devices race on the same rows.
DEVICES = {**{name: name for name in PEOPLE}, "wang_tablet": "wang"}
FAST_CLOCK = {"liu": 10 * 60_000}
HOUR, DAY = 3_600_000, 86_400_000
#: how a phone's clock is set while its engineer works offline, by hand or by a wrong
#: network time; or set right again (``None``)
CLOCK_SETTINGS = {"back three days": -3 * DAY, "back five hours": -5 * HOUR, "on two hours": 2 * HOUR,
                  "on a day": DAY, "set right": None}
#: the test server's blob size limit (``BLOB_MAX_BYTES``): small, so that a photo taken
#: at full size is a few kilobytes
BLOB_LIMIT = 4096
#: the stock room every day starts with (``_yesterday``): two parts in the catalog, the
#: depot Zhao keeps, and each engineer's van
DEPOT_ID = "depot-main"
DEPOT = "loc-depot"
VAN_OF = {f"u-{name}": f"loc-van-{name}" for name in ENGINEERS}
#: a drive belt comes back to the depot as an old part once replaced; a fuse does not
RETURNABLE_PART, PART = "part-belt", "part-fuse"
#: the company of the day lets its desk approve requisitions (the default is the manager)
DEPLOYMENT = {"approvers": {"requisition": ["desk", "manager"]}}


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
    return data.draw(st.sampled_from([RETURNABLE_PART, PART]), label="part")


def _qty(data: st.DataObject, most: int) -> float:
    return float(data.draw(st.integers(1, most), label="qty"))


ASSIGNEE_IDS = (*(f"u-{e}" for e in ENGINEERS), None)
ASSIGNEES = st.sampled_from(ASSIGNEE_IDS)


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


def move_status_in_the_field(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """An engineer accepts, sets off, arrives, completes."""
    ticket = _pick(data, device, "ticket")
    if ticket:
        status = data.draw(st.sampled_from(["on_site", "accepted", "completed", "travelling"]), label="status")
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
        device.replica.update("requisition", requisition, status="approved")
        return
    engineer = data.draw(st.sampled_from(sorted(VAN_OF)), label="for")
    device.replica.insert("requisition", engineer_id=engineer, depot_location_id=DEPOT, van_location_id=VAN_OF[engineer],
                          lines=[{"part_id": _part(data), "qty": _qty(data, 3)}], reason=m.fresh("reason"))


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
                          lines=[{"part_id": _part(data), "qty": _qty(data, 3)}], reason=m.fresh("reason"))


def fit_part(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """An engineer fits a part from his van on a ticket; the old belt it replaces is
    expected back at the depot. Sometimes he miscounted and edits the entry instead of
    adding a correcting one: refused, the ledger is append-only."""
    ticket = _pick(data, device, "ticket")
    if ticket is None:
        return
    part, qty = _part(data), _qty(data, 2)
    movement = device.replica.insert("stock_movement", kind="consume", part_id=part, qty=qty, condition="new",
                                     from_location_id=VAN_OF[device.user_id], ticket_id=ticket,
                                     held_by=device.user_id, occurred_at=m.fresh_value("occurred_at"))
    if part == RETURNABLE_PART:
        device.replica.insert("old_part_return", ticket_id=ticket, part_id=part, qty=qty, engineer_id=device.user_id,
                              depot_location_id=DEPOT, status="expected")
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
    device.replica.insert("stock_movement", kind="transfer", part_id=_part(data), qty=1.0, condition="new",
                          from_location_id=VAN_OF[device.user_id], to_location_id=DEPOT, held_by=device.user_id,
                          occurred_at=m.fresh_value("occurred_at"))


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
        replica.update("ticket", ticket, status="completed", result=m.fresh("result"),
                       completed_at=m.fresh_value("completed_at"))
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
    device.replica.insert("stock_movement", kind="receive", part_id=_part(data), qty=_qty(data, 9), condition="new",
                          to_location_id=DEPOT, held_by=device.user_id, occurred_at=m.fresh_value("occurred_at"))


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


ROLE_ACTIONS: dict[str, tuple[Action, ...]] = {
    "desk": _actions(open_ticket, (edit_as_office, 2), (reassign, 2), (reassign_and_return, 3), move_status_as_office,
                     edit_customer, edit_equipment, delete_row, approve_requisition, (customer_calls_the_desk, 3)),
    "engineer": _actions((record_work, 3), move_status_in_the_field, edit_customer, edit_equipment,
                         register_equipment_found_on_site, open_ticket_on_site, overstep, ask_for_parts,
                         (fit_part, 2), collect_old_part, return_unused_part, (customer_signs, 3),
                         (phone_clock_is_set, 2), file_expense_claim, (customer_tells_the_engineer, 3)),
    "depot": _actions(receive_delivery, issue_parts, book_old_part_in, dispose_of_old_part),
}
#: the devices of the desk at head office and the keeper at the depot, and those in the field
INDOOR_WORKERS = sorted(device for device, person in DEVICES.items() if PEOPLE[person] in ("desk", "depot"))
FIELD_WORKERS = sorted(device for device, person in DEVICES.items() if PEOPLE[person] == "engineer")
