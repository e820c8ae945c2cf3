"""``/v1/office/audit``: who did what to a row, from which device, and when (head office)."""

from __future__ import annotations

import re

from flask import g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from sync.errors import ForbiddenError, ValidationError

from .. import audit
from ..params import whole_number
from .common import authenticated, error_answers, json_response, services

blp = Blueprint("audit", __name__, url_prefix="/v1/office", description="Head office: the audit trail")

_OFFICE = {"desk", "manager"}


class AuditEntrySchema(Schema):
    id = fields.Integer(required=True, metadata={"description": "newest first; page back with ?before=<id>"})
    at = fields.String(required=True, metadata={"description": "when the server received it"})
    device_time = fields.String(allow_none=True, metadata={
        "description": "when it was made: the device's clock corrected by skew_ms (the official time for reports)"})
    skew_ms = fields.Integer(allow_none=True, metadata={
        "description": "the device's clock minus the server's, measured when this push arrived (positive: "
                       "fast); null for a client that sends no sent_at_ms"})
    user_id = fields.String(required=True)
    role = fields.String(required=True)
    device_id = fields.String(required=True)
    mutation_id = fields.String(required=True)
    entity = fields.String(required=True)
    row_id = fields.String(required=True)
    op = fields.String(required=True)
    fields_ = fields.List(fields.String(), data_key="fields", required=True,
                          metadata={"description": "the names of the fields written"})
    status = fields.String(required=True, metadata={"description": "applied, merged, conflict or rejected"})
    code = fields.String(allow_none=True, metadata={"description": "why it was rejected"})
    version = fields.Integer(allow_none=True)
    recovered_by = fields.String(allow_none=True, metadata={
        "description": "the head-office person who pushed it from the revoked device's replica file"})


class AuditPageSchema(Schema):
    entries = fields.List(fields.Nested(AuditEntrySchema), required=True)


_PRINTABLE = "^[^\\u0000-\\u001f\\u007f-\\u009f]{1,64}$"


def _text(name: str) -> str | None:
    value = request.args.get(name)
    if value is not None and not re.fullmatch(_PRINTABLE, value):
        raise ValidationError(f"{name} is 1 to 64 characters, none of them control characters", field=name)
    return value


def _whole(name: str, low: int, high: int) -> int | None:
    return whole_number(request.args.get(name), name, low, high)


_PARAMS = [
    {"name": "entity", "in": "query", "required": False, "schema": {"type": "string", "pattern": _PRINTABLE}},
    {"name": "row_id", "in": "query", "required": False, "schema": {"type": "string", "pattern": _PRINTABLE}},
    {"name": "device_id", "in": "query", "required": False, "schema": {"type": "string", "pattern": _PRINTABLE},
     "description": "what one device did (a lost phone, say)"},
    {"name": "before", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 2**62},
     "description": "entries older than this id (the last id of the previous page)"},
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": audit.MAX_PAGE}},
]


@blp.route("/audit", methods=["GET"])
@blp.doc(operationId="listAudit", parameters=_PARAMS)
@blp.response(200, AuditPageSchema)
@error_answers(blp, 403, 422)
@authenticated
def list_audit():
    """Every mutation devices pushed for a row (or by a device), applied or refused, newest first."""
    if g.user["role"] not in _OFFICE:
        raise ForbiddenError("head office only")
    query = {"entity": _text("entity"), "row_id": _text("row_id"), "device_id": _text("device_id"),
             "before": _whole("before", 1, 2**62), "limit": _whole("limit", 1, audit.MAX_PAGE) or audit.MAX_PAGE}
    with services().engine.connect() as conn:
        return json_response({"entries": audit.read(conn, **query)})
