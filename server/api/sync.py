"""``/v1/sync``: push change-sets, pull changes."""

from __future__ import annotations

import orjson
from flask import g, request
from flask_smorest import Blueprint

from sync.errors import ValidationError

from .. import pull as pull_service
from ..push import Caller, apply_push
from ..schemas import ChangeSetSchema, ErrorSchema, PullAnswerSchema, PushAnswerSchema
from .common import authenticated, json_response, services

blp = Blueprint("sync", __name__, url_prefix="/v1/sync", description="Change-set exchange with devices")

_ERRORS = (401, 403, 413, 422, 429)


def _errors(view):
    for status in _ERRORS:
        view = blp.alt_response(status, schema=ErrorSchema, description="error")(view)
    return view


@blp.route("/push", methods=["POST"])
@blp.doc(
    operationId="push",
    requestBody={"required": True, "content": {"application/json": {"schema": ChangeSetSchema}}},
)
@blp.response(200, PushAnswerSchema)
@_errors
@authenticated
def push():
    """Apply a change-set once; a retry with the same changeset_id gets the first answer."""
    try:
        payload = orjson.loads(request.get_data(cache=False))
    except orjson.JSONDecodeError:
        raise ValidationError("the body is not valid JSON") from None
    user, device = g.user, g.device
    caller = Caller(user["id"], user["role"], device["id"], user.get("depot_id"))
    answer = apply_push(services().engine, services().registry, caller, payload, config=services().config,
                        now_ms=services().now_ms())
    return json_response(answer)


@blp.route("/pull", methods=["GET"])
@blp.doc(
    operationId="pull",
    parameters=[
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string", "pattern": "^[0-9]{1,18}([.][0-9]{1,18})?$"},
         "description": "from the previous answer; absent for a fresh replica (a paged snapshot of the scope)"},
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": pull_service.MAX_PAGE}},
    ],
)
@blp.response(200, PullAnswerSchema)
@blp.alt_response(410, schema=ErrorSchema, description="cursor too old: resync the scope")
@_errors
@authenticated
def pull():
    """Changes in the caller's scope after the cursor, oldest first."""
    limit = pull_service.parse_limit(request.args.get("limit"))
    answer = pull_service.read_changes(services().engine, g.user, request.args.get("cursor"), limit)
    return json_response(answer)


