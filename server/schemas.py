"""Marshmallow schemas of the wire protocol, for the OpenAPI document.

Requests are validated by :mod:`sync.changeset` (shared with the device, and precise
about which mutation is wrong); these schemas describe the same shapes for clients in
other languages, and schemathesis checks the server's answers against them.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from sync import hlc
from sync.changeset import MAX_MUTATIONS, OPS, SCHEMA_VERSION
from sync.registry import REGISTRY

__all__ = [
    "ErrorSchema",
    "MutationSchema",
    "ChangeSetSchema",
    "PushAnswerSchema",
    "PullAnswerSchema",
    "RowSchema",
]

_ID = {"validate": validate.Regexp(r"^[0-9A-Za-z][0-9A-Za-z_.:-]{0,63}$")}
_HLC = validate.Regexp(hlc.PATTERN)


class ErrorSchema(Schema):
    code = fields.String(required=True, metadata={"description": "stable machine-readable code"})
    message = fields.String(required=True)
    field = fields.String()
    details = fields.Dict()


class MutationSchema(Schema):
    class Meta:
        #: a member this server does not know is ignored, so a newer device may send more
        unknown = EXCLUDE

    mutation_id = fields.String(required=True, **_ID)
    entity = fields.String(required=True, validate=validate.OneOf(REGISTRY.names))
    id = fields.String(required=True, **_ID)
    op = fields.String(required=True, validate=validate.OneOf(OPS))
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), load_default=dict, allow_none=True,
                          metadata={"description": "absent or null: none (a delete writes none)"})
    hlc = fields.String(required=True, validate=_HLC)
    base_version = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=2**63 - 1))


class ChangeSetSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    changeset_id = fields.String(required=True, **_ID)
    device_id = fields.String(required=True, **_ID)
    schema_version = fields.Integer(required=True, validate=validate.Range(min=1, max=SCHEMA_VERSION))
    mutations = fields.List(fields.Nested(MutationSchema), required=True, validate=validate.Length(max=MAX_MUTATIONS))
    sent_at_ms = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=10**15 - 1), metadata={
        "description": "the device's clock when it sent this (ms since 1970, on the time line of its stamps): "
                       "the server measures the device's skew from it and orders the writes by their stamps "
                       "corrected by it; absent or null: the stamps are taken as they are"})


class ConflictNoteSchema(Schema):
    conflict_id = fields.String(required=True)
    field = fields.String(required=True)
    winner = fields.String(required=True, validate=validate.OneOf(["incoming", "stored"]))
    kept_value = fields.Raw(allow_none=True)
    lost_value = fields.Raw(allow_none=True)
    kept_hlc = fields.String(allow_none=True)
    lost_hlc = fields.String(allow_none=True)
    withheld = fields.Boolean(metadata={
        "description": "true when the row has left the caller's scope: the other side's value and clock are null"})


class ServerRowSchema(Schema):
    version = fields.Integer(required=True)
    data = fields.Dict(required=True)


class MutationResultSchema(Schema):
    mutation_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["applied", "merged", "conflict", "rejected"]))
    version = fields.Integer()
    restamped_hlc = fields.String()
    conflicts = fields.List(fields.Nested(ConflictNoteSchema))
    code = fields.String(metadata={
        "description": "with rejected, why; with conflict, left_your_scope when the row is no longer the caller's "
                       "(its notes then carry only the caller's own side)"})
    message = fields.String()
    field = fields.String()
    server_row = fields.Nested(ServerRowSchema, allow_none=True, metadata={
        "description": "the row as the server holds it: with rejected, and with conflict when the server kept a "
                       "value over this one (put the row back as it says)"})


class PushAnswerSchema(Schema):
    changeset_id = fields.String(required=True)
    results = fields.List(fields.Nested(MutationResultSchema), required=True)
    server_time = fields.Integer(required=True, metadata={"description": "server clock, ms since the epoch"})
    replayed = fields.Boolean(metadata={"description": "true when answered from the record of an earlier attempt"})
    pull = fields.Dict(metadata={
        "description": "with pull=1: the first pull page after the cursor asked for, read after this push applied, "
                       "in the format asked for (a PullAnswer or a PullPage2); absent when the cursor is too old "
                       "(the plain pull answers 410)"})


class ChangeSchema(Schema):
    entity = fields.String(required=True)
    id = fields.String(required=True)
    op = fields.String(required=True, validate=validate.OneOf(["upsert", "delete", "evict"]))
    version = fields.Integer(required=True)
    hlc = fields.String(allow_none=True)
    data = fields.Dict(allow_none=True)


class PullAnswerSchema(Schema):
    changes = fields.List(fields.Nested(ChangeSchema), required=True)
    cursor = fields.String(required=True, metadata={"description": "opaque; send it back as ?cursor="})
    has_more = fields.Boolean(required=True)
    remaining = fields.Integer(metadata={
        "description": "with estimate=1: about how many changes there are from this page on, this page's "
                       "included (for a progress bar; an estimate, not a promise)"})


class EntityPageSchema(Schema):
    columns = fields.List(fields.String(), required=True, metadata={
        "description": "the entity's fields, in the order each row gives their values"})
    rows = fields.List(fields.List(fields.Raw(allow_none=True)), required=True, metadata={
        "description": "each change as `[id, version, op, value, …]`, the values in `columns` order; "
                       "a delete or an eviction is `[id, version, op]`"})


class PullPage2Schema(Schema):
    format = fields.Integer(required=True, validate=validate.OneOf([2]))
    entities = fields.Dict(keys=fields.String(), values=fields.Nested(EntityPageSchema), required=True, metadata={
        "description": "the page's changes by entity, each entity's in log order"})
    cursor = fields.String(required=True, metadata={"description": "opaque; send it back as ?cursor="})
    has_more = fields.Boolean(required=True)
    remaining = fields.Integer(metadata={
        "description": "with estimate=1: about how many changes there are from this page on, this page's "
                       "included (for a progress bar; an estimate, not a promise)"})


class RowSchema(Schema):
    entity = fields.String(required=True, validate=validate.OneOf(REGISTRY.names))
    id = fields.String(required=True)
    version = fields.Integer(required=True)
    data = fields.Dict(required=True, metadata={
        "description": "the row's fields as the server holds them; a field the caller's role may not read is absent"})
