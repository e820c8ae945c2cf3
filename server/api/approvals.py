"""``/v1/office/approvals`` and ``/v1/office/advances``: what waits for an approver, and
each engineer's travel advances against the claims of the same trip (desk and manager).

Deciding is a write: the approver's device sets the record's ``status`` and pushes it.
"""

from __future__ import annotations

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from sync.errors import ForbiddenError

from ..domain.approvals import advance_balances, pending
from ..scopes import OFFICE_ROLES
from .common import authenticated, error_answers, json_response, services

blp = Blueprint("approvals", __name__, url_prefix="/v1/office",
                description="Head office: records waiting for approval, travel advances and their balance")


class WaitingSchema(Schema):
    entity = fields.String(required=True)
    id = fields.String(required=True)
    status = fields.String(required=True)
    claimant_id = fields.String(allow_none=True)
    covers = fields.Dict(required=True, metadata={"description": "the values a decision would be given on"})
    authors = fields.List(fields.String(), required=True)
    history = fields.List(fields.Dict(), required=True)
    voided = fields.Boolean(required=True, metadata={"description": "an approval was voided by a later change"})
    submitted_at = fields.String(required=True)


class WaitingListSchema(Schema):
    pending = fields.List(fields.Nested(WaitingSchema), required=True)


class TripSchema(Schema):
    advance_id = fields.String(required=True)
    engineer_id = fields.String(allow_none=True)
    status = fields.String(required=True)
    asked = fields.Float(required=True)
    advanced = fields.Float(required=True)
    claimed = fields.Float(required=True)
    balance = fields.Float(required=True)
    claims = fields.List(fields.String(), required=True)


class EngineerBalanceSchema(Schema):
    engineer_id = fields.String(allow_none=True)
    advanced = fields.Float(required=True)
    claimed = fields.Float(required=True)
    balance = fields.Float(required=True, metadata={
        "description": "advanced less claimed: positive, the engineer's to account for; negative, owed to him"})
    trips = fields.List(fields.Nested(TripSchema), required=True)


class BalancesSchema(Schema):
    engineers = fields.List(fields.Nested(EngineerBalanceSchema), required=True)


def _office_only() -> None:
    if g.user["role"] not in OFFICE_ROLES:
        raise ForbiddenError("head office only")


@blp.route("/approvals", methods=["GET"])
@blp.doc(operationId="listPendingApprovals")
@blp.response(200, WaitingListSchema)
@error_answers(blp, 403)
@authenticated
def list_pending():
    """Records waiting for a decision, oldest first, with what a decision would cover and
    their history (an approval voided by a later change shows there)."""
    _office_only()
    svc = services()
    with svc.engine.connect() as conn:
        return json_response({"pending": pending(conn, svc.config)})


@blp.route("/advances", methods=["GET"])
@blp.doc(operationId="advanceBalances")
@blp.response(200, BalancesSchema)
@error_answers(blp, 403)
@authenticated
def balances():
    """Each engineer's travel advances settled against the claims of the same trip."""
    _office_only()
    with services().engine.connect() as conn:
        return json_response({"engineers": advance_balances(conn)})
