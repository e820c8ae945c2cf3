"""``/v1/blobs/<sha256>``: signature images and photos, content-addressed."""

from __future__ import annotations

import re

from flask import Response, g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from sync.errors import ValidationError

from .. import blobs
from .common import authenticated, error_answers, json_response, services

blp = Blueprint("blobs", __name__, url_prefix="/v1/blobs", description="Content-addressed images")

_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


class UploadStateSchema(Schema):
    sha256 = fields.String(required=True)
    received = fields.Integer(required=True)
    total = fields.Integer(allow_none=True, required=True)
    complete = fields.Boolean(required=True)


def _range(header: str | None, length: int) -> tuple[int | None, int | None]:
    if not header:
        return None, None
    match = _RANGE.match(header.strip())
    if not match:
        raise ValidationError("Content-Range must be 'bytes <first>-<last>/<total>'", field="Content-Range")
    first, last, total = (int(x) for x in match.groups())
    if last - first + 1 != length or last >= total:
        raise ValidationError("Content-Range does not match the body", field="Content-Range")
    return first, total


_SHA_PARAM = {"name": "sha256", "in": "path", "required": True,
              "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}


@blp.route("/<sha256>", methods=["PUT"])
@blp.doc(operationId="putBlob", parameters=[
    _SHA_PARAM,
    {"name": "Content-Range", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "for a piece of a resumable upload: bytes <first>-<last>/<total>"},
], requestBody={"required": True, "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                         "format": "binary"}}}})
@blp.response(200, UploadStateSchema, description="already stored, or a piece taken")
@blp.alt_response(201, schema=UploadStateSchema, description="stored whole")
@error_answers(blp, described={409: "the piece does not start where the upload stands", 413: "too large",
                               422: "bad name, range or hash"})
@authenticated
def put_blob(sha256: str):
    """Upload a blob whole, or one piece of it; a blob already stored is not sent again."""
    blobs.check_name(sha256)
    data = request.get_data(cache=False)
    start, total = _range(request.headers.get("Content-Range"), len(data))
    content_type = (request.mimetype or "application/octet-stream")[:100]
    with services().engine.begin() as conn:
        before = blobs.status(conn, sha256)
        state = blobs.put(conn, sha256, data, content_type, g.device["id"], start, total)
    return json_response(state.to_dict(), 201 if state.complete and not before.complete else 200)


@blp.route("/<sha256>/status", methods=["GET"])
@blp.doc(operationId="blobStatus", parameters=[_SHA_PARAM])
@blp.response(200, UploadStateSchema)
@error_answers(blp, described={422: "bad name"})
@authenticated
def blob_status(sha256: str):
    """How much of a blob the server holds: where to resume an upload."""
    blobs.check_name(sha256)
    with services().engine.connect() as conn:
        return json_response(blobs.status(conn, sha256).to_dict())


@blp.route("/<sha256>", methods=["GET"])
@blp.doc(operationId="getBlob", parameters=[_SHA_PARAM], responses={
    "200": {"description": "the bytes", "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                          "format": "binary"}}}}})
@error_answers(blp, described={404: "not uploaded", 422: "bad name"})
@authenticated
def get_blob(sha256: str):
    """The blob's bytes."""
    blobs.check_name(sha256)
    with services().engine.connect() as conn:
        data, content_type = blobs.get(conn, sha256)
    return Response(data, mimetype=content_type, headers={"Cache-Control": "private, max-age=31536000, immutable"})
