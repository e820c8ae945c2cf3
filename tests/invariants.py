"""What must hold between devices and the server, whatever the network did.

Each invariant is a function of a :class:`World` — the server's tables, every device,
and every change-set the devices sent — that raises ``AssertionError`` with a readable
account of the first thing wrong. The property test (``tests/test_property_sync.py``)
runs them after steps and, all of them, once every device has synced until quiet.

The rows a person must hold are worked out from the server's tables and the registry's
scope declarations, not from the log: the log is what is under test. Invariants of the
field-service domain (stock is the sum of the ledger, a signature matches the report it
signed) join ``INVARIANTS`` or ``SETTLED_INVARIANTS`` when the property test's action
table grows actions that make stock movements and signatures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sqlalchemy as sa

from server.rows import load, public_data
from server.scopes import reader_keys
from server.tables import entity_table
from sync.client import Replica
from sync.registry import REGISTRY, Catalog, Owner, ReferencedBy, Via

from tests.faults import Acknowledged

__all__ = [
    "Device",
    "ServerState",
    "World",
    "expected_view",
    "INVARIANTS",
    "SETTLED_INVARIANTS",
    "replica_matches_its_scope",
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


@dataclass
class ServerState:
    rows: dict[str, dict[str, ServerRow]]

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
    return ServerState(rows)


@dataclass
class World:
    server: ServerState
    devices: list[Device]
    #: every mutation the server committed, with its recorded answer
    acknowledged: list[Acknowledged] = field(default_factory=list)


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
#: Fields merged by another rule than last-writer-wins (the ticket's state machine).
NOT_LWW = {("ticket", "status")}


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
        if (entity, name) in REPEATING_VALUES:
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


#: Hold at any moment: they read only what the server committed.
INVARIANTS: tuple[Callable[[World], None], ...] = (last_writer_wins, no_acknowledged_write_lost)

#: Hold once every device has synced with nothing left to send or fetch.
SETTLED_INVARIANTS: tuple[Callable[[World], None], ...] = (
    *INVARIANTS,
    outboxes_are_empty,
    every_replica_matches_its_scope,
    refusals_reach_their_device,
    conflicts_reach_their_device,
)
