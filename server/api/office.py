"""``/v1/office``: what head office reads and decides (desk and manager)."""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from flask import g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from sync.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError

from ..apply import Batch, server_batch
from ..domain.complaints import escalate_overdue
from ..domain.maintenance import generate_visits
from ..tables import entity_table
from .common import authenticated, error_answers, json_response, services

blp = Blueprint("office", __name__, url_prefix="/v1/office",
                description="Head office: conflicts, maintenance visits, complaint escalation")

_OFFICE = {"desk", "manager"}


class ConflictSchema(Schema):
    id = fields.String(required=True)
    entity = fields.String(required=True)
    row_id = fields.String(required=True)
    field = fields.String(required=True)
    rule = fields.String(required=True)
    winner = fields.String(required=True)
    kept_value = fields.Raw(allow_none=True)
    lost_value = fields.Raw(allow_none=True)
    kept_hlc = fields.String(allow_none=True)
    lost_hlc = fields.String(allow_none=True)
    device_id = fields.String(allow_none=True)
    status = fields.String(required=True)
    resolution = fields.Raw(allow_none=True)
    created_at = fields.String(required=True)


class ConflictListSchema(Schema):
    conflicts = fields.List(fields.Nested(ConflictSchema), required=True)


class ResolveSchema(Schema):
    choose = fields.String(required=True, validate=validate.OneOf(["kept", "lost", "value"]))
    value = fields.Raw(allow_none=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


def _office_only() -> None:
    if g.user["role"] not in _OFFICE:
        raise ForbiddenError("head office only")


def _as_dict(row) -> dict:
    decode = lambda v: orjson.loads(v) if v is not None else None  # noqa: E731
    return {
        "id": row.id, "entity": row.entity, "row_id": row.row_id, "field": row.field, "rule": row.rule,
        "winner": row.winner, "kept_value": decode(row.kept_value), "lost_value": decode(row.lost_value),
        "kept_hlc": row.kept_hlc, "lost_hlc": row.lost_hlc, "device_id": row.device_id, "status": row.status,
        "resolution": decode(row.resolution), "created_at": row.created_at.isoformat(),
    }


@blp.route("/conflicts", methods=["GET"])
@blp.doc(operationId="listConflicts", parameters=[
    {"name": "status", "in": "query", "required": False, "schema": {"type": "string", "enum": ["open", "resolved"]}},
])
@blp.response(200, ConflictListSchema)
@error_answers(blp, 403, 422)
@authenticated
def list_conflicts():
    """Conflict records, newest first: both values, the rule, both clocks."""
    _office_only()
    status = request.args.get("status", "open")
    if status not in ("open", "resolved"):
        raise ValidationError("status is open or resolved", field="status")
    table = entity_table("conflict")
    with services().engine.connect() as conn:
        found = conn.execute(sa.select(table).where(table.c.status == status, table.c.deleted.is_(False))
                             .order_by(table.c.created_at.desc()).limit(500))
        return json_response({"conflicts": [_as_dict(r) for r in found]})


@blp.route("/conflicts/<conflict_id>/resolve", methods=["POST"])
@blp.doc(operationId="resolveConflict",
         requestBody={"required": True, "content": {"application/json": {"schema": ResolveSchema}}})
@blp.response(200, ConflictSchema)
@error_answers(blp, 403, 404, 422, described={409: "already resolved"})
@authenticated
def resolve_conflict(conflict_id: str):
    """Settle a conflict: keep the value that won, restore the one that lost, or set another."""
    _office_only()
    body = _body(ResolveSchema())
    svc = services()
    with server_batch(svc.engine, svc.registry, svc.config, svc.now_ms()) as batch:
        record = batch.lookup("conflict", conflict_id)
        if record is None:
            raise NotFoundError(f"no conflict {conflict_id}")
        if record.values.get("status") != "open":
            raise ConflictError("this conflict is already resolved")
        _settle(batch, record.values, body)
        resolution = {"choose": body["choose"], "value": body.get("value"), "reason": body["reason"],
                      "by": g.user["id"], "device_id": g.device["id"]}
        batch.system_write("conflict", conflict_id, {"status": "resolved", "resolution": resolution})
    table = entity_table("conflict")
    with svc.engine.connect() as conn:
        return json_response(_as_dict(conn.execute(sa.select(table).where(table.c.id == conflict_id)).one()))


def _settle(batch: Batch, conflict: dict, body: dict) -> None:
    """Write the chosen value to the row the conflict is about (nothing, for ``kept``)."""
    if body["choose"] == "kept":
        return
    value = conflict.get("lost_value") if body["choose"] == "lost" else body.get("value")
    entity, row_id, field = conflict["entity"], conflict["row_id"], conflict["field"]
    if field == "_deleted":
        if value:
            batch.system_write(entity, row_id, {}, op="delete")
        return
    spec = batch.registry.get(entity)
    if spec is None or spec.field(field) is None:
        raise ValidationError(f"{entity}.{field} cannot be set from here")
    written = batch.system_write(entity, row_id, {field: value})
    if written["status"] == "rejected":  # an approval, say: a person decides, not a settlement
        raise ValidationError(f"{entity}.{field} cannot be set so: {written['message']}", field="choose")


class GenerateSchema(Schema):
    horizon_days = fields.Integer(load_default=31, validate=validate.Range(min=1, max=366))


class IdsSchema(Schema):
    ids = fields.List(fields.String(), required=True)


def _body(schema: Schema) -> dict:
    try:
        raw = request.get_data(cache=False)
        return schema.load(orjson.loads(raw) if raw else {})  # no body: the defaults; ``null``: refused
    except orjson.JSONDecodeError:
        raise ValidationError("the body is not valid JSON") from None
    except SchemaError as exc:
        raise ValidationError("the request is not valid", details={"errors": exc.messages}) from None


@blp.route("/maintenance/generate", methods=["POST"])
@blp.doc(operationId="generateVisits",
         requestBody={"required": False, "content": {"application/json": {"schema": GenerateSchema}}})
@blp.response(200, IdsSchema)
@error_answers(blp, 403, 422)
@authenticated
def generate_maintenance_visits():
    """Create the maintenance visits due within the horizon, with their checklists (idempotent)."""
    _office_only()
    body = _body(GenerateSchema())
    svc = services()
    with server_batch(svc.engine, svc.registry, svc.config, svc.now_ms()) as batch:
        made = generate_visits(batch, body["horizon_days"])
    return json_response({"ids": made})


@blp.route("/complaints/escalate", methods=["POST"])
@blp.doc(operationId="escalateComplaints")
@blp.response(200, IdsSchema)
@error_answers(blp, 403)
@authenticated
def escalate_complaints():
    """Escalate every open complaint past its deadline; returns the ones escalated now."""
    _office_only()
    svc = services()
    with server_batch(svc.engine, svc.registry, svc.config, svc.now_ms()) as batch:
        overdue = escalate_overdue(batch)
    return json_response({"ids": overdue})
