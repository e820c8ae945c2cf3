"""What must hold between devices and the server, whatever the network did.

Each invariant is a function of a :class:`World` — the server's tables, every device,
and every change-set the devices sent — that raises ``AssertionError`` with a readable
account of the first thing wrong. The property test (``tests/test_property_sync.py``)
runs them after steps and, all of them, once every device has synced until quiet.

The rows a person must hold are worked out from the server's tables and the registry's
scope declarations, not from the log: the log is what is under test. Likewise the
field-service domain's figures are worked out afresh: stock from the movements the
devices sent (not from the server's sums), a signature's report hash from the ticket as
the device showed it when the customer signed (not from what the device stored).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Callable, Iterable

import sqlalchemy as sa

from server.domain import stock
from server.rows import load, public_data
from server.scopes import reader_keys
from server.tables import blobs, entity_table
from sync.client import Replica
from sync.entities import RETURN_STEPS
from sync.registry import REGISTRY, Catalog, Owner, ReferencedBy, Via
from sync.report import report_hash

from tests.faults import Acknowledged

__all__ = [
    "Device",
    "ServerState",
    "Signing",
    "World",
    "expected_view",
    "INVARIANTS",
    "SETTLED_INVARIANTS",
    "replica_matches_its_scope",
    "replica_stock_adds_up",
    "read_server",
]


@dataclass
class Device:
    """One person's device: who holds it and its replica (reopened after a crash)."""

    name: str
    user_id: str
    role: str
    device_id: str
    replica: Replica
    depot_id: str | None = None


@dataclass
class ServerRow:
    data: dict
    deleted: bool
    version: int


#: stock is kept per location, part and condition (new parts and old ones have their own bins)
Bin = tuple[str, str, str]


@dataclass
class ServerState:
    rows: dict[str, dict[str, ServerRow]]
    #: stock per bin as the server works it out (``server.domain.stock.levels``)
    stock: dict[Bin, float]
    #: the SHA-256 of the bytes of every image the server holds whole, by its name
    images: dict[str, str]

    def live(self, entity: str) -> dict[str, dict]:
        return {i: r.data for i, r in self.rows[entity].items() if not r.deleted}

    @property
    def conflicts(self) -> list[dict]:
        """Conflict records (a synced entity: their authors' devices pull them)."""
        return [{"id": i, **data} for i, data in self.live("conflict").items()]


def read_server(engine: sa.Engine) -> ServerState:
    rows: dict[str, dict[str, ServerRow]] = {}
    with engine.connect() as conn:
        for entity in REGISTRY:
            table = entity_table(entity.name)
            ids = [r[0] for r in conn.execute(sa.select(table.c.id))]
            rows[entity.name] = {
                i: ServerRow(public_data(entity, stored), stored.deleted, stored.version)
                for i, stored in load(conn, entity, ids).items()
            }
        levels = {(lv["location_id"], lv["part_id"], lv["condition"]): lv["qty"] for lv in stock.levels(conn)}
        images = {name: hashlib.sha256(data).hexdigest() for name, data in conn.execute(sa.select(blobs.c.sha256,
                                                                                                  blobs.c.data))}
    return ServerState(rows, levels, images)


@dataclass(frozen=True)
class Signing:
    """A signature as its device captured it (``fields``), and the hash of the service
    report the customer saw then, worked out by the test from the device's ticket and parts."""

    fields: dict
    report_hash: str


@dataclass
class World:
    server: ServerState
    devices: list[Device]
    #: every mutation the server committed, with its recorded answer
    acknowledged: list[Acknowledged] = field(default_factory=list)
    #: every signature captured on a device, by id
    signings: dict[str, Signing] = field(default_factory=dict)


# -- scopes ------------------------------------------------------------------------------


class _Scopes:
    """The scope keys of every live row, worked out afresh from the server's tables.

    The registry declares how a row finds its keys (``Catalog``, ``Owner``, ``Via``,
    ``ReferencedBy``); the server keeps them up to date change by change in its log.
    Working them out from the final tables instead is the independent account the log
    must agree with.
    """

    def __init__(self, server: ServerState):
        self.server = server
        self._keys: dict[tuple[str, str], frozenset[str]] = {}

    def keys(self, entity: str, row_id: str, depth: int = 0) -> frozenset[str]:
        if (entity, row_id) in self._keys:
            return self._keys[(entity, row_id)]
        data = self.server.live(entity).get(row_id)
        keys: set[str] = set()
        for part in REGISTRY.get(entity).scope if data is not None and depth < 5 else ():
            if isinstance(part, Catalog):
                keys.add("catalog")
            elif isinstance(part, Owner) and data.get(part.field):
                keys.add(f"{part.prefix}:{data[part.field]}" if part.prefix else data[part.field])
            elif isinstance(part, Via) and data.get(part.field):
                keys |= self.keys(part.entity, data[part.field], depth + 1) - {"catalog"}
            elif isinstance(part, ReferencedBy):
                for other_id, other in self.server.live(part.entity).items():
                    if other.get(part.field) == row_id:
                        keys |= self.keys(part.entity, other_id, depth + 1) - {"catalog"}
        self._keys[(entity, row_id)] = frozenset(keys)
        return self._keys[(entity, row_id)]


def expected_view(server: ServerState, device: Device) -> dict[str, dict[str, dict]]:
    """The rows a device must hold once synced: everything for the office, else its keys'."""
    readable = reader_keys({"id": device.user_id, "role": device.role, "depot_id": device.depot_id})
    scopes = _Scopes(server)
    return {
        entity.name: {
            row_id: data for row_id, data in server.live(entity.name).items()
            if readable is None or scopes.keys(entity.name, row_id) & set(readable)
        }
        for entity in REGISTRY
    }


def _replica_view(replica: Replica) -> dict[str, dict[str, dict]]:
    return {entity.name: replica.all(entity.name) for entity in REGISTRY}


def replica_matches_its_scope(server: ServerState, device: Device) -> None:
    """The replica holds exactly the rows of its scope, each field as the server has it."""
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
#: step passed by a further one is not lost).
NOT_LWW = {("ticket", "status"), ("old_part_return", "status")}


def last_writer_wins(world: World) -> None:
    """Every field of every live row holds the value of its latest acknowledged write."""
    problems = []
    for (entity, row_id, name), acks in _writes(world).items():
        row = world.server.rows[entity].get(row_id)
        if row is None or row.deleted or (entity, name) in NOT_LWW:
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


def no_acknowledged_write_lost(world: World) -> None:
    """A value the server accepted is current, kept in a conflict record, or knowingly replaced.

    Knowingly: a later write to the field, or a delete of the row, by someone who had
    seen it (the same device, or one whose ``base_version`` covers it).
    """
    kept = {}
    for record in world.server.conflicts:
        for value in (record["kept_value"], record["lost_value"]):
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
            if any(other.hlc > ack.hlc and _seen(other, ack) for other in acks):
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


# -- stock ---------------------------------------------------------------------------------


def _accepted_movements(world: World) -> dict[str, dict]:
    """Every stock movement the server accepted, once per id, as its device sent it."""
    out: dict[str, dict] = {}
    for ack in world.acknowledged:
        if ack.mutation.entity == "stock_movement" and ack.mutation.op == "insert" and ack.status != "rejected":
            out.setdefault(ack.mutation.id, ack.mutation.fields)
    return out


def _stock(movements: Iterable[dict]) -> dict[Bin, float]:
    """Each bin's quantity: what went in less what went out."""
    out: dict[Bin, float] = {}
    for m in movements:
        for location, sign in ((m.get("to_location_id"), 1), (m.get("from_location_id"), -1)):
            if location:
                key = (location, m["part_id"], m.get("condition") or "new")
                out[key] = out.get(key, 0.0) + sign * float(m["qty"])
    return out


def _stock_differences(held: dict[Bin, float], expected: dict[Bin, float], where: str,
                       locations: set[str] | None = None) -> list[str]:
    return [
        f"{where}: {qty!r} of {part} ({condition}) at {location}, but its movements add up to "
        f"{expected.get((location, part, condition), 0.0)!r}"
        for (location, part, condition), qty in sorted(held.items())
        if (locations is None or location in locations)
        and abs(qty - expected.get((location, part, condition), 0.0)) > 1e-9
    ] + [
        f"{where}: no stock of {part} ({condition}) at {location}, but its movements add up to {qty!r}"
        for (location, part, condition), qty in sorted(expected.items())
        if (locations is None or location in locations) and (location, part, condition) not in held and qty
    ]


def stock_is_the_sum_of_its_movements(world: World) -> None:
    """The server's stock in every bin is the sum of the movements it accepted, each
    counted once however often it was delivered; each movement is kept as it was sent and
    written once (a ledger entry never changes: corrections are new entries)."""
    accepted = _accepted_movements(world)
    problems = _stock_differences(world.server.stock, _stock(accepted.values()), "server")
    stored = world.server.rows["stock_movement"]
    for movement_id, sent in accepted.items():
        row = stored.get(movement_id)
        if row is None or row.deleted:
            problems.append(f"accepted movement {movement_id} {sent} is not on the server")
            continue
        if row.version != 1:
            problems.append(f"movement {movement_id} was written {row.version} times")
        changed = {k: (v, row.data.get(k)) for k, v in sent.items() if row.data.get(k) != v}
        if changed:
            problems.append(f"movement {movement_id} changed since it was sent (sent, now): {changed}")
    for movement_id in stored.keys() - accepted.keys():
        problems.append(f"the server holds movement {movement_id}, which no device sent")
    assert not problems, "stock does not add up:\n  " + "\n  ".join(problems)


def replica_stock_adds_up(world: World, device: Device) -> None:
    """The movements a device holds add up, for each location it keeps (an engineer's van,
    the keeper's depot; every location for the office), to the sum of the movements the
    server accepted there — none missing, none twice. Holds once the device has synced."""
    readable = reader_keys({"id": device.user_id, "role": device.role, "depot_id": device.depot_id})
    scopes = _Scopes(world.server)
    locations = {loc for loc in world.server.live("stock_location")
                 if readable is None or (scopes.keys("stock_location", loc) - {"catalog"}) & set(readable)}
    held = _stock(device.replica.all("stock_movement").values())
    problems = _stock_differences(held, _stock(_accepted_movements(world).values()), device.name, locations)
    assert not problems, f"{device.name}'s stock does not add up:\n  " + "\n  ".join(problems)


def every_replica_stock_adds_up(world: World) -> None:
    for device in world.devices:
        replica_stock_adds_up(world, device)


# -- signatures ----------------------------------------------------------------------------


def _report_hash_now(server: ServerState, ticket_id: str) -> str | None:
    """The canonical report of a live ticket as the server holds it, hashed here."""
    ticket = server.live("ticket").get(ticket_id)
    if ticket is None:
        return None
    consumed = [m for m in server.live("stock_movement").values()
                if m.get("ticket_id") == ticket_id and m.get("kind") == "consume"]
    return report_hash(ticket_id, ticket, consumed)


def signatures_stay_as_signed(world: World) -> None:
    """Every signature on the server is the one its device captured, field for field; it
    carries the hash of the report as the device showed it when the customer signed;
    unless the server marked it stale, that is still the report the server holds; its
    image, once on the server, is the one captured; and each device with nothing left to
    send holds it the same (``stale`` aside, which it learns on its next pull)."""
    problems = []
    signatures = world.server.live("signature")
    for sig_id, data in signatures.items():
        signing = world.signings.get(sig_id)
        if signing is None:
            problems.append(f"the server holds signature {sig_id}, which no device captured")
            continue
        changed = {k: (v, data.get(k)) for k, v in signing.fields.items() if data.get(k) != v}
        if changed:
            problems.append(f"signature {sig_id} changed since it was captured (captured, now): {changed}")
        if signing.fields["report_hash"] != signing.report_hash:
            problems.append(f"signature {sig_id} names report {signing.fields['report_hash']}, but the customer "
                            f"saw report {signing.report_hash}")
        current = _report_hash_now(world.server, data["ticket_id"])
        if not data.get("stale") and current is not None and current != data.get("report_hash"):
            problems.append(f"signature {sig_id} signed report {data.get('report_hash')}; ticket {data['ticket_id']}'s "
                            f"report is now {current}, and the signature is not marked stale")
        image = world.server.images.get(data.get("blob_sha256"))
        if image is not None and image != data.get("blob_sha256"):
            problems.append(f"signature {sig_id}'s image {data.get('blob_sha256')} holds bytes hashing to {image}")
    for device in world.devices:
        if device.replica.pending():
            continue
        for sig_id, held in device.replica.all("signature").items():
            on_server = signatures.get(sig_id)
            if on_server is None:
                problems.append(f"{device.name} holds signature {sig_id}, which the server never accepted")
                continue
            differ = {k: (v, held.get(k)) for k, v in on_server.items() if k != "stale" and held.get(k) != v}
            if differ:
                problems.append(f"{device.name}'s signature {sig_id} differs from the server's (server, device): "
                                f"{differ}")
    assert not problems, "signatures not as signed:\n  " + "\n  ".join(problems)


# -- old parts ------------------------------------------------------------------------------

_STEP_RANK = {step: rank for rank, step in enumerate(RETURN_STEPS)}


def old_part_returns_only_move_forward(world: World) -> None:
    """Every old-part return a device made is on the server, at the furthest step any
    accepted write took it to; a step arriving after a further one (the depot booked the
    part in before the engineer's "collected" synced) is kept in a conflict record; and no
    device with nothing left to send shows a step the server does not have."""
    recorded = {(c["row_id"], c["lost_value"]) for c in world.server.conflicts
                if c["entity"] == "old_part_return" and c["field"] == "status"}
    made: set[str] = set()
    reached: dict[str, str] = {}
    problems = []
    for ack in world.acknowledged:  # in the order the server applied them
        if ack.mutation.entity != "old_part_return" or ack.status == "rejected":
            continue
        return_id, step = ack.mutation.id, ack.mutation.fields.get("status")
        if ack.mutation.op == "insert":
            made.add(return_id)
        if not step:
            continue
        before = reached.get(return_id)
        if before is None or _STEP_RANK[step] > _STEP_RANK[before]:
            reached[return_id] = step
        elif step != before and (return_id, step) not in recorded:
            problems.append(f"{ack.device_id}'s {step!r} for old-part return {return_id}, arriving after "
                            f"{before!r}, is not recorded")
    stored = world.server.rows["old_part_return"]
    for return_id in sorted(made):
        if return_id not in stored or stored[return_id].deleted:
            problems.append(f"old-part return {return_id} is lost")
    for return_id, step in reached.items():
        row = stored.get(return_id)
        if row is not None and row.data.get("status") != step:
            problems.append(f"old-part return {return_id} is {row.data.get('status')!r}, but an accepted write "
                            f"took it to {step!r}")
    for device in world.devices:
        if device.replica.pending():
            continue
        for return_id, held in device.replica.all("old_part_return").items():
            row = stored.get(return_id)
            on_server = row.data.get("status") if row is not None else None
            if _STEP_RANK.get(held.get("status"), -1) > _STEP_RANK.get(on_server, -1):
                problems.append(f"{device.name} shows old-part return {return_id} {held.get('status')!r}, "
                                f"the server {on_server!r}")
    assert not problems, "old-part returns went back or were lost:\n  " + "\n  ".join(problems)


#: Hold at any moment: they read what the server committed, and of a device only what
#: it holds with nothing of its own left to send.
INVARIANTS: tuple[Callable[[World], None], ...] = (
    last_writer_wins,
    no_acknowledged_write_lost,
    a_devices_writes_keep_their_order,
    stock_is_the_sum_of_its_movements,
    signatures_stay_as_signed,
    old_part_returns_only_move_forward,
)

#: Hold once every device has synced with nothing left to send or fetch.
SETTLED_INVARIANTS: tuple[Callable[[World], None], ...] = (
    *INVARIANTS,
    outboxes_are_empty,
    every_replica_matches_its_scope,
    every_replica_stock_adds_up,
    refusals_reach_their_device,
    conflicts_reach_their_device,
)
