"""A schema per entity in the OpenAPI document, so a generator makes typed models.

From the registry, for each entity (``stock_movement`` → ``StockMovement``):

- ``<Name>Fields``: what a mutation may write (every field but the server-owned ones),
  each property typed and bounded as :func:`sync.changeset.coerce_value` checks it;
  no other member (the server refuses an unknown field: ``unknown_field``);
- ``<Name>Data``: the row as a pull, a push's ``server_row`` and ``/v1/sync/rows`` show
  it, every field typed (a field the caller's role may not read is absent; a newer
  server may add fields, so other members are allowed);
- ``<Name>Mutation``, ``<Name>Change``, ``<Name>Row``: the generic shapes with
  ``entity`` fixed to the entity and ``fields`` / ``data`` typed.

The generic ``Mutation``, ``Change`` and ``Row`` become a ``oneOf`` of those, with a
``discriminator`` on ``entity``: the push body, the pull page and the row lookup each
name the typed schema of every entity.

A value that breaks a ``<Name>Fields`` schema is refused for its mutation alone (the
result ``rejected``, code ``invalid_value``, ``unknown_field`` ...) while the change-set's
other mutations apply: the envelope's shape is refused whole with 422 (docs/protocol.md).
"""

from __future__ import annotations

import copy

from apispec import APISpec

from sync import changeset
from sync.registry import REF_LENGTH, REGISTRY, Entity, Field, Registry

__all__ = ["document", "class_name"]

_REF = "#/components/schemas/"
#: a whole number fits 64 bits signed; a real is below 10^15 in size (sync.changeset)
_WHOLE = 2**63 - 1
_REAL = 1e15


def class_name(entity: str) -> str:
    return "".join(part.capitalize() for part in entity.split("_"))


def _roles(roles) -> str:
    return ", ".join(r for r in ("engineer", "depot", "desk", "manager") if r in roles)


def _describe(f: Field) -> str:
    parts = [f"{f.type}"]
    if f.server_owned:
        parts.append("set by the server")
    elif f.owners:
        parts.append(f"written by {_roles(f.owners)}")
    if f.readers:
        parts.append(f"read by {_roles(f.readers)} only")
    if f.ref:
        parts.append(f"the id of a {f.ref}")
    if f.blob:
        parts.append("names blobs by SHA-256")
    if f.type == "boolean":
        parts.append("stored 0/1 on the device; a push may send 0/1")
    if f.type == "json":
        parts.append("stored as JSON text on the device")
    return "; ".join(parts)


def _written(f: Field) -> dict:
    """The property a mutation's ``fields`` may hold for ``f``, as the server checks it."""
    kind = f.type
    if kind in ("text", "ref", "time"):
        prop: dict = {"type": "string", "maxLength": min(f.max_length, REF_LENGTH) if kind == "ref" else f.max_length}
        if kind == "time":
            prop["pattern"] = f"^{changeset._TIME.pattern}$"
    elif kind == "integer":
        prop = {"type": "integer", "minimum": -_WHOLE, "maximum": _WHOLE}
    elif kind == "real":
        prop = {"type": "number", "minimum": -_REAL, "maximum": _REAL, "exclusiveMinimum": True,
                "exclusiveMaximum": True}
    elif kind == "boolean":
        # the device's capture triggers send SQLite's 0 / 1: the server takes both forms
        prop = {"oneOf": [{"type": "boolean"}, {"type": "integer", "enum": [0, 1]}]}
    else:  # json: an object or a list
        prop = {"oneOf": [{"type": "object"}, {"type": "array", "items": {}}]}
    if f.choices is not None:
        prop["enum"] = [*f.choices, None]  # OpenAPI 3.0.3: a nullable enum lists null
    prop["nullable"] = True
    prop["description"] = _describe(f)
    return prop


def _shown(f: Field) -> dict:
    """The property a row's ``data`` holds for ``f``: typed, not bounded (what the
    server stored, its own writes included)."""
    kinds = {"text": "string", "ref": "string", "time": "string", "integer": "integer", "real": "number",
             "boolean": "boolean"}
    prop: dict = {"type": kinds[f.type]} if f.type in kinds else {}
    if f.choices is not None:
        prop["enum"] = [*f.choices, None]  # OpenAPI 3.0.3: a nullable enum lists null
    prop["nullable"] = True
    prop["description"] = _describe(f)
    return prop


def _data(entity: Entity) -> dict:
    props = {}
    for f in entity.fields:
        prop = _shown(f)
        # a conflict note's kept and lost values are any field's value (text, a number...)
        if f.type == "json" and entity.name != "conflict":
            prop = {"oneOf": [{"type": "object"}, {"type": "array", "items": {}}], **prop}
        props[f.name] = prop
    return {"type": "object", "description": f"A {entity.name} row's fields as the server holds them "
                                             "(docs/entities.md); a field the caller may not read is absent.",
            "properties": props}


def _fields(entity: Entity) -> dict:
    return {"type": "object", "additionalProperties": False,
            "description": f"What a mutation of a {entity.name} may write (docs/entities.md); absent fields are "
                           "left as they are, null clears one.",
            "properties": {f.name: _written(f) for f in entity.fields if not f.server_owned}}


def _fixed(generic: dict, entity: Entity, member: str, target: str) -> dict:
    """``generic`` with ``entity`` fixed to this entity and ``member`` typed as ``target``."""
    schema = copy.deepcopy(generic)
    schema["properties"]["entity"] = {"type": "string", "enum": [entity.name]}
    old = schema["properties"][member]
    typed: dict = {"allOf": [{"$ref": _REF + target}]}
    if old.get("nullable"):
        typed["nullable"] = True
    if old.get("description"):
        typed["description"] = old["description"]
    schema["properties"][member] = typed
    return schema


def _one_of(names: dict[str, str], description: str) -> dict:
    return {"description": description,
            "oneOf": [{"$ref": _REF + name} for name in names.values()],
            "discriminator": {"propertyName": "entity", "mapping": {e: _REF + n for e, n in names.items()}}}


def document(spec: APISpec, registry: Registry = REGISTRY) -> None:
    """Add the per-entity schemas to ``spec`` and make the generic ones a ``oneOf`` of them.

    Called once, after every blueprint is registered (the generic schemas exist then).
    """
    schemas = spec.components.schemas
    generic = {name: copy.deepcopy(schemas[name]) for name in ("Mutation", "Change", "Row")}
    generic["Mutation"]["required"] = sorted(set(generic["Mutation"].get("required", [])) | {"entity"})
    made: dict[str, dict[str, str]] = {"Mutation": {}, "Change": {}, "Row": {}}
    for entity in registry:
        name = class_name(entity.name)
        spec.components.schema(f"{name}Fields", _fields(entity))
        spec.components.schema(f"{name}Data", _data(entity))
        for kind, member, target in (("Mutation", "fields", "Fields"), ("Change", "data", "Data"),
                                     ("Row", "data", "Data")):
            spec.components.schema(f"{name}{kind}", _fixed(generic[kind], entity, member, f"{name}{target}"))
            made[kind][entity.name] = f"{name}{kind}"
    schemas["Mutation"] = _one_of(made["Mutation"], "One write to one row; `fields` typed by `entity`.")
    schemas["Change"] = _one_of(made["Change"], "One change of a pull page; `data` typed by `entity` "
                                                "(null for delete and evict).")
    schemas["Row"] = _one_of(made["Row"], "One row as the caller's pull would give it; `data` typed by `entity`.")
