"""Wire types of the push protocol and their validation against the registry.

Two kinds of fault, answered differently (see docs/decisions.md):

* a change-set whose *shape* is wrong (not a mutation, unknown entity or op, a missing
  id, a bad timestamp) is refused whole with a ``ValidationError`` naming the mutation's
  index: no correct client sends it, and nothing of it is applied;
* a well-formed mutation whose *values* are wrong (unknown field, wrong type, too long,
  a field the author may not write) is ``rejected`` alone by the server, and the rest of
  the change-set still applies: see :func:`check_values`.

A value that passes :func:`coerce_value` can be stored, encoded and read back by every
database and client (docs/protocol.md, "Values"): no check later has to catch it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from . import hlc
from .errors import PayloadTooLargeError, SchemaVersionError, UnknownEntityError, ValidationError
from .registry import REF_LENGTH, Entity, Field, Registry

__all__ = [
    "OPS",
    "SCHEMA_VERSION",
    "MAX_MUTATIONS",
    "MAX_JSON_DEPTH",
    "MAX_JSON_BYTES",
    "Mutation",
    "ChangeSet",
    "Rejection",
    "parse_changeset",
    "check_values",
    "coerce_value",
    "shown_name",
]

OPS = ("insert", "update", "delete")
SCHEMA_VERSION = 1
MAX_MUTATIONS = 1000
#: A json field's value: nested at most this deep, at most this many bytes as compact JSON.
MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 64 * 1024
_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.:-]{0,63}$")
#: whole numbers (integer fields, numbers in json fields) are signed 64-bit
_WHOLE = 2**63
#: NUL ends a C string and PostgreSQL refuses it in text; a UTF-16 half alone (JSON can
#: carry one: "\ud800") has no UTF-8 form, so no database or encoder takes it
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
#: a date, or a date and time with an optional offset: ISO-8601 as RFC 3339 writes it,
#: ASCII digits only, at most 32 characters
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
                   r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?")


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
    if not isinstance(value, str) or not _ID.fullmatch(value):
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
            # only text is shown: the repr of a list nested 1,000 deep raises RecursionError
            shown = repr(entity[:40]) if isinstance(entity, str) else f"of type {type(entity).__name__}"
            raise UnknownEntityError(f"{where}.entity: unknown entity {shown}", field=f"{where}.entity")
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
            shown = shown_name(name)
            return Rejection("unknown_field", f"{entity.name} has no field {shown[:60]!r}", shown)
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
        except PayloadTooLargeError as exc:
            return Rejection(exc.code, f"{entity.name}.{name}: {exc.message}", name)
    return None


def shown_name(name: str) -> str:
    """A field name a device sent, as an answer or the audit trail can hold it: at most 80
    characters, a UTF-16 half alone written as its escape."""
    return name[:80].encode("utf-8", "backslashreplace").decode("utf-8")


def coerce_value(spec: Field, value: Any) -> Any:
    """Return ``value`` as the field's type, or raise ``ValueError`` saying why not
    (``PayloadTooLargeError`` for a json value over :data:`MAX_JSON_BYTES`)."""
    if value is None:
        return None
    if spec.choices is not None and value not in spec.choices:
        raise ValueError(f"expected one of {', '.join(map(str, spec.choices))}")
    kind = spec.type
    if kind in ("text", "ref", "time"):
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {type(value).__name__}")
        longest = min(spec.max_length, REF_LENGTH) if kind == "ref" else spec.max_length
        if len(value) > longest:
            raise ValueError(f"at most {longest} characters")
        _check_text(value)
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
        # 2.0 is refused like 1.5: a whole number is written without a fraction (decisions.md)
        if type(value) is int and abs(value) < _WHOLE:
            return value
        raise ValueError("expected a whole number of at most 64 bits, written without a fraction")
    if kind == "real":
        if type(value) in (int, float) and math.isfinite(value) and abs(value) < 1e15:
            return float(value)
        raise ValueError("expected a number")
    if kind == "json":
        if not isinstance(value, (dict, list)):
            raise ValueError("expected an object or a list")
        size = _json_size(value)
        if size > MAX_JSON_BYTES:
            raise PayloadTooLargeError(f"holds at most {MAX_JSON_BYTES} bytes of JSON, not {size}",
                                       details={"limit": MAX_JSON_BYTES})
        return value
    raise ValueError(f"unsupported type {kind}")  # pragma: no cover - registry forbids it


def _json_size(value: Any) -> int:
    """Check a json field's value and count its bytes as compact UTF-8 JSON.

    Walked without recursion and without encoding it, so nothing re-encodes a value
    before it is known to fit: nested at most :data:`MAX_JSON_DEPTH` deep (an encoder
    stops at some depth: orjson past 254 levels), numbers finite and within 64 bits (the
    server's parser reads a longer integer as a rounded float: refused, not stored
    rounded), text as in a text field, object keys text. The walk stops once the count
    passes :data:`MAX_JSON_BYTES` (the caller then refuses the value).
    """
    size = 0
    todo: list[tuple[Any, int]] = [(value, 1)]
    while todo and size <= MAX_JSON_BYTES:
        item, depth = todo.pop()
        if isinstance(item, str):
            size += _text_size(item)
        elif item is None or isinstance(item, bool):
            size += 5 if item is False else 4
        elif isinstance(item, int):
            if abs(item) >= _WHOLE:
                raise ValueError("a whole number beyond 64 bits")
            size += len(str(item))
        elif isinstance(item, float):
            if not math.isfinite(item) or abs(item) >= _WHOLE:
                raise ValueError("a number that is not finite or beyond 64 bits")
            size += len(repr(item))
        elif isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
            size += 1 + max(len(item), 1)  # brackets and commas
            if isinstance(item, list):
                todo.extend((member, depth + 1) for member in item)
                continue
            for key, member in item.items():
                if not isinstance(key, str):
                    raise ValueError("an object key that is not text")
                size += _text_size(key) + 1
                todo.append((member, depth + 1))
        else:
            raise ValueError(f"a {type(item).__name__}, which JSON does not have")
    return size


def _check_text(text: str) -> None:
    bad = _UNSTORABLE.search(text)
    if bad is not None:
        raise ValueError("text may not contain NUL characters" if bad.group() == "\x00"
                         else "text may not contain a UTF-16 surrogate alone (a character cut in half)")


def _text_size(text: str) -> int:
    """Bytes of a JSON string: quotes, UTF-8, and escapes (a control character counted
    at its longest, ``\\u001f``)."""
    _check_text(text)
    size = 2 + (len(text) if text.isascii() else len(text.encode("utf-8")))
    if '"' in text or "\\" in text:
        size += text.count('"') + text.count("\\")
    if not text.isprintable():
        size += 5 * sum(1 for ch in text if ch < " ")
    return size


def _check_time(value: str) -> None:
    """A date or a time as :data:`_TIME` says, that is a real one (no 31 June, no hour
    24) and falls between the years 1 and 9999 in UTC too."""
    try:
        if not _TIME.fullmatch(value):
            raise ValueError
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise ValueError("expected an ISO-8601 date or time such as 2026-11-23 or 2026-11-23T08:30:00+08:00, "
                         "in the years 1 to 9999") from None
