"""``/v1/me``: who the token is, what this server speaks, and the limits in force.

A client learns its own ``device_id`` (to put in every change-set and HLC stamp), its
person and role, the server's time (to see how far off its own clock is before it
writes), the versions it must speak, and every limit it must keep to — read from the
running configuration, so a deployment that raises one tells its clients.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app, g
from flask_smorest import Blueprint
from marshmallow import Schema, fields

import client_schema
from sync import PROTOCOL_VERSION
from sync.changeset import MAX_JSON_BYTES, MAX_JSON_DEPTH, MAX_MUTATIONS, SCHEMA_VERSION
from sync.report import REPORT_FORMAT

from .. import blobs
from ..pull import DEFAULT_PAGE, MAX_PAGE
from .common import authenticated, error_answers, json_response, services

blp = Blueprint("me", __name__, url_prefix="/v1", description="Who am I: person, device, versions and limits")


class PersonSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": ["engineer", "depot", "desk", "manager"]})
    depot_id = fields.String(required=True, allow_none=True,
                             metadata={"description": "the depot a depot keeper works at (stock_location.depot_id)"})


class DeviceSchema(Schema):
    id = fields.String(required=True, metadata={"description": "the device_id of every change-set and HLC stamp"})
    name = fields.String(required=True)


class VersionsSchema(Schema):
    protocol = fields.Integer(required=True, metadata={"description": "docs/protocol.md's version"})
    changeset_schema = fields.Integer(required=True,
                                      metadata={"description": "the highest schema_version a change-set may say"})
    client_schema = fields.String(required=True,
                                  metadata={"description": "the newest replica step (client_schema/steps/<name>.sql)"})
    client_schema_steps = fields.Integer(required=True, metadata={"description": "how many replica steps there are"})
    report_format = fields.Integer(required=True, metadata={"description": "the format of a new signature's report"})


class LimitsSchema(Schema):
    request_body_bytes = fields.Integer(required=True, metadata={"description": "a bigger body is 413 too_large"})
    changeset_mutations = fields.Integer(required=True)
    json_field_bytes = fields.Integer(required=True, metadata={"description": "one json field as compact UTF-8 JSON"})
    json_depth = fields.Integer(required=True)
    pull_page_max = fields.Integer(required=True)
    pull_page_default = fields.Integer(required=True)
    blob_bytes = fields.Integer(required=True)
    blob_quota_bytes = fields.Integer(required=True)
    blob_quota_used_bytes = fields.Integer(required=True,
                                           metadata={"description": "what this device's blobs and uploads take now"})
    rate_limit_per_minute = fields.Integer(required=True, metadata={"description": "0: no limit"})
    clock_tolerance_ms = fields.Integer(required=True,
                                        metadata={"description": "a clock skew measured within it corrects nothing"})


class MeSchema(Schema):
    person = fields.Nested(PersonSchema, required=True)
    device = fields.Nested(DeviceSchema, required=True)
    server_time_ms = fields.Integer(required=True, metadata={"description": "ms since 1970 by the server's clock"})
    server_time = fields.String(required=True, metadata={"description": "the same, ISO-8601 in UTC"})
    versions = fields.Nested(VersionsSchema, required=True)
    limits = fields.Nested(LimitsSchema, required=True)


_STEPS = [path.stem for path in client_schema.steps()]


@blp.route("/me", methods=["GET"])
@blp.doc(operationId="me")
@blp.response(200, MeSchema)
@error_answers(blp)
@authenticated
def me():
    """The person and device of this token, the server's time, versions and limits."""
    user, device, config = g.user, g.device, current_app.config
    now = services().now_ms()
    with services().engine.connect() as conn:
        used = blobs.used_bytes(conn, device["id"])
    return json_response({
        "person": {"id": user["id"], "name": user["name"], "role": user["role"], "depot_id": user.get("depot_id")},
        "device": {"id": device["id"], "name": device["name"]},
        "server_time_ms": now,
        "server_time": datetime.fromtimestamp(now / 1000, timezone.utc).isoformat(timespec="milliseconds"),
        "versions": {"protocol": PROTOCOL_VERSION, "changeset_schema": SCHEMA_VERSION,
                     "client_schema": _STEPS[-1], "client_schema_steps": len(_STEPS), "report_format": REPORT_FORMAT},
        "limits": {
            "request_body_bytes": int(config["MAX_CONTENT_LENGTH"]),
            "changeset_mutations": MAX_MUTATIONS,
            "json_field_bytes": MAX_JSON_BYTES,
            "json_depth": MAX_JSON_DEPTH,
            "pull_page_max": MAX_PAGE,
            "pull_page_default": DEFAULT_PAGE,
            "blob_bytes": int(config["BLOB_MAX_BYTES"]),
            "blob_quota_bytes": int(config["BLOB_QUOTA_BYTES"]),
            "blob_quota_used_bytes": used,
            "rate_limit_per_minute": int(config["RATE_LIMIT_PER_MINUTE"]),
            "clock_tolerance_ms": services().config.clock_tolerance_ms,
        },
    })
