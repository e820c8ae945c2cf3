"""Wire types of the push protocol and their validation against the registry.

Two kinds of fault, answered differently (see docs/decisions.md):

* a change-set whose *shape* is wrong (not a mutation, unknown entity or op, a missing
  id, a bad timestamp) is refused whole with a ``ValidationError`` naming the mutation's
  index: no correct client sends it, and nothing of it is applied;
* a well-formed mutation whose *values* are wrong (unknown field, wrong type, too long,
  a field the author may not write) is ``rejected`` alone by the server, and the rest of
  the change-set still applies: see :func:`check_values`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import hlc
from .errors import SchemaVersionError, UnknownEntityError, ValidationError
from .registry import Entity, Field, Registry

__all__ = [
    "OPS",
    "SCHEMA_VERSION",
    "MAX_MUTATIONS",
    "Mutation",
    "ChangeSet",
    "Rejection",
    "parse_changeset",
    "check_values",
    "coerce_value",
]

OPS = ("insert", "update", "delete")
SCHEMA_VERSION = 1
MAX_MUTATIONS = 1000
_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.:-]{0,63}$")


@dataclass
class Mutation:
    mutation_id: str
    entity: str
    id: str
    op: str
    fields: dict[str, Any]
    hlc: str
    base_version: int | None = None

    def to_dict(self) -> dict:
        return {
            "mutation_id": self.mutation_id,
            "entity": self.entity,
            "id": self.id,
            "op": self.op,
            "fields": self.fields,
            "hlc": self.hlc,
            "base_version": self.base_version,
        }


@dataclass
class ChangeSet:
    changeset_id: str
    device_id: str
    schema_version: int
    mutations: list[Mutation] = field(default_factory=list)
    #: the device's clock (on its stamps' time line) as the change-set was sent; the
    #: server measures the device's offset from it. None: a client that does not say.
    sent_at_ms: int | None = None

    def to_dict(self) -> dict:
        body = {
            "changeset_id": self.changeset_id,
            "device_id": self.device_id,
            "schema_version": self.schema_version,
            "mutations": [m.to_dict() for m in self.mutations],
        }
        if self.sent_at_ms is not None:
            body["sent_at_ms"] = self.sent_at_ms
        return body


@dataclass(frozen=True)
class Rejection:
    """Why one mutation is refused; the server answers it as ``rejected``."""

    code: str
    message: str
    field: str | None = None


def _identifier(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise ValidationError(f"{where} must be an id of 1-64 letters, digits or -_.:", field=where)
    return value


def parse_changeset(payload: Any, registry: Registry, max_mutations: int = MAX_MUTATIONS) -> ChangeSet:
    """Turn a decoded JSON body into a :class:`ChangeSet`, or raise ``ValidationError``."""
    if not isinstance(payload, dict):
        raise ValidationError("a change-set is a JSON object")
    version = payload.get("schema_version")
    if type(version) is not int:
        raise ValidationError("schema_version must be an integer", field="schema_version")
    if version > SCHEMA_VERSION or version < 1:
        raise SchemaVersionError(
            f"schema_version {version} is not served here (this server speaks {SCHEMA_VERSION})",
            field="schema_version",
        )
    mutations = payload.get("mutations")
    if not isinstance(mutations, list):
        raise ValidationError("mutations must be a list", field="mutations")
    if len(mutations) > max_mutations:
        raise ValidationError(
            f"a change-set holds at most {max_mutations} mutations", field="mutations",
            details={"limit": max_mutations},
        )
    return ChangeSet(
        changeset_id=_identifier(payload.get("changeset_id"), "changeset_id"),
        device_id=_identifier(payload.get("device_id"), "device_id"),
        schema_version=version,
        mutations=[_parse_mutation(m, i, registry) for i, m in enumerate(mutations)],
        sent_at_ms=_sent_at(payload.get("sent_at_ms")),
    )


#: A sending time is a wall time of at most 15 digits, as in a timestamp.
_MAX_SENT_AT = 10**15


def _sent_at(value: Any) -> int | None:
    if value is None:
        return None
    if type(value) is not int or not 0 < value < _MAX_SENT_AT:
        raise ValidationError("sent_at_ms must be milliseconds since 1970 (a whole number) or absent",
                              field="sent_at_ms")
    return value


def _parse_mutation(raw: Any, index: int, registry: Registry) -> Mutation:
    where = f"mutations[{index}]"
    try:
        if not isinstance(raw, dict):
            raise ValidationError(f"{where} must be an object", field=where)
        entity = raw.get("entity")
        if not isinstance(entity, str) or entity not in registry:
            raise UnknownEntityError(f"{where}.entity: unknown entity {str(entity)[:40]!r}", field=f"{where}.entity")
        op = raw.get("op")
        if op not in OPS:
            raise ValidationError(f"{where}.op must be one of {', '.join(OPS)}", field=f"{where}.op")
        fields = raw.get("fields", {})
        if fields is None:
            fields = {}
        if not isinstance(fields, dict):
            raise ValidationError(f"{where}.fields must be an object", field=f"{where}.fields")
        stamp = raw.get("hlc")
        try:
            hlc.parse(stamp)
        except ValueError:
            raise ValidationError(f"{where}.hlc is not an HLC timestamp", field=f"{where}.hlc") from None
        base = raw.get("base_version")
        if base is not None and (type(base) is not int or not 0 <= base < 2**63):
            raise ValidationError(f"{where}.base_version must be a whole number or null", field=f"{where}.base_version")
        return Mutation(
            mutation_id=_identifier(raw.get("mutation_id"), f"{where}.mutation_id"),
            entity=entity,
            id=_identifier(raw.get("id"), f"{where}.id"),
            op=op,
            fields=fields,
            hlc=stamp,
            base_version=base,
        )
    except ValidationError as exc:
        exc.details.setdefault("mutation_index", index)
        raise


def check_values(entity: Entity, mutation: Mutation, role: str) -> Rejection | None:
    """Check each field a mutation writes: known, writable by ``role``, of its type.

    Coerces values in place (an integer where a real is declared becomes a float).
    """
    for name, value in mutation.fields.items():
        spec = entity.field(name)
        if spec is None:
            return Rejection("unknown_field", f"{entity.name} has no field {name[:60]!r}", name)
        if spec.server_owned:
            return Rejection("server_owned_field", f"{entity.name}.{name} is assigned by the server", name)
        if not spec.writable_by(role):
            return Rejection(
                "field_not_owned", f"{entity.name}.{name} is written by {', '.join(sorted(spec.owners))}, not {role}", name
            )
        try:
            mutation.fields[name] = coerce_value(spec, value)
        except ValueError as exc:
            return Rejection("invalid_value", f"{entity.name}.{name}: {exc}", name)
    return None


def coerce_value(spec: Field, value: Any) -> Any:
    """Return ``value`` as the field's type, or raise ``ValueError`` saying why not."""
    if value is None:
        return None
    if spec.choices is not None and value not in spec.choices:
        raise ValueError(f"expected one of {', '.join(map(str, spec.choices))}")
    kind = spec.type
    if kind in ("text", "ref", "time"):
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {type(value).__name__}")
        if len(value) > spec.max_length:
            raise ValueError(f"at most {spec.max_length} characters")
        if "\x00" in value:
            raise ValueError("text may not contain NUL characters")
        if kind == "time":
            _check_time(value)
        return value
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if type(value) is int and value in (0, 1):
            return bool(value)
        raise ValueError("expected true or false")
    if kind == "integer":
        if type(value) is int and abs(value) < 2**63:
            return value
        raise ValueError("expected a whole number")
    if kind == "real":
        if type(value) in (int, float) and math.isfinite(value) and abs(value) < 1e15:
            return float(value)
        raise ValueError("expected a number")
    if kind == "json":
        if isinstance(value, (dict, list)):
            return value
        raise ValueError("expected an object or a list")
    raise ValueError(f"unsupported type {kind}")  # pragma: no cover - registry forbids it


def _check_time(value: str) -> None:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("expected an ISO-8601 time such as 2026-11-23T08:30:00+08:00") from None
