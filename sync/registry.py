"""Every synced entity: its fields, who may write each one, and how it merges.

This is the single source of truth: the device schema (``client_schema``), the server
tables (``server.tables``), validation (``sync.changeset``) and the merge rules all read
it. A field's ``owners`` are the roles whose writes it accepts; an empty set means any
role that may touch the row. Its ``readers`` are the roles a pull shows it to; an empty
set means every role that pulls the row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

__all__ = [
    "ROLES",
    "OFFICE",
    "FIELD",
    "DEPOT",
    "FIELD_TYPES",
    "Field",
    "Entity",
    "Registry",
    "RESERVED_COLUMNS",
    "REF_LENGTH",
    "Catalog",
    "Owner",
    "Via",
    "ReferencedBy",
    "Approval",
    "APPROVAL_FIELDS",
    "REGISTRY",
]

ROLES = frozenset({"engineer", "depot", "desk", "manager"})
OFFICE = frozenset({"desk", "manager"})
FIELD = frozenset({"engineer"})
DEPOT = frozenset({"depot"})

#: text, integer, real, boolean, json (object or list), time (ISO-8601 text), ref (an id).
FIELD_TYPES = frozenset({"text", "integer", "real", "boolean", "json", "time", "ref"})

#: The longest id a ref field holds: the width of the server's id columns.
REF_LENGTH = 64

#: Columns every synced table has that only the sync engine writes.
RESERVED_COLUMNS = frozenset(
    {"id", "version", "deleted", "clock", "created_at", "updated_at", "device_time", "skew_ms", "author_device"}
)


@dataclass(frozen=True)
class Catalog:
    """Reference data: every device pulls it (scope key ``catalog``)."""


@dataclass(frozen=True)
class Owner:
    """The row belongs to ``<prefix>:<value of field>`` (``prefix`` empty: the value is the key);
    a json field holding a list of ids gives the row to each of them (a van's crew)."""

    field: str
    prefix: str


@dataclass(frozen=True)
class Via:
    """The row goes wherever the ``entity`` row named by ``field`` goes (catalog excepted)."""

    field: str
    entity: str


@dataclass(frozen=True)
class ReferencedBy:
    """The row goes wherever the ``entity`` rows whose ``field`` names it go."""

    entity: str
    field: str


@dataclass(frozen=True)
class Approval:
    """What a decision on an approval-bearing record covers (rule ``approval``).

    A change to a covered field after an approval voids it: an approval covers exactly
    the values its approver saw.
    """

    #: the fields a decision is given on
    covers: tuple[str, ...]
    #: the field naming the person the record is for: never its approver
    claimant: str | None = None
    #: the field naming who made the decision in force (set by the server)
    decider: str | None = None
    #: approved records are then paid by an approver (status ``paid``)
    payable: bool = False


#: The server-owned fields every approval-bearing entity has beside its ``status``:
#: every decision and what it covered, and everyone who wrote covered values.
APPROVAL_FIELDS = ("approval_history", "authors")


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "text"
    owners: frozenset[str] = frozenset()
    #: Assigned by the server (a human number, say); a device's write is refused.
    server_owned: bool = False
    max_length: int = 4000
    ref: str | None = None
    #: The only values a device may write, when the field is an enumeration.
    choices: tuple | None = None
    #: The roles a pull shows the field to (empty: all); a role never writes what it cannot read.
    readers: frozenset[str] = frozenset()
    #: The field names blobs by their SHA-256 (text: one, json: a list of them): a device
    #: may read a blob when its scope holds a row that names it (server.blob_access).
    blob: bool = False

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"{self.name}: unknown field type {self.type!r}")
        if self.name in RESERVED_COLUMNS:
            raise ValueError(f"{self.name} is reserved for the sync engine")
        if not self.owners <= ROLES:
            raise ValueError(f"{self.name}: unknown roles {set(self.owners - ROLES)}")
        if not self.readers <= ROLES:
            raise ValueError(f"{self.name}: unknown roles {set(self.readers - ROLES)}")
        if self.readers and not self.owners <= self.readers:
            raise ValueError(f"{self.name}: owners must be able to read what they write")
        if self.blob and self.type not in ("text", "json"):
            raise ValueError(f"{self.name}: a blob is named in a text field, or a json list of them")

    def writable_by(self, role: str) -> bool:
        return not self.server_owned and (not self.owners or role in self.owners) and self.readable_by(role)

    def readable_by(self, role: str) -> bool:
        return not self.readers or role in self.readers


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
    #: Who pulls the row; empty: the office only (desk and manager read everything).
    scope: tuple = ()
    #: What its decisions cover, for an approval-bearing entity (rule ``approval``).
    approval: Approval | None = None
    _by_name: dict = field(default=None, compare=False, repr=False)  # type: ignore[assignment]
    _names: tuple = field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate field names")
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})
        object.__setattr__(self, "_names", tuple(names))
        if (self.approval is not None) != (self.rule == "approval"):
            raise ValueError(f"{self.name}: the approval rule and an Approval go together")
        if self.approval is not None:
            a = self.approval
            needed = {*a.covers, "status", *APPROVAL_FIELDS} | {n for n in (a.claimant, a.decider) if n}
            if not needed <= set(names):
                raise ValueError(f"{self.name}: an approval needs the fields {sorted(needed - set(names))}")

    def field(self, name: str) -> Field | None:
        return self._by_name.get(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def blob_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.blob)

    def blobs_named(self, values: dict) -> set[str]:
        """The blob names a row with these field values holds (json fields decoded)."""
        names: set[str] = set()
        for f in self.blob_fields:
            value = values.get(f.name)
            items = value if isinstance(value, list) else [value]
            names.update(v for v in items if isinstance(v, str) and v)
        return names

    def hidden_from(self, role: str) -> frozenset[str]:
        """The fields a pull leaves out for ``role`` (usually none)."""
        return frozenset(f.name for f in self.fields if not f.readable_by(role))


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


from .entities import REGISTRY  # noqa: E402  (the entities need the types above)
