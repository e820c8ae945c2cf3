"""The world the property test checks: the server's tables, every device, every
change-set the devices sent, and the test's own record of each write an app made (when,
in real time) and each image captured — and, worked out afresh from the server's tables
and the registry's scope declarations (not from the log, which is what is under test),
the rows each person must hold.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone

import sqlalchemy as sa

from server.domain import stock, writeoff
from server.rows import load, public_data
from server.scopes import reader_keys
from server.tables import blobs, entity_table
from sync.client import Replica
from sync.registry import REGISTRY, Catalog, Owner, ReferencedBy, Via

from tests.faults import Acknowledged

__all__ = ["Bin", "Decision", "Device", "Image", "Scopes", "ServerRow", "ServerState", "Signing", "World", "Write",
           "answered_writes", "expected_view", "read_server"]


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
    #: the consumptions the server's reconciliation lists as open, each with what it
    #: waits for (``server.domain.writeoff.open_consumptions``: the control under test)
    open_consumptions: dict[str, frozenset[str]] = field(default_factory=dict)
    #: when each stock movement was made on the server's time line (its device time
    #: corrected by the measured skew, else its arrival), UTC
    movement_made: dict[str, datetime] = field(default_factory=dict)

    def live(self, entity: str) -> dict[str, dict]:
        return {i: r.data for i, r in self.rows[entity].items() if not r.deleted}

    @property
    def conflicts(self) -> list[dict]:
        """Conflict records (a synced entity: their authors' devices pull them)."""
        return [{"id": i, **data} for i, data in self.live("conflict").items()]


#: the moment reconciliation's ages are counted from (read here are only what is open)
_AGES_FROM = datetime(2026, 12, 1, tzinfo=timezone.utc)


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
        open_consumptions = {c["movement_id"]: frozenset(c["waiting_for"])
                             for c in writeoff.open_consumptions(conn, None, _AGES_FROM)}
        moves = entity_table("stock_movement")
        made = {i: _utc(at) for i, at in conn.execute(sa.select(moves.c.id, sa.func.coalesce(moves.c.device_time,
                                                                                              moves.c.created_at)))}
    return ServerState(rows, levels, images, open_consumptions, made)


def _utc(at: datetime | str) -> datetime:
    at = datetime.fromisoformat(at) if isinstance(at, str) else at
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Signing:
    """A signature as its device captured it (``fields``), and the hash of the service
    report the customer saw then, worked out by the test from the device's ticket and parts."""

    fields: dict
    report_hash: str


@dataclass(frozen=True)
class Decision:
    """A decision an approver made on a device: the record, the status he set, and the
    values its approval covers as his device showed them when he decided."""

    device_id: str
    entity: str
    row_id: str
    status: str
    seen: dict


@dataclass
class Write:
    """A write the app made on a device, as the test saw it made: the row, the fields it
    changed (as the device then held them), and when, in the world's real time.

    The test keeps its own record so that an invariant can say which of two writes came
    later whatever the phones' clocks said.
    """

    device_id: str
    entity: str
    row_id: str
    op: str
    fields: dict
    at_ms: int
    #: False once the device's engine lost its time line today: its clock jumped and the
    #: app restarted before the engine read the clock again (a jump the engine never saw
    #: is not taken out: docs/decisions.md, "Device clocks"), so the server's order of the
    #: device's writes need not be their order in real time
    timed: bool = True


@dataclass(frozen=True)
class Image:
    """An image captured on a device, the row and field naming it, and what the server
    must make of it: ``refusal`` is ``None`` for an image it takes, else the reason the
    device parks it (``too_large``: over the server's size limit; ``hash_mismatch``: its
    bytes changed on the device after it was captured)."""

    device_id: str
    sha256: str
    entity: str
    row_id: str
    field: str
    refusal: str | None


@dataclass
class World:
    server: ServerState
    devices: list[Device]
    #: every mutation the server committed, with its recorded answer
    acknowledged: list[Acknowledged] = field(default_factory=list)
    #: every signature captured on a device, by id
    signings: dict[str, Signing] = field(default_factory=dict)
    #: every write each device's app made today, by device id, in the order it made them
    writes: dict[str, list[Write]] = field(default_factory=dict)
    #: the mutations of yesterday's work, made before the day started (``_yesterday``)
    yesterday: frozenset[str] = frozenset()
    #: every image captured on a device today
    images: list[Image] = field(default_factory=list)
    #: every decision an approver made on a device today (approved, refused, paid)
    decisions: list[Decision] = field(default_factory=list)
    #: the world's time when it was looked at (the server's clock), UTC
    now: datetime | None = None


def answered_writes(world: World) -> dict[str, Write]:
    """Each of today's answered mutations, by id, with the write its device's app made.

    A device's mutations, in the order of its stamps (which only move forward), are its
    app's writes in the order it made them: each sent once, in that order, none the app
    did not make — which this checks, as the join depends on it. The answered ones are
    the first of them; the rest wait on the device.
    """
    answered: dict[str, dict[str, Acknowledged]] = {}
    for ack in world.acknowledged:
        if ack.mutation.mutation_id not in world.yesterday:
            answered.setdefault(ack.device_id, {}).setdefault(ack.mutation.mutation_id, ack)
    out: dict[str, Write] = {}
    problems = []
    for device_id, acks in sorted(answered.items()):
        made = world.writes.get(device_id, [])
        for i, ack in enumerate(sorted(acks.values(), key=lambda a: a.mutation.hlc)):
            sent = ack.mutation
            write = made[i] if i < len(made) else None
            if write is None or (write.entity, write.row_id, write.op) != (sent.entity, sent.id, sent.op):
                wrote = f"{write.op} {write.entity} {write.row_id}" if write else "nothing"
                problems.append(f"{device_id}'s mutation {i + 1} of the day is {sent.op} {sent.entity} {sent.id}, "
                                f"but its app's write {i + 1} was {wrote}")
                break
            out[sent.mutation_id] = write
    assert not problems, "the server's record of a device's writes is not what its app wrote:\n  " + \
        "\n  ".join(problems)
    return out


# -- scopes ------------------------------------------------------------------------------


class Scopes:
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
    """The rows a device must hold once synced: everything for the office, else its keys';
    a field its role may not read (``Field.readers``) held as null."""
    readable = reader_keys({"id": device.user_id, "role": device.role, "depot_id": device.depot_id})
    scopes = Scopes(server)
    return {
        entity.name: {
            row_id: {**data, **dict.fromkeys(entity.hidden_from(device.role))}
            for row_id, data in server.live(entity.name).items()
            if readable is None or scopes.keys(entity.name, row_id) & set(readable)
        }
        for entity in REGISTRY
    }
