"""Random field work on many devices, synced in random order through a network that
loses requests and answers, delivers twice, kills devices between the server's apply
and their acknowledge, and restarts the server — and nothing acknowledged is lost,
every refusal reaches its author, every replica ends equal to its scope.

The work each role may do is a table (``ROLE_ACTIONS``): an action draws what it needs
from the device's own replica and writes plain SQL there, as the app would. Besides
tickets, customers and equipment, the parts pass through it: engineers ask for parts,
fit them from their vans and bring the old ones back, the desk approves requisitions,
a depot keeper receives deliveries, issues parts to vans, books old parts in and
disposes of them, and customers sign service reports. Its invariants are in
``tests/domain_invariants.py``: stock is the sum of its movements, a signature stays as it was
captured and bound to the report it signed, old-part returns only move forward.

``FIELDSYNC_SOAK=1`` runs the soak sizes (``make soak``), seeded by
``FIELDSYNC_SOAK_SEED`` or at random; the seed and the count are printed.
"""

from __future__ import annotations

import atexit
import functools
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import httpx
import pytest
from hypothesis import HealthCheck, note, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from server.auth import add_device, add_user
from sync.client import Replica
from sync.errors import TransportError
from sync.hlc import now_ms
from sync.report import report_hash
from sync.rules.ticket import RANK
from sync.transport import HttpTransport
from tests.conftest import PG_URL
from tests.faults import (
    CALM,
    CI_FAULTS,
    SOAK_FAULTS,
    DeviceCrashedError,
    FaultPlan,
    FaultyNetwork,
    PushLedger,
    RestartableServer,
    scratch_dir,
)
from tests.invariants import (
    INVARIANTS,
    SETTLED_INVARIANTS,
    Device,
    Signing,
    World,
    read_server,
    replica_matches_its_scope,
    replica_stock_adds_up,
)

pytestmark = pytest.mark.skipif(
    bool(PG_URL), reason="restarts the server on its own SQLite file; the sync core it drives is the same on PostgreSQL"
)

SOAK = os.environ.get("FIELDSYNC_SOAK") == "1"
EXAMPLES = 5000 if SOAK else 300
#: Soak runs are a little longer than CI's: 5,000 of 20 steps take about an hour on
#: the 2-core machine; 40 steps would take three.
STEPS = 20 if SOAK else 15
#: rounds of everyone-syncs with faults off before the devices must have converged
SETTLE_ROUNDS = 6

#: name → role; one engineer's phone runs ten minutes fast (the server re-stamps it).
PEOPLE = {"desk": "desk", "wang": "engineer", "chen": "engineer", "liu": "engineer", "zhao": "depot"}
ENGINEERS = ("wang", "chen", "liu")
FAST_CLOCK = {"liu": 10 * 60_000}
#: the stock room every day starts with (``_yesterday``): two parts in the catalog, the
#: depot Zhao keeps, and each engineer's van
DEPOT_ID = "depot-main"
DEPOT = "loc-depot"
VAN_OF = {f"u-{name}": f"loc-van-{name}" for name in ENGINEERS}
#: a drive belt comes back to the depot as an old part once replaced; a fuse does not
RETURNABLE_PART, PART = "part-belt", "part-fuse"


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


_ASSIGNEES = st.sampled_from([*(f"u-{e}" for e in ENGINEERS), None])


def _assignee(data: st.DataObject) -> str | None:
    return data.draw(_ASSIGNEES, label="assignee")


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
    """The desk approves an engineer's requisition (only then does the depot issue its
    parts), or raises one itself, approved, for the parts an engineer's ticket needs."""
    requisition = _pick(data, device, "requisition") if data.draw(st.booleans(), label="approves") else None
    if requisition:
        device.replica.update("requisition", requisition, approved=True, approved_by=device.user_id)
        return
    engineer = data.draw(st.sampled_from(sorted(VAN_OF)), label="for")
    device.replica.insert("requisition", engineer_id=engineer, depot_location_id=DEPOT, van_location_id=VAN_OF[engineer],
                          lines=[{"part_id": _part(data), "qty": _qty(data, 3)}], reason=m.fresh("reason"),
                          approved=True, approved_by=device.user_id)


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
    signature never changes), or leaves it.

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
    captured = {"ticket_id": ticket, "blob_sha256": replica.put_blob(m.fresh("strokes").encode()),
                "signer_name": m.fresh("signer"), "signed_at": m.fresh_value("signed_at"),
                "report_hash": replica.report_hash(ticket)}
    signature = replica.insert("signature", **captured)
    m.signings[signature] = Signing(captured, report_hash(ticket, seen, consumed))
    then = data.draw(st.sampled_from(["marks it signed", "corrects the name", "leaves it"]), label="then")
    if then == "marks it signed":
        replica.update("ticket", ticket, status="signed")
    elif then == "corrects the name":
        replica.update("signature", signature, signer_name=m.fresh("signer"))


def receive_delivery(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """A supplier's delivery arrives at the depot (a receiving note)."""
    device.replica.insert("stock_movement", kind="receive", part_id=_part(data), qty=_qty(data, 9), condition="new",
                          to_location_id=DEPOT, held_by=device.user_id, occurred_at=m.fresh_value("occurred_at"))


def issue_parts(m: "FieldWork", device: Device, data: st.DataObject) -> None:
    """The depot issues a requisition's parts to the engineer's van (refused unless the
    desk approved it) and marks it issued."""
    requisition = _pick(data, device, "requisition", "issued IS NOT 1")
    if requisition is None:
        return
    asked = device.replica.get("requisition", requisition)
    for line in asked["lines"] or []:
        device.replica.insert("stock_movement", kind="issue", part_id=line["part_id"], qty=float(line["qty"]),
                              condition="new", from_location_id=DEPOT, to_location_id=asked["van_location_id"],
                              requisition_id=requisition, held_by=asked["engineer_id"],
                              occurred_at=m.fresh_value("occurred_at"))
    device.replica.update("requisition", requisition, issued=True)


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
    "desk": _actions(open_ticket, (edit_as_office, 2), (reassign, 2), move_status_as_office, edit_customer,
                     edit_equipment, delete_row, approve_requisition),
    "engineer": _actions((record_work, 3), move_status_in_the_field, edit_customer, edit_equipment,
                         register_equipment_found_on_site, open_ticket_on_site, overstep, ask_for_parts,
                         (fit_part, 2), collect_old_part, return_unused_part, (customer_signs, 3)),
    "depot": _actions(receive_delivery, issue_parts, book_old_part_in, dispose_of_old_part),
}
#: the desk at head office and the keeper at the depot
INDOOR_WORKERS = sorted(name for name, role in PEOPLE.items() if role in ("desk", "depot"))
FIELD_WORKERS = sorted(name for name, role in PEOPLE.items() if role == "engineer")


# -- the machine ------------------------------------------------------------------------


@dataclass(frozen=True)
class Morning:
    """Where each example's day starts: the server's database and every replica, in
    ``where``, and the change-sets that put yesterday's work there (``sent``)."""

    where: Path
    sent: dict[str, dict]


@functools.cache
def start_of_day() -> Morning:
    """The server's database with its people, the stock room and yesterday's work, and
    each person's replica synced with it, made once per run: every example starts from
    copies instead of creating two dozen schemas and syncing them five times."""
    where = scratch_dir("fieldsync-property-blank-")
    atexit.register(shutil.rmtree, where, True)
    server = RestartableServer(f"sqlite:///{where / 'server.db'}")
    with server.engine.begin() as conn:
        for name, role in PEOPLE.items():
            add_user(conn, name, role, user_id=f"u-{name}", depot_id=DEPOT_ID if role == "depot" else None)
            add_device(conn, f"u-{name}", f"{name}'s phone", device_id=f"d-{name}", token=f"token-{name}")
    ledger = PushLedger()
    network = FaultyNetwork(server, random.Random(0), CALM, ledger)
    replicas = {name: Replica(where / f"{name}.replica", f"d-{name}", HttpTransport(
        httpx.Client(transport=network, base_url="http://fieldsync"), f"token-{name}")) for name in PEOPLE}
    _yesterday(replicas)
    for replica in replicas.values():
        replica.sync()
        replica.transport.client.close()
        replica.close()
    server.close()
    return Morning(where, ledger.sent)


def _yesterday(replicas: dict[str, Replica]) -> None:
    """What the day inherits, so that parts and old parts move from the first step: the
    catalog, the depot and the vans; a delivery on the depot's shelves; and for each
    engineer a job under way with a belt fitted (the old one expected back) and an
    approved requisition the depot has not issued yet."""
    desk, depot = replicas["desk"], replicas["zhao"]
    desk.insert("part", id=RETURNABLE_PART, code="BLT-200", name="Drive belt", unit="pc", returnable=True, price=80.0)
    desk.insert("part", id=PART, code="FUS-10", name="Fuse 10 A", unit="pc", returnable=False, price=2.0)
    desk.insert("stock_location", id=DEPOT, kind="depot", name="Main depot", depot_id=DEPOT_ID)
    jobs = {}
    for user_id, van in VAN_OF.items():
        desk.insert("stock_location", id=van, kind="van", name=f"{user_id}'s van", engineer_id=user_id)
        customer = desk.insert("customer", name=f"{user_id}'s customer", zone="ring2", phone=f"tel-{user_id}")
        equipment = desk.insert("equipment", customer_id=customer, model="HX-200")
        jobs[user_id] = desk.insert("ticket", customer_id=customer, equipment_id=equipment, status="dispatched",
                                    urgency="normal", fault_description=f"{user_id}'s fault", channel="phone",
                                    assignee_id=user_id)
        desk.insert("requisition", engineer_id=user_id, ticket_id=jobs[user_id], depot_location_id=DEPOT,
                    van_location_id=van, lines=[{"part_id": PART, "qty": 2.0}], reason="stock for the week",
                    approved=True, approved_by="u-desk")
    desk.sync()
    for part in (RETURNABLE_PART, PART):
        depot.insert("stock_movement", kind="receive", part_id=part, qty=10.0, condition="new", to_location_id=DEPOT,
                     held_by="u-zhao")
    depot.sync()
    for name in ENGINEERS:
        engineer, user_id = replicas[name], f"u-{name}"
        engineer.sync()
        engineer.update("ticket", jobs[user_id], status="on_site")
        engineer.insert("stock_movement", kind="consume", part_id=RETURNABLE_PART, qty=1.0, condition="new",
                        from_location_id=VAN_OF[user_id], ticket_id=jobs[user_id], held_by=user_id)
        engineer.insert("old_part_return", ticket_id=jobs[user_id], part_id=RETURNABLE_PART, qty=1.0,
                        engineer_id=user_id, depot_location_id=DEPOT, status="expected")
        engineer.sync()


class FieldWork(RuleBasedStateMachine):
    faults: FaultPlan = SOAK_FAULTS if SOAK else CI_FAULTS

    def __init__(self):
        super().__init__()
        self.dir = scratch_dir("fieldsync-property-")
        morning = start_of_day()
        for name in ("server.db", *(f"{n}.replica" for n in PEOPLE)):
            shutil.copy(morning.where / name, self.dir / name)
        self.server = RestartableServer(f"sqlite:///{self.dir / 'server.db'}")
        self.ledger = PushLedger(dict(morning.sent))
        self.events: list[str] = []
        self.serial = 0
        self.devices: dict[str, Device] = {}
        #: every signature captured, as the device captured it (see customer_signs)
        self.signings: dict[str, Signing] = {}

    # values nobody else writes, so a lost one can be traced
    def fresh(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def fresh_value(self, name: str):
        self.serial += 1
        if name in ("run_hours", "mileage_km", "run_hours_reading"):
            return self.serial + 0.5
        if name.endswith("_at"):
            return f"2026-11-{1 + self.serial // 1440 % 28:02d}T{self.serial // 60 % 24:02d}:{self.serial % 60:02d}:00+08:00"
        return f"{name}-{self.serial}"

    def _open(self, name: str) -> Replica:
        skew = FAST_CLOCK.get(name, 0)
        client = httpx.Client(transport=self.network, base_url="http://fieldsync")
        transport = HttpTransport(client, f"token-{name}", attempts=2, sleep=lambda _s: None)
        return Replica(self.dir / f"{name}.replica", f"d-{name}", transport, wall=lambda: now_ms() + skew,
                       page_size=20)

    @initialize(rng=st.randoms(use_true_random=True), assignees=st.lists(_ASSIGNEES, min_size=1, max_size=4),
                signal=st.sampled_from(["patchy", "good"]))
    def morning_dispatch(self, rng: random.Random, assignees: list[str | None], signal: str) -> None:
        """Devices on, the desk opens the day's tickets, the desk and the engineers sync
        over a calm network (the day's tickets are none of the depot keeper's business:
        his replica starts as yesterday left it).

        The day's signal is patchy (the fault plan) or good: on a good day every sync
        goes through, so each edit travels alone and races are decided one by one.
        """
        self.network = FaultyNetwork(self.server, rng, CALM, self.ledger, self.events)
        # Hypothesis draws the first entries of a list far more often than the last, so
        # each example gets the actions in its own order: every action is the favourite
        # of some examples, and an example that favours a few makes them collide (swarm
        # testing).
        self.actions = {role: tuple(rng.sample(actions, len(actions))) for role, actions in ROLE_ACTIONS.items()}
        for name, role in PEOPLE.items():
            self.devices[name] = Device(name, f"u-{name}", role, f"d-{name}", self._open(name),
                                        DEPOT_ID if role == "depot" else None)
        desk = self.devices["desk"].replica
        for assignee in assignees:
            customer = desk.insert("customer", name=self.fresh("customer"), zone="ring2", phone=self.fresh("tel"))
            equipment = desk.insert("equipment", customer_id=customer, model=self.fresh("model"))
            desk.insert("ticket", customer_id=customer, equipment_id=equipment, status="dispatched",
                        urgency="normal", fault_description=self.fresh("fault"), assignee_id=assignee)
        for device in self.devices.values():
            if device.role != "depot":
                device.replica.sync()
        self.network.plan = self.faults if signal == "patchy" else CALM

    def _crash(self, device: Device) -> None:
        """The device dies and its app starts again on the same replica file."""
        self._close(device)
        device.replica = self._open(device.name)

    @staticmethod
    def _close(device: Device) -> None:
        device.replica.close()
        device.replica.transport.client.close()

    def world(self) -> World:
        return World(read_server(self.server.engine), list(self.devices.values()),
                     self.ledger.acknowledged(self.server.engine), self.signings)

    @staticmethod
    def _next_millisecond() -> None:
        """Each step at a millisecond of its own: clocks then order writes as the steps did.

        Two writes in one millisecond tie on the wall clock and are ordered by counter and
        device id, which would vary from run to run; Hypothesis must be able to replay a run.
        """
        time.sleep(0.0012)

    def _work(self, name: str, data: st.DataObject) -> None:
        self._next_millisecond()
        device = self.devices[name]
        action = data.draw(st.sampled_from(self.actions[device.role]), label="does")
        action.run(self, device, data)

    @rule(data=st.data())
    def indoor_work(self, data: st.DataObject) -> None:
        self._work(data.draw(st.sampled_from(INDOOR_WORKERS), label="who"), data)

    @rule(data=st.data())
    def field_work(self, data: st.DataObject) -> None:
        """Someone in the field works; the busiest (most tickets) is drawn most often."""
        busiest = sorted(FIELD_WORKERS, key=lambda name: -len(self.devices[name].replica.all("ticket")))
        self._work(data.draw(st.sampled_from(busiest), label="who"), data)

    @rule(name=st.sampled_from(sorted(PEOPLE)), pull_only=st.booleans())
    def sync(self, name: str, pull_only: bool) -> None:
        """A whole sync (then the replica must equal its scope), or a pull alone while
        local edits wait (they must survive it)."""
        self._next_millisecond()
        device = self.devices[name]
        try:
            if pull_only:
                device.replica.pull()
                return
            device.replica.sync()
        except TransportError as exc:
            self.events.append(f"{name}: sync failed: {exc.message}")
            return
        except DeviceCrashedError:
            self.events.append(f"{name}: crashed before recording an answer")
            self._crash(device)
            return
        world = self.world()
        replica_matches_its_scope(world.server, device)
        replica_stock_adds_up(world, device)
        for invariant in INVARIANTS:
            invariant(world)

    def settle(self) -> None:
        """Faults off; everyone syncs until a whole round moves nothing."""
        self.network.plan = CALM
        for _ in range(SETTLE_ROUNDS):
            moved = 0
            for device in self.devices.values():
                report = device.replica.sync()
                moved += report.pushed + report.rejected + report.pulled
            if not moved:
                return
        raise AssertionError(f"devices still exchanging changes after {SETTLE_ROUNDS} calm rounds")

    def teardown(self) -> None:
        try:
            # Only a run whose steps all passed is settled and checked whole; a failing
            # step's own error is the one to report.
            if sys.exc_info()[0] is None and self.devices:
                note("faults: " + "; ".join(self.events[-40:]))
                self.settle()
                world = self.world()
                for invariant in SETTLED_INVARIANTS:
                    invariant(world)
        finally:
            for device in self.devices.values():
                self._close(device)
            self.server.close()
            shutil.rmtree(self.dir, ignore_errors=True)


def machine_settings(examples: int) -> settings:
    return settings(max_examples=examples, stateful_step_count=STEPS, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.soak
def test_devices_working_offline_through_a_faulty_network_converge_and_lose_nothing_acknowledged(capsys):
    machine = FieldWork
    if SOAK:
        chosen = int(os.environ.get("FIELDSYNC_SOAK_SEED") or random.randrange(2**32))
        with capsys.disabled():
            print(f"\nproperty soak: seed {chosen}, {EXAMPLES} examples of up to {STEPS} steps "
                  f"(FIELDSYNC_SOAK_SEED={chosen} repeats it)")
        machine = seed(chosen)(FieldWork)
    run_state_machine_as_test(machine, settings=machine_settings(EXAMPLES))
