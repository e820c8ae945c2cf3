"""``/v1/depot``: parts reconciliation, ledger against what was drawn, used, returned,
written off and counted, and the vans a depot issues to with what their requisitions allow."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from sync.errors import ForbiddenError

from ..domain import requisitions, stock, stocktake, writeoff
from .common import authenticated, error_answers, json_response, services

blp = Blueprint("depot", __name__, url_prefix="/v1/depot", description="Depot: stock reconciliation, vans issued to")


class LevelSchema(Schema):
    location_id = fields.String(required=True)
    part_id = fields.String(allow_none=True, required=True)
    condition = fields.String(required=True)
    qty = fields.Float(required=True)
    negative = fields.Boolean(required=True)


class OutstandingSchema(Schema):
    return_id = fields.String(required=True)
    engineer_id = fields.String(allow_none=True)
    ticket_id = fields.String(allow_none=True)
    part_id = fields.String(allow_none=True)
    qty = fields.Float(allow_none=True)
    status = fields.String(required=True)
    age_days = fields.Float(required=True)


class OpenConsumptionSchema(Schema):
    movement_id = fields.String(required=True)
    engineer_id = fields.String(allow_none=True, required=True,
                                metadata={"description": "who held the part (the movement's held_by)"})
    ticket_id = fields.String(allow_none=True, required=True)
    part_id = fields.String(allow_none=True, required=True)
    qty = fields.Float(allow_none=True, required=True)
    from_location_id = fields.String(allow_none=True, required=True)
    old_part_status = fields.String(allow_none=True, required=True,
                                    metadata={"description": "the step of its old-part return (same id), if any"})
    waiting_for = fields.List(fields.String(validate=validate.OneOf(["signature", "old_part"])), required=True)
    age_days = fields.Float(required=True)


class WriteOffSchema(Schema):
    movement_id = fields.String(required=True)
    part_id = fields.String(allow_none=True, required=True)
    qty = fields.Float(allow_none=True, required=True)
    condition = fields.String(required=True)
    from_location_id = fields.String(allow_none=True, required=True)
    held_by = fields.String(allow_none=True, required=True)
    reason = fields.String(allow_none=True, required=True)
    return_id = fields.String(allow_none=True, required=True,
                              metadata={"description": "set when an old part was scrapped"})
    ticket_id = fields.String(allow_none=True, required=True)
    written_off_by = fields.String(allow_none=True, required=True)
    at = fields.String(required=True)


class DifferenceSchema(Schema):
    part_id = fields.String(required=True)
    condition = fields.String(required=True)
    counted = fields.Float(required=True)
    ledger = fields.Float(required=True, metadata={"description": "the ledger there as of the count"})
    difference = fields.Float(required=True, metadata={"description": "counted less ledger"})


class OpenCountSchema(Schema):
    count_id = fields.String(required=True)
    location_id = fields.String(required=True)
    counted_by = fields.String(required=True)
    counted_at = fields.String(required=True)
    as_of = fields.String(required=True)
    note = fields.String(allow_none=True, required=True)
    differences = fields.List(fields.Nested(DifferenceSchema), required=True)


class ReconciliationSchema(Schema):
    levels = fields.List(fields.Nested(LevelSchema), required=True)
    negative = fields.List(fields.Nested(LevelSchema), required=True)
    outstanding_old_parts = fields.List(fields.Nested(OutstandingSchema), required=True)
    open_consumptions = fields.List(fields.Nested(OpenConsumptionSchema), required=True)
    write_offs = fields.List(fields.Nested(WriteOffSchema), required=True)
    open_counts = fields.List(fields.Nested(OpenCountSchema), required=True)


@blp.route("/reconciliation", methods=["GET"])
@blp.doc(operationId="reconciliation")
@blp.response(200, ReconciliationSchema)
@error_answers(blp, 403)
@authenticated
def reconciliation():
    """Stock per location from the ledger, what went negative, old parts still out,
    consumptions not yet written off, the write-offs, and stocktakes awaiting approval.

    A consumption is written off once its ticket holds a current signature and, for a
    returnable part, its old part was received; until then it is listed by the engineer
    who held the part, oldest first, with what it waits for. A stocktake's differences
    (counted less the ledger as of the count) are listed until it is approved.
    A depot keeper sees their own depot; head office sees every location.
    """
    if g.user["role"] not in {"depot", "desk", "manager"}:
        raise ForbiddenError("for depot keepers and head office")
    now = datetime.fromtimestamp(services().now_ms() / 1000, timezone.utc)
    with services().engine.connect() as conn:
        only = stock.depot_locations(conn, g.user["depot_id"]) if g.user["role"] == "depot" else None
        levels = stock.levels(conn, only)
        body = {"levels": levels, "negative": [lv for lv in levels if lv["negative"]],
                "outstanding_old_parts": stock.outstanding_old_parts(conn, only, now),
                "open_consumptions": writeoff.open_consumptions(conn, only, now),
                "write_offs": writeoff.write_offs(conn, only),
                "open_counts": stocktake.open_counts(conn, only)}
    return json_response(body)


class RequisitionLineSchema(Schema):
    part_id = fields.String(required=True)
    asked = fields.Float(required=True)
    approved = fields.Float(required=True, metadata={"description": "what the approval in force covers"})
    issued = fields.Float(required=True)
    left = fields.Float(required=True, metadata={"description": "approved less issued: what may still be issued"})
    over = fields.Float(required=True, metadata={
        "description": "issued beyond the approval in force (kept: the part moved; see docs/decisions.md)"})


class RequisitionBalanceSchema(Schema):
    requisition_id = fields.String(required=True)
    engineer_id = fields.String(allow_none=True)
    status = fields.String(required=True)
    lines = fields.List(fields.Nested(RequisitionLineSchema), required=True)


class VanSchema(Schema):
    location_id = fields.String(required=True)
    name = fields.String(allow_none=True)
    engineer_id = fields.String(allow_none=True)
    stock = fields.List(fields.Nested(LevelSchema), required=True)
    requisitions = fields.List(fields.Nested(RequisitionBalanceSchema), required=True)


class VansSchema(Schema):
    vans = fields.List(fields.Nested(VanSchema), required=True)


@blp.route("/vans", methods=["GET"])
@blp.doc(operationId="depotVans")
@blp.response(200, VansSchema)
@error_answers(blp, 403)
@authenticated
def vans():
    """The vans the depot issues to: each van's stock from the ledger, and per requisition
    on the depot what its approval covers, what was issued, what is left and what went over.

    A depot keeper sees the vans of his own depot's requisitions and issues; head office
    every van.
    """
    if g.user["role"] not in {"depot", "desk", "manager"}:
        raise ForbiddenError("for depot keepers and head office")
    with services().engine.connect() as conn:
        only = stock.depot_locations(conn, g.user["depot_id"]) if g.user["role"] == "depot" else None
        return json_response({"vans": requisitions.vans(conn, only)})
