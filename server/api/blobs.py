"""``/v1/blobs/<sha256>``: signature images and photos, content-addressed.

A device that may not read a blob (:mod:`server.blob_access`) is answered 404 on its
status and its bytes whether or not the blob exists, and its upload of a stored blob
runs as the upload of a new one would: nothing in an answer tells it the blob was there.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import orjson
from flask import Response, current_app, g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from sync.errors import InvalidContentTypeError, InvalidRangeError, NotFoundError, ValidationError

from .. import blob_access, blobs
from .common import authenticated, error_answers, json_response, services

blp = Blueprint("blobs", __name__, url_prefix="/v1/blobs", description="Content-addressed images")

#: Longer headers are refused before they are parsed.
_MAX_HEADER = 200
#: 15 digits: every size and offset a blob can have, bounded before ``int()``.
_RANGE = re.compile(r"bytes ([0-9]{1,15})-([0-9]{1,15})/([0-9]{1,15})", re.ASCII)
#: type/subtype as RFC 6838 names them (parameters after ";" are not kept).
_MIME = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*", re.ASCII)
_MAX_MIME = 100
_DEFAULT_TYPE = "application/octet-stream"


class UploadStateSchema(Schema):
    sha256 = fields.String(required=True)
    received = fields.Integer(required=True)
    total = fields.Integer(required=True)
    complete = fields.Boolean(required=True)
    content_type = fields.String(required=True)


def parse_range(header: str | None, length: int) -> tuple[int | None, int | None]:
    """``(first byte, total)`` of a piece, or ``(None, None)`` for a whole blob."""
    if header is None:
        return None, None
    match = _RANGE.fullmatch(header.strip()) if len(header) <= _MAX_HEADER else None
    if not match:
        raise InvalidRangeError("Content-Range must be 'bytes <first>-<last>/<total>'", field="Content-Range")
    first, last, total = (int(x) for x in match.groups())
    if last < first or last >= total or last - first + 1 != length:
        raise InvalidRangeError(f"Content-Range bytes {first}-{last}/{total} does not fit a body of {length} bytes",
                                field="Content-Range")
    return first, total


def parse_content_type(header: str | None) -> str:
    """The blob's MIME type, lowercased and without parameters."""
    if header is None or not header.strip():
        return _DEFAULT_TYPE
    mime = header.split(";", 1)[0].strip().lower() if len(header) <= _MAX_HEADER else ""
    if len(mime) > _MAX_MIME or not _MIME.fullmatch(mime):
        raise InvalidContentTypeError(f"Content-Type must be a MIME type (type/subtype) of at most {_MAX_MIME} "
                                      "characters", field="Content-Type")
    return mime


def _limits() -> blobs.BlobLimits:
    return blobs.BlobLimits.of(current_app.config)


_SHA_PARAM = {"name": "sha256", "in": "path", "required": True,
              "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}


@blp.route("/<sha256>", methods=["PUT"])
@blp.doc(operationId="putBlob", parameters=[
    _SHA_PARAM,
    {"name": "Content-Range", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 200},
     "description": "for a piece of a resumable upload: bytes <first>-<last>/<total>"},
], requestBody={"required": True, "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                         "format": "binary"}}}})
@blp.response(200, UploadStateSchema, description="already stored and readable, or a piece taken")
@blp.alt_response(201, schema=UploadStateSchema, description="this upload completed the blob")
@error_answers(blp, described={
    409: "the piece does not start where this device's upload stands, a piece at 0 included, or names another "
         "total (details.received, details.total)",
    413: "over the blob size limit (details.limit), or a piece over the request body limit",
    422: "bad name (invalid), Content-Range (invalid_range) or Content-Type (invalid_content_type); "
         "bytes that do not hash to the name (hash_mismatch: the upload is dropped)",
    507: "over the device's storage quota (quota_exceeded)"})
@authenticated
def put_blob(sha256: str):
    """Upload a blob whole, or one piece of this device's upload of it."""
    blobs.check_name(sha256)
    content_type = parse_content_type(request.headers.get("Content-Type"))
    data = request.get_data(cache=False)
    start, total = parse_range(request.headers.get("Content-Range"), len(data))
    now = datetime.fromtimestamp(services().now_ms() / 1000, timezone.utc)
    state, completed = blob_access.upload(services().engine, services().registry, g.user, g.device["id"], sha256,
                                          data, content_type, now, _limits(), start, total)
    return json_response(state.to_dict(), 201 if completed else 200)


@blp.route("/<sha256>/upload", methods=["DELETE"])
@blp.doc(operationId="dropBlobUpload", parameters=[_SHA_PARAM])
@blp.response(204, description="this device has no upload of the blob in progress now (had one or not)")
@error_answers(blp, described={422: "bad name"})
@authenticated
def drop_blob_upload(sha256: str):
    """Start this device's upload of the blob again: drop what its upload in progress holds
    (a piece at 0 never does). Another device's upload and a stored blob stay as they are."""
    blobs.check_name(sha256)
    with services().engine.begin() as conn:
        blobs.drop_upload(conn, sha256, g.device["id"])
    return Response(status=204)


@blp.route("/<sha256>/status", methods=["GET"])
@blp.doc(operationId="blobStatus", parameters=[_SHA_PARAM])
@blp.response(200, UploadStateSchema)
@error_answers(blp, described={404: "no upload of this device and not readable by it: upload from the start",
                               422: "bad name"})
@authenticated
def blob_status(sha256: str):
    """The stored blob (to a device that may read it), or this device's upload in progress:
    where to resume."""
    blobs.check_name(sha256)
    with services().engine.connect() as conn:
        state = blob_access.status_for(conn, services().registry, g.user, g.device["id"], sha256)
    if state is None:
        raise NotFoundError("this device has no upload of this blob and may not read it: upload it from the start")
    return json_response(state.to_dict())


#: Names one status request may ask about: a device's images waiting for one sync.
MAX_STATUS_NAMES = 100


class StatusesAskedSchema(Schema):
    sha256 = fields.List(fields.String(validate=validate.Regexp(r"^[0-9a-f]{64}$")), required=True,
                         validate=validate.Length(min=1, max=MAX_STATUS_NAMES))


class StatusesSchema(Schema):
    known = fields.List(fields.Nested(UploadStateSchema), required=True, metadata={
        "description": "each blob stored and readable by the caller, or its upload in progress on this device"})
    unknown = fields.List(fields.String(), required=True, metadata={
        "description": "the names with nothing for this device: upload them from the start"})


@blp.route("/status/batch", methods=["POST"])
@blp.doc(operationId="blobStatuses",
         requestBody={"required": True, "content": {"application/json": {"schema": StatusesAskedSchema}}})
@blp.response(200, StatusesSchema)
@error_answers(blp, described={422: "not a list of 1 to 100 blob names"})
@authenticated
def blob_statuses():
    """Where this device stands with each of several blobs, in one round trip: the status
    of each (as ``GET /<sha256>/status`` gives it) or that it has none."""
    try:
        raw = request.get_data(cache=False)
        names = StatusesAskedSchema().load(orjson.loads(raw))["sha256"]
    except orjson.JSONDecodeError:
        raise ValidationError("the body is not valid JSON") from None
    except SchemaError:
        raise ValidationError(f"sha256 is a list of 1 to {MAX_STATUS_NAMES} blob names (lowercase hex SHA-256)",
                              field="sha256") from None
    known, unknown = [], []
    with services().engine.connect() as conn:
        for sha256 in dict.fromkeys(names):
            state = blob_access.status_for(conn, services().registry, g.user, g.device["id"], sha256)
            if state is None:
                unknown.append(sha256)
            else:
                known.append(state.to_dict())
    return json_response({"known": known, "unknown": unknown})


@blp.route("/<sha256>", methods=["GET"])
@blp.doc(operationId="getBlob", parameters=[_SHA_PARAM], responses={
    "200": {"description": "the bytes, with the content type they were uploaded with",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
@error_answers(blp, described={404: "not stored, or not readable by this device", 422: "bad name"})
@authenticated
def get_blob(sha256: str):
    """The blob's bytes, to the office, a device that uploaded them, or one whose scope
    holds a row naming the blob."""
    blobs.check_name(sha256)
    with services().engine.connect() as conn:
        if blob_access.readable(conn, services().registry, g.user, g.device["id"], sha256) is None:
            raise NotFoundError("no such blob here (it may not have been uploaded yet)")
        data, content_type = blobs.get(conn, sha256)
    return Response(data, mimetype=content_type, headers={
        "Cache-Control": "private, max-age=31536000, immutable",
        # uploaded bytes are never run as a page, whatever type they claim
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    })
