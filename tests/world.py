"""The world the property test checks: the server's tables, every device, and every
change-set the devices sent — and, worked out afresh from the server's tables and the
registry's scope declarations (not from the log, which is what is under test), the rows
each person must hold.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import sqlalchemy as sa

from server.domain import stock
from server.rows import load, public_data
from server.scopes import reader_keys
from server.tables import blobs, entity_table
from sync.client import Replica
from sync.registry import REGISTRY, Catalog, Owner, ReferencedBy, Via

from tests.faults import Acknowledged

__all__ = ["Bin", "Device", "Scopes", "ServerRow", "ServerState", "Signing", "World", "expected_view", "read_server"]


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
