"""What must hold between devices and the server, whatever the network did.

Each invariant is a function of a :class:`~tests.world.World` — the server's tables,
every device, every change-set the devices sent, and the test's own record of every
write an app made and when in real time — that raises ``AssertionError``
with a readable account of the first thing wrong. The property test
(``tests/test_property_sync.py``) runs them after steps and, all of them, once every
device has synced until quiet. Here: replicas against their scopes and acknowledged
writes; the domain's own (stock, signatures, old parts) are in
``tests/domain_invariants.py``; those of one device after its own sync or push (failed
images parked, rows given back kept) in ``tests/device_invariants.py``.
"""

from __future__ import annotations

from typing import Callable

from sync.client import Replica
from sync.registry import REGISTRY

from tests.control_invariants import CONTROL_INVARIANTS
from tests.domain_invariants import (
    every_replica_stock_adds_up,
    ledger_entries_are_never_changed,
    old_part_returns_only_move_forward,
    replica_stock_adds_up,
    signatures_stay_as_signed,
    stock_is_the_sum_of_its_movements,
    ticket_status_follows_its_machine,
)
from tests.faults import Acknowledged
from tests.device_invariants import (
    every_failed_image_is_parked_and_blocks_nothing,
    failed_images_are_parked_and_block_nothing,
    rows_given_back_stay_at_a_push,
)
from tests.world import Device, ServerState, Signing, World, answered_writes, expected_view, read_server

__all__ = [
    "Device",
    "ServerState",
    "Signing",
    "World",
    "expected_view",
    "INVARIANTS",
    "SETTLED_INVARIANTS",
    "failed_images_are_parked_and_block_nothing",
    "replica_matches_its_scope",
    "replica_stock_adds_up",
    "read_server",
    "rows_given_back_stay_at_a_push",
]


def _replica_view(replica: Replica) -> dict[str, dict[str, dict]]:
    return {entity.name: replica.all(entity.name) for entity in REGISTRY}


#: the roles of head office: they hold every row
OFFICE_ROLES = {"desk", "manager"}


def _location_holders(data: dict) -> set[str]:
    """Whose a stock location is: its engineer and the crew sharing it, or its depot."""
    crew = data.get("crew") if isinstance(data.get("crew"), list) else []
    return {f"u:{p}" for p in [data.get("engineer_id"), *crew] if p} | \
        ({f"depot:{data['depot_id']}"} if data.get("depot_id") else set())


def rows_a_person_may_see(server: ServerState, device: Device) -> dict[str, set[str]] | None:
    """The ids of the rows a person's device holds once synced, by entity, as DOMAIN's
    roles say (``None``: head office, which holds every row): an engineer his tickets and
    their customers, equipment, signatures, parts used and old parts; the old parts he
    brings back, his requisitions, expense claims and the movements of his van; a depot
    keeper his depot's movements, requisitions and old parts; both the part catalog and
    every stock location. The test's own model: ``server.scopes`` and the registry's scope
    declarations are what it checks. Entities the model leaves out are not listed."""
    if device.role in OFFICE_ROLES:
        return None
    live = server.live
    me = f"u:{device.user_id}" if device.role == "engineer" else f"depot:{device.depot_id}"
    mine = {i for i, loc in live("stock_location").items() if me in _location_holders(loc)}
    if device.role == "engineer":
        tickets = {i for i, t in live("ticket").items() if t.get("assignee_id") == device.user_id}
        on_mine = lambda row: row.get("ticket_id") in tickets  # noqa: E731
        his = lambda row: row.get("engineer_id") == device.user_id  # noqa: E731
        return {
            "ticket": tickets,
            "customer": {live("ticket")[t].get("customer_id") for t in tickets} & live("customer").keys(),
            "equipment": {live("ticket")[t].get("equipment_id") for t in tickets} & live("equipment").keys(),
            "signature": {i for i, r in live("signature").items() if on_mine(r)},
            "old_part_return": {i for i, r in live("old_part_return").items() if on_mine(r) or his(r)},
            "requisition": {i for i, r in live("requisition").items() if his(r)},
            "expense_claim": {i for i, r in live("expense_claim").items() if his(r)},
            "stock_movement": {i for i, r in live("stock_movement").items()
                               if on_mine(r) or {r.get("from_location_id"), r.get("to_location_id")} & mine},
            "stock_location": set(live("stock_location")),
            "part": set(live("part")),
        }
    at_depot = lambda row: row.get("depot_location_id") in mine  # noqa: E731
    return {
        **{entity: set() for entity in ("ticket", "customer", "equipment", "signature", "expense_claim")},
        "old_part_return": {i for i, r in live("old_part_return").items() if at_depot(r)},
        "requisition": {i for i, r in live("requisition").items() if at_depot(r)},
        "stock_movement": {i for i, r in live("stock_movement").items()
                           if {r.get("from_location_id"), r.get("to_location_id")} & mine},
        "stock_location": set(live("stock_location")),
        "part": set(live("part")),
    }


def replica_holds_what_its_person_may_see(server: ServerState, device: Device) -> None:
    """The replica holds exactly the rows its person may see (``rows_a_person_may_see``)."""
    model = rows_a_person_may_see(server, device)
    entities = model.keys() if model is not None else [e.name for e in REGISTRY if e.name != "conflict"]
    problems = []
    for entity in entities:
        want = model[entity] if model is not None else set(server.live(entity))
        have = set(device.replica.all(entity))
        problems += [f"missing {entity} {i}" for i in sorted(want - have)]
        problems += [f"{entity} {i}, which a {device.role} may not see" for i in sorted(have - want)]
    assert not problems, (f"{device.name} ({device.role}) holds other rows than its person may see:\n  "
                          + "\n  ".join(problems))


def replica_matches_its_scope(server: ServerState, device: Device) -> None:
    """The replica holds exactly the rows its person may see, by the test's own model of
    the roles, and exactly the rows of its scope as the registry declares it, each field
    as the server has it."""
    replica_holds_what_its_person_may_see(server, device)
    expected = expected_view(server, device)
    held = _replica_view(device.replica)
    problems = []
    for entity in REGISTRY:
        want, have = expected[entity.name], held[entity.name]
        for row_id in sorted(want.keys() - have.keys()):
            problems.append(f"missing {entity.name} {row_id}: {want[row_id]}")
        for row_id in sorted(have.keys() - want.keys()):
            problems.append(f"extra {entity.name} {row_id}: {have[row_id]}")
        for row_id in sorted(want.keys() & have.keys()):
            for name in entity.field_names:
                if want[row_id].get(name) != have[row_id].get(name):
                    problems.append(f"{entity.name} {row_id}.{name}: server {want[row_id].get(name)!r}, "
                                    f"replica {have[row_id].get(name)!r}")
    assert not problems, f"{device.name}'s replica differs from its scope:\n  " + "\n  ".join(problems)


# -- acknowledged writes -----------------------------------------------------------------


def _node(stamp: str) -> str:
    return stamp.split(":", 2)[-1]


def _writes(world: World) -> dict[tuple[str, str, str], list[Acknowledged]]:
    """Accepted field writes by (entity, row, field)."""
    out: dict[tuple[str, str, str], list[Acknowledged]] = {}
    for ack in world.acknowledged:
        if ack.status == "rejected" or ack.mutation.op == "delete":
            continue
        for name in ack.mutation.fields:
            out.setdefault((ack.mutation.entity, ack.mutation.id, name), []).append(ack)
    return out


#: Fields whose values are drawn from a small set, so a value seen on the server does not
#: say which write put it there; only the last-writer-wins check applies to them.
REPEATING_VALUES = {("ticket", "assignee_id"), ("ticket", "category"), ("ticket", "urgency"), ("ticket", "status")}
#: Fields merged by another rule than last-writer-wins (the ticket's state machine, the
#: old part's one-way lifecycle, which ``old_part_returns_only_move_forward`` checks: a
#: step passed by a further one is not lost; an approval's status machine, which voids a
#: decision when what it covers changes: ``approval_never_covers_more_than_approved``).
NOT_LWW = {("ticket", "status"), ("old_part_return", "status"), ("requisition", "status"),
           ("expense_claim", "status")}


def last_writer_wins(world: World) -> None:
    """Every field of every live row holds the value of its latest acknowledged write.

    Left out: a field with a write stamped on a time line its device's engine lost
    (``Write.timed``): its stamp may fall before a write it had seen, and a write made
    after seeing another wins whatever the stamps say (``sync/rules/lww.py``).
    """
    untimed = {mutation_id for mutation_id, write in answered_writes(world).items() if not write.timed}
    problems = []
    for (entity, row_id, name), acks in _writes(world).items():
        row = world.server.rows[entity].get(row_id)
        if row is None or row.deleted or (entity, name) in NOT_LWW:
            continue
        if any(a.mutation.mutation_id in untimed for a in acks):
            continue
        latest = max(acks, key=lambda a: a.hlc)
        if row.data.get(name) != latest.mutation.fields[name]:
            problems.append(f"{entity} {row_id}.{name} is {row.data.get(name)!r}, but the latest write "
                            f"({latest.hlc}) was {latest.mutation.fields[name]!r}")
    assert not problems, "last writer did not win:\n  " + "\n  ".join(problems)


def _seen(later: Acknowledged, earlier: Acknowledged) -> bool:
    """Had the author of ``later`` seen ``earlier`` when it wrote?"""
    if _node(later.mutation.hlc) == _node(earlier.mutation.hlc):
        return True
    base = later.mutation.base_version
    return base is not None and base >= earlier.result.get("version", 0)


def _own(later: Acknowledged, earlier: Acknowledged, owners: dict[str, str]) -> bool:
    """Did one person make both writes, ``later`` after ``earlier`` (on any of their devices)?"""
    person = owners.get(later.device_id)
    return person is not None and person == owners.get(earlier.device_id) and later.hlc > earlier.hlc

def _replaced(later: Acknowledged, earlier: Acknowledged, owners: dict[str, str]) -> bool:
    """Did ``later`` knowingly replace ``earlier``: a later write of the same device or of
    the same person on another of theirs, or a write by another that had seen it
    (whatever the stamps say: ``sync/rules/lww.py``)?"""
    if _node(later.mutation.hlc) == _node(earlier.mutation.hlc):
        return later.hlc > earlier.hlc
    return _seen(later, earlier) or _own(later, earlier, owners)


def no_acknowledged_write_lost(world: World) -> None:
    """A value the server accepted is current, kept in a conflict record, or knowingly replaced.

    Knowingly: a later write to the field by someone who had seen it (the same device,
    or one whose ``base_version`` covers it) or by the same person who wrote it (on
    another of their devices: no conflict with anyone); or a delete of the row by
    someone who had seen it.
    """
    owners = {d.device_id: d.user_id for d in world.devices}
    kept = {}
    for record in world.server.conflicts:
        # what won is kept for head office alone when the row had left the loser (``withheld``)
        withheld = [record["withheld"]["kept_value"]] if record.get("withheld") else []
        for value in (record["kept_value"], record["lost_value"], *withheld):
            kept.setdefault((record["entity"], record["row_id"], record["field"]), []).append(value)
    deletes: dict[tuple[str, str], list[Acknowledged]] = {}
    for ack in world.acknowledged:
        if ack.mutation.op == "delete" and ack.status != "rejected":
            deletes.setdefault((ack.mutation.entity, ack.mutation.id), []).append(ack)
    problems = []
    for key, acks in _writes(world).items():
        entity, row_id, name = key
        if (entity, name) in REPEATING_VALUES or (entity, name) in NOT_LWW:
            continue
        row = world.server.rows[entity][row_id]
        for ack in acks:
            value = ack.mutation.fields[name]
            if not row.deleted and row.data.get(name) == value:
                continue
            if value in kept.get(key, []):
                continue
            if any(_replaced(other, ack, owners) for other in acks):
                continue
            if row.deleted and any(_seen(d, ack) for d in deletes.get((entity, row_id), [])):
                continue
            problems.append(f"{ack.device_id}'s {entity} {row_id}.{name} = {value!r} ({ack.status}, {ack.hlc}) "
                            f"is gone without a conflict record")
    for (entity, row_id), acks in deletes.items():
        row = world.server.rows[entity].get(row_id)
        if row is not None and not row.deleted and (entity, row_id, "_deleted") not in kept:
            problems.append(f"{acks[0].device_id}'s delete of {entity} {row_id} is undone without a conflict record")
    assert not problems, "acknowledged writes lost:\n  " + "\n  ".join(problems)


# -- real time ---------------------------------------------------------------------------


#: A clock this close to the server's is trusted as it is (docs/decisions.md, "A measured
#: clock within ten seconds is taken as right").
CLOCK_TOLERANCE_MS = 10_000


def writes_are_ordered_when_made(world: World) -> None:
    """The server orders each of today's accepted writes at the time its app made it, in
    real time, to within the clock tolerance: the error of a phone running fast, or set
    days back or hours on while offline, is measured and taken out of its stamps,
    whenever the jump came. A mutation delivered again under another change-set id (a
    re-cut change-set) is ordered where it first applied; later deliveries change
    nothing. Left out: writes on a time line their device's engine lost (``Write.timed``)."""
    made = answered_writes(world)
    first: set[str] = set()
    problems = []
    for ack in world.acknowledged:  # in the order the server applied them
        if ack.mutation.mutation_id in first:
            continue
        first.add(ack.mutation.mutation_id)
        write = made.get(ack.mutation.mutation_id)
        if write is None or not write.timed or ack.status == "rejected":
            continue
        ordered = int(ack.hlc.split(":", 1)[0])
        if abs(ordered - write.at_ms) > CLOCK_TOLERANCE_MS:
            problems.append(f"{ack.device_id}'s {write.op} {write.entity} {write.row_id}, made at {write.at_ms}, is "
                            f"ordered at {ordered} ({(ordered - write.at_ms) / 3_600_000:+.2f} h; stamped "
                            f"{ack.mutation.hlc})")
    assert not problems, "writes not ordered when they were made:\n  " + "\n  ".join(problems)


def later_writes_win_in_real_time(world: World) -> None:
    """Every field of every live row holds the value of its latest write in real time.

    Real time is the world's (the test's record of when each app wrote,
    :class:`~tests.world.Write`), not any clock's: a phone running fast, or set days back
    or hours forward while offline, neither wins nor loses a race by it. Two devices'
    writes that neither saw are decided by real time; a write made after seeing another
    came later in real time, so it wins too, whatever the clocks said. Yesterday's writes
    came before today's. Left out: a field whose two latest writes were made in the same
    instant by two devices (there is no order to keep; the steps of the test never do
    it), and a field with a write stamped on a time line its device's engine lost
    (``Write.timed``: a documented limit).
    """
    made = answered_writes(world)
    problems = []
    for (entity, row_id, name), acks in _writes(world).items():
        row = world.server.rows[entity].get(row_id)
        if row is None or row.deleted or (entity, name) in NOT_LWW:
            continue
        today = sorted(((made[a.mutation.mutation_id], a) for a in acks if a.mutation.mutation_id in made),
                       key=lambda wa: (wa[0].at_ms, wa[1].mutation.hlc))
        if not today or not all(write.timed for write, _ in today):
            continue
        (last, ack), before = today[-1], today[-2][0] if len(today) > 1 else None
        if before is not None and before.at_ms == last.at_ms and before.device_id != last.device_id:
            continue
        held, latest = row.data.get(name), ack.mutation.fields[name]
        if held != latest:
            kept = [f"{w.device_id} at {w.at_ms} (ordered at {a.hlc})" for w, a in today
                    if a.mutation.fields[name] == held]
            problems.append(f"{entity} {row_id}.{name} is {held!r} (written by {', '.join(kept) or 'nobody today'}), "
                            f"but {last.device_id} wrote {latest!r} later in real time, at {last.at_ms} "
                            f"(ordered at {ack.hlc})")
    assert not problems, "a write later in real time lost:\n  " + "\n  ".join(problems)


# -- what devices are told ---------------------------------------------------------------


def refusals_reach_their_device(world: World) -> None:
    """Every rejected mutation is parked on the device that sent it, with its reason."""
    parked = {d.device_id: {p.mutation_id: p for p in d.replica.parked()} for d in world.devices}
    problems = []
    for ack in world.acknowledged:
        if ack.status != "rejected":
            continue
        found = parked.get(ack.device_id, {}).get(ack.mutation.mutation_id)
        if found is None:
            problems.append(f"{ack.device_id}: {ack.mutation.op} {ack.mutation.entity} {ack.mutation.id} "
                            f"was refused ({ack.result.get('code')}) but is not parked")
        elif found.code != ack.result.get("code"):
            problems.append(f"{ack.device_id}: parked with {found.code}, refused with {ack.result.get('code')}")
    assert not problems, "\n  ".join(problems)


def conflicts_reach_their_device(world: World) -> None:
    """A device that pushed a write answered ``conflict`` keeps the note; a device whose
    value lost holds the conflict record (it pulls its own losses)."""
    problems = []
    devices = {d.device_id: d for d in world.devices}
    for device in world.devices:
        noted = {note.get("mutation_id") for note in device.replica.conflicts()}
        for ack in world.acknowledged:
            if ack.device_id == device.device_id and ack.status == "conflict" and ack.mutation.mutation_id not in noted:
                problems.append(f"{device.name} was answered conflict on {ack.mutation.entity} {ack.mutation.id} "
                                f"but kept no note of it")
    for record in world.server.conflicts:
        loser = devices.get(record.get("device_id"))
        if loser is not None and loser.replica.get("conflict", record["id"]) is None:
            problems.append(f"{loser.name} lost {record['entity']} {record['row_id']}.{record['field']} "
                            f"= {record['lost_value']!r} and never received the conflict record")
    assert not problems, "conflicts not told:\n  " + "\n  ".join(problems)


# -- who may write what -------------------------------------------------------------------

_FIELD_WORK = ("diagnosis", "diagnosis_listen", "diagnosis_look", "diagnosis_check", "actions", "cause", "result",
               "arrived_at", "departed_at", "returned_at", "completed_at", "run_hours_reading", "mileage_reading",
               "category_note", "carried_back", "receipt_number", "repair_card")
#: Who may write each field that not everyone may (DOMAIN, "Roles"): the desk judges
#: urgency, assigns, sets deadlines and cancels; the engineer records what he heard,
#: found and did; the depot keeper books old parts in and disposes of them. The test's
#: own table: the registry's owners and ``server/authz.py`` are what it checks.
WRITTEN_ONLY_BY: dict[tuple[str, str], set[str]] = {
    **{("ticket", name): OFFICE_ROLES for name in ("urgency", "assignee_id", "deadline", "cancel_reason", "zone",
                                                   "contract_id", "closed_at")},
    **{("ticket", name): {"engineer"} for name in _FIELD_WORK},
    ("equipment", "contract_id"): OFFICE_ROLES,
    ("old_part_return", "collected_at"): {"engineer"},
    **{("old_part_return", name): {"depot"} for name in ("received_at", "received_by", "disposition", "disposed_at")},
    **{("expense_claim", name): {"engineer"} for name in ("amount", "site_days", "description", "receipts")},
    ("expense_claim", "decision_note"): OFFICE_ROLES,
}
#: fields only the server writes (numbers, flags, who decided, totals it works out)
WRITTEN_BY_THE_SERVER = {("ticket", "number"), ("ticket", "needs_review"), ("signature", "stale"),
                         ("requisition", "approved_by"), ("requisition", "issued"), ("expense_claim", "decided_by"),
                         ("expense_claim", "allowance"), ("stock_location", "counted_as_of")}
#: who may delete: tickets, customers and equipment head office; signatures and ledger
#: entries nobody
DELETED_ONLY_BY = {"ticket": OFFICE_ROLES, "customer": OFFICE_ROLES, "equipment": OFFICE_ROLES,
                   "signature": set(), "stock_movement": set(), "work_log": set()}
#: what a depot keeper never writes: the jobs and what hangs on them
NOT_THE_DEPOTS = {"ticket", "customer", "equipment", "signature", "expense_claim"}


def _may_write(role: str, user_id: str, mutation) -> list[str]:
    """What of ``mutation`` a ``role`` may not do, by the table above."""
    entity = mutation.entity
    if mutation.op == "delete":
        return [] if role in DELETED_ONLY_BY.get(entity, OFFICE_ROLES | {role}) else [f"delete {entity}"]
    if role == "depot" and entity in NOT_THE_DEPOTS:
        return [f"{mutation.op} {entity}"]
    wrong = []
    for name, value in mutation.fields.items():
        if (entity, name) in WRITTEN_BY_THE_SERVER:
            wrong.append(f"{entity}.{name}")
        elif role not in WRITTEN_ONLY_BY.get((entity, name), {role}):
            # an engineer opening a ticket on site takes it himself: his own id, at its birth
            if not (mutation.op == "insert" and (entity, name) == ("ticket", "assignee_id") and value == user_id):
                wrong.append(f"{entity}.{name}")
    return wrong


def writes_a_role_may_not_make_are_never_stored(world: World) -> None:
    """No write a person's role may not make is taken: a field another role writes, a
    field only the server writes, a delete of what the role may not delete, a depot
    keeper's write to a job (a model of its own, ``WRITTEN_ONLY_BY``). What is taken is
    what rows hold (``last_writer_wins``): no value a role may not write reaches them."""
    people = {d.device_id: (d.role, d.user_id) for d in world.devices}
    problems = []
    for ack in world.acknowledged:
        if ack.status == "rejected" or ack.device_id not in people:
            continue
        role, user_id = people[ack.device_id]
        wrong = _may_write(role, user_id, ack.mutation)
        if wrong:
            problems.append(f"{ack.device_id} ({role}) wrote {', '.join(wrong)} of {ack.mutation.entity} "
                            f"{ack.mutation.id}, and the server took it ({ack.status})")
    assert not problems, "writes its role may not make were stored:\n  " + "\n  ".join(problems)


def every_replica_matches_its_scope(world: World) -> None:
    for device in world.devices:
        replica_matches_its_scope(world.server, device)


def outboxes_are_empty(world: World) -> None:
    pending = {d.name: d.replica.pending() for d in world.devices if d.replica.pending()}
    assert not pending, f"devices still hold unsent work after settling: {pending}"


def a_devices_writes_keep_their_order(world: World) -> None:
    """The server orders each device's accepted writes as the device made them, also when
    it re-stamps a clock running too far ahead: a device's later write never ties with or
    falls before its earlier one (its latest edit would lose to its own older value, a
    signature to the completion it follows)."""
    by_device: dict[str, dict[str, Acknowledged]] = {}
    for ack in world.acknowledged:
        if ack.status != "rejected":
            by_device.setdefault(ack.device_id, {}).setdefault(ack.mutation.mutation_id, ack)
    problems = []
    for device_id, acks in by_device.items():
        made = sorted(acks.values(), key=lambda a: a.mutation.hlc)
        for earlier, later in zip(made, made[1:]):
            if later.hlc <= earlier.hlc:
                problems.append(f"{device_id}'s {later.mutation.op} {later.mutation.entity} {later.mutation.id} "
                                f"(made {later.mutation.hlc}) is ordered at {later.hlc}, not after its "
                                f"{earlier.mutation.op} {earlier.mutation.entity} {earlier.mutation.id} "
                                f"(made {earlier.mutation.hlc}, ordered at {earlier.hlc})")
    assert not problems, "writes out of order:\n  " + "\n  ".join(problems)


#: Hold at any moment: they read what the server committed, and of a device only what
#: it holds with nothing of its own left to send.
INVARIANTS: tuple[Callable[[World], None], ...] = (
    last_writer_wins,
    later_writes_win_in_real_time,
    writes_are_ordered_when_made,
    no_acknowledged_write_lost,
    a_devices_writes_keep_their_order,
    stock_is_the_sum_of_its_movements,
    signatures_stay_as_signed,
    old_part_returns_only_move_forward,
    ticket_status_follows_its_machine,
    ledger_entries_are_never_changed,
    writes_a_role_may_not_make_are_never_stored,
    *CONTROL_INVARIANTS,
)

#: Hold once every device has synced with nothing left to send or fetch.
SETTLED_INVARIANTS: tuple[Callable[[World], None], ...] = (
    *INVARIANTS,
    outboxes_are_empty,
    every_replica_matches_its_scope,
    every_replica_stock_adds_up,
    refusals_reach_their_device,
    conflicts_reach_their_device,
    every_failed_image_is_parked_and_blocks_nothing,
)
