"""``POST /v1/devices/enroll``: a device exchanges the office's one-time code for its id
and bearer token (:mod:`server.enrollment`). The one request without a token."""

from __future__ import annotations

from datetime import datetime, timezone

import orjson
from flask import after_this_request, current_app, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from sync import PROTOCOL_VERSION
from sync.enroll import MAX_TYPED
from sync.errors import ValidationError

from .. import enrollment
from ..schemas import ErrorSchema
from .common import json_response, services
from .me import DeviceSchema, PersonSchema

__all__ = ["blp", "server_url"]

blp = Blueprint("enroll", __name__, url_prefix="/v1", description="Enrolling a device with the office's one-time code")


class EnrollSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TYPED),
                         metadata={"description": "the code the console showed, e.g. ABCD-EFGH-JKLM: any case, "
                                                  "hyphens and spaces ignored",
                                   "example": "ABCD-EFGH-JKLM"})


class ServerSchema(Schema):
    url = fields.String(required=True, metadata={"description": "the address to sync with"})
    protocol = fields.Integer(required=True, metadata={"description": "docs/protocol.md's version"})


class EnrolledSchema(Schema):
    device = fields.Nested(DeviceSchema, required=True)
    person = fields.Nested(PersonSchema, required=True)
    token = fields.String(required=True, metadata={"description": "the device's bearer token: answered this once "
                                                                  "and never again; keep it"})
    server = fields.Nested(ServerSchema, required=True)


_REFUSALS = {
    404: "enrollment_code_unknown: no device waits for this code (counted against the address)",
    409: "enrollment_code_used: the code made its device already",
    410: "enrollment_code_expired: the code was not used in time",
    422: "invalid: not an enrollment code (12 letters and digits), or not a JSON object with one",
    429: "rate_limited: too many wrong codes from this address; retry after Retry-After seconds",
}


def server_url() -> str:
    """Where devices reach this server: ``PUBLIC_URL`` when set, else the address this
    request came to."""
    return (current_app.config.get("PUBLIC_URL") or request.host_url).rstrip("/")


def _body() -> dict:
    try:
        raw = request.get_data(cache=False)
        return EnrollSchema().load(orjson.loads(raw))
    except orjson.JSONDecodeError:
        raise ValidationError("the body is not valid JSON") from None
    except SchemaError as exc:
        raise ValidationError("the request is not valid", field="code", details={"errors": exc.messages}) from None


def _documented(view):
    for status, description in sorted(_REFUSALS.items()):
        view = blp.alt_response(status, schema=ErrorSchema, description=description)(view)
    return view


@blp.route("/devices/enroll", methods=["POST"])
@blp.doc(operationId="enrollDevice", security=[],
         requestBody={"required": True, "content": {"application/json": {"schema": EnrollSchema}}})
@blp.response(201, EnrolledSchema)
@_documented
def enroll():
    """Exchange a one-time enrollment code for this device's id and token (no token sent)."""
    body = _body()
    svc = services()
    now = datetime.fromtimestamp(svc.now_ms() / 1000, timezone.utc)

    @after_this_request
    def unkept(response):
        response.headers["Cache-Control"] = "no-store"  # the answer holds a token
        return response

    done = enrollment.exchange(svc.engine, body["code"], enrollment.client_address(request.remote_addr), now,
                               enrollment.rules_of(current_app.config))
    person = done.person
    return json_response({
        "device": {"id": done.device_id, "name": done.device_name},
        "person": {"id": person["id"], "name": person["name"], "role": person["role"],
                   "depot_id": person["depot_id"]},
        "token": done.token,
        "server": {"url": server_url(), "protocol": PROTOCOL_VERSION},
    }, 201)
