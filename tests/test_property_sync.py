"""Random field work on many devices, synced in random order through a network that
loses requests and answers, delivers twice, kills devices between the server's apply
and their acknowledge, and restarts the server — and nothing acknowledged is lost,
every refusal reaches its author, every replica ends equal to its scope.

The work each role may do is a table (``ROLE_ACTIONS``): an action draws what it needs
from the device's own replica and writes plain SQL there, as the app would. The
domain's entities join the table with their actions (a depot keeper books a return, an
engineer draws a part), and their invariants join ``tests/invariants.py``.

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
from tests.invariants import INVARIANTS, SETTLED_INVARIANTS, Device, World, read_server, replica_matches_its_scope

pytestmark = pytest.mark.skipif(
    bool(PG_URL), reason="restarts the server on its own SQLite file; the sync core it drives is the same on PostgreSQL"
)

SOAK = os.environ.get("FIELDSYNC_SOAK") == "1"
EXAMPLES = 5000 if SOAK else 300
STEPS = 40 if SOAK else 15
#: rounds of everyone-syncs with faults off before the devices must have converged
SETTLE_ROUNDS = 6

#: name → role; one engineer's phone runs ten minutes fast (the server re-stamps it).
#: A depot keeper joins when the depot's actions do (ROLE_ACTIONS["depot"]).
PEOPLE = {"desk": "desk", "wang": "engineer", "chen": "engineer", "liu": "engineer"}
ENGINEERS = ("wang", "chen", "liu")
FAST_CLOCK = {"liu": 10 * 60_000}


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


def _pick(data: st.DataObject, device: Device, entity: str) -> str | None:
    """One of the device's rows, in the order they reached it: ids are partly random, so
    sorting by id would hand a replayed run a different row for the same choice."""
    ids = [r[0] for r in device.replica.db.execute(f'SELECT id FROM "{entity}" ORDER BY rowid')]
    return data.draw(st.sampled_from(ids), label=entity) if ids else None


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


ROLE_ACTIONS: dict[str, tuple[Action, ...]] = {
    "desk": _actions(open_ticket, (edit_as_office, 2), (reassign, 2), move_status_as_office, edit_customer,
                     edit_equipment, delete_row),
    "engineer": _actions((record_work, 3), move_status_in_the_field, edit_customer, edit_equipment,
                         register_equipment_found_on_site, open_ticket_on_site, overstep),
    # a depot keeper's work (receiving parts, issuing them against requisitions, booking
    # old parts in) joins with the stock and return invariants
    "depot": (),
}
OFFICE_WORKERS = sorted(name for name, role in PEOPLE.items() if role == "desk")
FIELD_WORKERS = sorted(name for name, role in PEOPLE.items() if role != "desk" and ROLE_ACTIONS[role])


# -- the machine ------------------------------------------------------------------------


@functools.cache
def _blank_day() -> Path:
    """The server's database with its people, and each person's empty replica, made once
    per run: every example starts from copies instead of creating two dozen schemas."""
    where = scratch_dir("fieldsync-property-blank-")
    atexit.register(shutil.rmtree, where, True)
    server = RestartableServer(f"sqlite:///{where / 'server.db'}")
    with server.engine.begin() as conn:
        for name, role in PEOPLE.items():
            add_user(conn, name, role, user_id=f"u-{name}", depot_id="depot-main" if role == "depot" else None)
            add_device(conn, f"u-{name}", f"{name}'s phone", device_id=f"d-{name}", token=f"token-{name}")
    server.close()
    for name in PEOPLE:
        Replica(where / f"{name}.replica", f"d-{name}").close()
    return where


class FieldWork(RuleBasedStateMachine):
    faults: FaultPlan = SOAK_FAULTS if SOAK else CI_FAULTS

    def __init__(self):
        super().__init__()
        self.dir = scratch_dir("fieldsync-property-")
        blank = _blank_day()
        for name in ("server.db", *(f"{n}.replica" for n in PEOPLE)):
            shutil.copy(blank / name, self.dir / name)
        self.server = RestartableServer(f"sqlite:///{self.dir / 'server.db'}")
        self.ledger = PushLedger()
        self.events: list[str] = []
        self.serial = 0
        self.devices: dict[str, Device] = {}

    # values nobody else writes, so a lost one can be traced
    def fresh(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def fresh_value(self, name: str):
        self.serial += 1
        if name in ("run_hours", "mileage_km", "run_hours_reading"):
            return self.serial + 0.5
        if name == "arrived_at":
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
        """Devices on, the desk opens the day's tickets, everyone syncs over a calm network.

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
                                        "depot-main" if role == "depot" else None)
        desk = self.devices["desk"].replica
        for assignee in assignees:
            customer = desk.insert("customer", name=self.fresh("customer"), zone="ring2", phone=self.fresh("tel"))
            equipment = desk.insert("equipment", customer_id=customer, model=self.fresh("model"))
            desk.insert("ticket", customer_id=customer, equipment_id=equipment, status="dispatched",
                        urgency="normal", fault_description=self.fresh("fault"), assignee_id=assignee)
        for device in self.devices.values():
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
                     self.ledger.acknowledged(self.server.engine))

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
    def office_work(self, data: st.DataObject) -> None:
        self._work(data.draw(st.sampled_from(OFFICE_WORKERS), label="who"), data)

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
