"""``/v1/office``: what head office reads and decides (desk and manager)."""

from __future__ import annotations

from datetime import datetime, timezone

import orjson
from flask import Response, g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from sync.errors import ForbiddenError, ValidationError

from .. import conflicts
from ..apply import server_batch
from ..domain.complaints import escalate_overdue
from ..domain import sla
from ..domain.maintenance import generate_visits, mark_missed_visits
from ..params import whole_number
from .common import authenticated, error_answers, json_response, services

blp = Blueprint("office", __name__, url_prefix="/v1/office",
                description="Head office: conflicts, SLA state, maintenance visits, complaint escalation")

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
    next = fields.String(allow_none=True, required=True,
                         metadata={"description": "send it back as `cursor` (with the same filters) for the next "
                                                  "page; null on the last"})


class ResolveSchema(Schema):
    choose = fields.String(required=True, validate=validate.OneOf(["kept", "lost", "value"]))
    value = fields.Raw(allow_none=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


def _office_only() -> None:
    if g.user["role"] not in _OFFICE:
        raise ForbiddenError("head office only")


_ID_PATTERN = "^[0-9A-Za-z][0-9A-Za-z_.:-]{0,63}$"
_LIST_PARAMS = [
    {"name": "status", "in": "query", "required": False,
     "schema": {"type": "string", "enum": list(conflicts.STATUSES), "default": "open"}},
    {"name": "ticket", "in": "query", "required": False, "schema": {"type": "string", "pattern": _ID_PATTERN},
     "description": "notes on this ticket and on the rows that hang on it"},
    {"name": "person", "in": "query", "required": False, "schema": {"type": "string", "pattern": _ID_PATTERN},
     "description": "notes on this person's values (lost from one of their devices)"},
    {"name": "rule", "in": "query", "required": False, "schema": {"type": "string", "enum": list(conflicts.NOTE_RULES)}},
    {"name": "since", "in": "query", "required": False,
     "schema": {"type": "string", "format": "date-time", "maxLength": conflicts.TIME_CHARS},
     "description": "noted at or after this time (ISO-8601 with its offset)"},
    {"name": "until", "in": "query", "required": False,
     "schema": {"type": "string", "format": "date-time", "maxLength": conflicts.TIME_CHARS},
     "description": "noted before this time (ISO-8601 with its offset)"},
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": conflicts.MAX_PAGE, "default": conflicts.DEFAULT_PAGE}},
    {"name": "cursor", "in": "query", "required": False,
     "schema": {"type": "string", "pattern": f"^{conflicts.CURSOR_PATTERN}$"},
     "description": "the `next` of the page before"},
]


@blp.route("/conflicts", methods=["GET"])
@blp.doc(operationId="listConflicts", parameters=_LIST_PARAMS)
@blp.response(200, ConflictListSchema)
@error_answers(blp, 403, 404, 422)
@authenticated
def list_conflicts():
    """Conflict records, newest first, a page at a time: both values, the rule, both clocks."""
    _office_only()
    query = conflicts.parse_query(request.args)
    with services().engine.connect() as conn:
        page, following = conflicts.read(conn, query)
    return json_response({"conflicts": page, "next": following})


@blp.route("/conflicts/<conflict_id>/resolve", methods=["POST"])
@blp.doc(operationId="resolveConflict",
         requestBody={"required": True, "content": {"application/json": {"schema": ResolveSchema}}})
@blp.response(200, ConflictSchema)
@error_answers(blp, 403, 404, described={409: "already resolved",
                                          422: "the request is malformed, or the chosen value is refused as a "
                                               "pushed one would be (its code: invalid_value, too_large, ...)"})
@authenticated
def resolve_conflict(conflict_id: str):
    """Settle a conflict: keep the value that won, restore the one that lost, or set another."""
    _office_only()
    body = _body(ResolveSchema())
    svc = services()
    with server_batch(svc.engine, svc.registry, svc.config, svc.now_ms()) as batch:
        conflicts.resolve(batch, conflict_id, body["choose"], body.get("value"), body["reason"],
                          by=g.user["id"], device_id=g.device["id"])
    with svc.engine.connect() as conn:
        return json_response(conflicts.one(conn, conflict_id))


class GenerateSchema(Schema):
    #: strict: 2.0 and "31" are not whole numbers here either (docs/decisions.md)
    horizon_days = fields.Integer(load_default=31, strict=True, validate=validate.Range(min=1, max=366))


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
    return _office_job(lambda batch: generate_visits(batch, body["horizon_days"]))


def _office_job(job) -> Response:
    """Run one of head office's batch jobs in one server batch; answer the ids it touched."""
    svc = services()
    with server_batch(svc.engine, svc.registry, svc.config, svc.now_ms()) as batch:
        touched = job(batch)
    return json_response({"ids": touched})


@blp.route("/maintenance/mark-missed", methods=["POST"])
@blp.doc(operationId="markMissedVisits")
@blp.response(200, IdsSchema)
@error_answers(blp, 403)
@authenticated
def mark_missed_maintenance_visits():
    """Mark missed every planned visit not done by its date (idempotent); returns the ones marked now."""
    _office_only()
    return _office_job(mark_missed_visits)


@blp.route("/complaints/escalate", methods=["POST"])
@blp.doc(operationId="escalateComplaints")
@blp.response(200, IdsSchema)
@error_answers(blp, 403)
@authenticated
def escalate_complaints():
    """Escalate every open complaint past its deadline; returns the ones escalated now."""
    _office_only()
    return _office_job(escalate_overdue)


class SlaTicketSchema(Schema):
    id = fields.String(required=True)
    number = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    customer_id = fields.String(allow_none=True)
    assignee_id = fields.String(allow_none=True)
    zone = fields.String(allow_none=True)
    urgency = fields.String(allow_none=True)
    reported_at = fields.String(allow_none=True)
    deadline = fields.String(allow_none=True, metadata={"description": "reach the site by"})
    answer_deadline = fields.String(allow_none=True, metadata={"description": "answer the request by (000: 24 h)"})
    answered_at = fields.String(allow_none=True)
    reached_at = fields.String(allow_none=True, metadata={"description": "the first arrival, on the server's time "
                                                                         "line (device time less measured skew)"})
    sla_state = fields.String(required=True, validate=validate.OneOf(sla.STATES))
    answer_state = fields.String(allow_none=True)
    late_minutes = fields.Integer(allow_none=True, metadata={"description": "late: minutes past the deadline now; "
                                                                            "missed: minutes the arrival came after it"})
    minutes_left = fields.Integer(allow_none=True, metadata={"description": "on_time, at_risk: minutes to the deadline"})


class SlaListSchema(Schema):
    tickets = fields.List(fields.Nested(SlaTicketSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={"description": "tickets in this state (or all with one)"})


_MAX_PAGE_NUMBER = 1_000_000
_SLA_PARAMS = [
    {"name": "state", "in": "query", "required": False, "schema": {"type": "string", "enum": list(sla.STATES)},
     "description": "only the tickets in this state"},
    {"name": "page", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": _MAX_PAGE_NUMBER, "default": 1}},
    {"name": "per_page", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": sla.MAX_PAGE_SIZE, "default": sla.DEFAULT_PAGE_SIZE}},
]


@blp.route("/sla", methods=["GET"])
@blp.doc(operationId="listSla", parameters=_SLA_PARAMS)
@blp.response(200, SlaListSchema)
@error_answers(blp, 403, 422)
@authenticated
def list_sla():
    """Tickets by SLA state, a page at a time, oldest first: deadlines, first arrival, how late."""
    _office_only()
    args = request.args
    unknown = sorted(set(args) - {p["name"] for p in _SLA_PARAMS})
    if unknown:
        raise ValidationError(f"the SLA list has no parameter {unknown[0][:40]!r}", field=unknown[0][:40],
                              details={"allowed": [p["name"] for p in _SLA_PARAMS]})
    state = args.get("state")
    if state is not None and state not in sla.STATES:
        raise ValidationError(f"state is one of {', '.join(sla.STATES)}", field="state",
                              details={"allowed": list(sla.STATES)})
    page = whole_number(args.get("page"), "page", 1, _MAX_PAGE_NUMBER) or 1
    per_page = whole_number(args.get("per_page"), "per_page", 1, sla.MAX_PAGE_SIZE) or sla.DEFAULT_PAGE_SIZE
    svc = services()
    now = datetime.fromtimestamp(svc.now_ms() / 1000, timezone.utc)
    with svc.engine.connect() as conn:
        return json_response(sla.office_page(conn, state, page, per_page, now))


@blp.route("/sla/evaluate", methods=["POST"])
@blp.doc(operationId="evaluateSla")
@blp.response(200, IdsSchema)
@error_answers(blp, 403)
@authenticated
def evaluate_sla():
    """Re-evaluate the SLA state of every open ticket as of now; returns the tickets whose state changed."""
    _office_only()
    return _office_job(sla.evaluate_open)
