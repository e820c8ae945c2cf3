"""Every synced entity: its fields, who may write each one, and how it merges.

This is the single source of truth: the device schema (``client_schema``), the server
tables (``server.tables``), validation (``sync.changeset``) and the merge rules all read
it. A field's ``owners`` are the roles whose writes it accepts; an empty set means any
role that may touch the row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

__all__ = [
    "ROLES",
    "FIELD_TYPES",
    "Field",
    "Entity",
    "Registry",
    "REGISTRY",
    "RESERVED_COLUMNS",
]

ROLES = frozenset({"engineer", "depot", "desk", "manager"})
OFFICE = frozenset({"desk", "manager"})
FIELD = frozenset({"engineer"})

#: text, integer, real, boolean, json (object or list), time (ISO-8601 text), ref (an id).
FIELD_TYPES = frozenset({"text", "integer", "real", "boolean", "json", "time", "ref"})

#: Columns every synced table has that only the sync engine writes.
RESERVED_COLUMNS = frozenset({"id", "version", "deleted", "clock", "created_at", "updated_at"})


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "text"
    owners: frozenset[str] = frozenset()
    #: Assigned by the server (a human number, say); a device's write is refused.
    server_owned: bool = False
    max_length: int = 4000
    ref: str | None = None

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"{self.name}: unknown field type {self.type!r}")
        if self.name in RESERVED_COLUMNS:
            raise ValueError(f"{self.name} is reserved for the sync engine")
        if not self.owners <= ROLES:
            raise ValueError(f"{self.name}: unknown roles {set(self.owners - ROLES)}")

    def writable_by(self, role: str) -> bool:
        return not self.server_owned and (not self.owners or role in self.owners)


@dataclass(frozen=True)
class Entity:
    name: str
    fields: tuple[Field, ...]
    #: The merge rule's module name under ``sync.rules``.
    rule: str = "lww"
    #: Roles that may create rows of this entity.
    creators: frozenset[str] = ROLES
    #: Roles that may delete rows (a tombstone).
    deleters: frozenset[str] = OFFICE
    _by_name: dict = field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate field names")
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})

    def field(self, name: str) -> Field | None:
        return self._by_name.get(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


class Registry:
    """An ordered set of entities, looked up by name."""

    def __init__(self, entities: Iterable[Entity]):
        self._entities = {e.name: e for e in entities}

    def __iter__(self):
        return iter(self._entities.values())

    def __contains__(self, name: str) -> bool:
        return name in self._entities

    def get(self, name: str) -> Entity | None:
        return self._entities.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._entities)


def _f(name: str, type_: str = "text", *, owners: frozenset[str] = frozenset(), **kw) -> Field:
    return Field(name, type_, owners=owners, **kw)


CUSTOMER = Entity(
    "customer",
    (
        _f("name", max_length=200),
        _f("address", max_length=500),
        _f("phone", max_length=50),
        _f("contact", max_length=100),
        _f("zone", max_length=50),
    ),
    creators=OFFICE | FIELD,
)

EQUIPMENT = Entity(
    "equipment",
    (
        _f("customer_id", "ref", ref="customer"),
        _f("model", max_length=200),
        _f("serial", max_length=100),
        _f("warranty_end", "time"),
        _f("run_hours", "real"),
        _f("mileage_km", "real"),
    ),
    creators=OFFICE | FIELD,
)

TICKET = Entity(
    "ticket",
    (
        _f("number", server_owned=True, max_length=20),
        _f("provisional_number", max_length=40),
        _f("customer_id", "ref", ref="customer"),
        _f("equipment_id", "ref", ref="equipment"),
        _f("channel", max_length=20),
        _f("fault_description"),
        _f("reported_at", "time"),
        _f("status", max_length=20),
        _f("assignee_id", "ref", owners=OFFICE),
        _f("urgency", owners=OFFICE, max_length=20),
        _f("category", owners=OFFICE | FIELD, max_length=1),
        _f("deadline", "time", owners=OFFICE),
        _f("diagnosis", owners=FIELD),
        _f("actions", owners=FIELD),
        _f("arrived_at", "time", owners=FIELD),
    ),
)

REGISTRY = Registry([CUSTOMER, EQUIPMENT, TICKET])
