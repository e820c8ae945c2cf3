"""``/v1/sync``: push change-sets, pull changes, read one row."""

from __future__ import annotations

import json
from typing import Any

import orjson
from flask import g, request
from flask_smorest import Blueprint

from sync.errors import NotFoundError, ResyncRequiredError, ValidationError
from sync.registry import REGISTRY

from .. import pull as pull_service
from ..params import whole_number
from ..push import Caller, apply_push
from ..row_lookup import ID_PATTERN, visible_row
from ..pull_format import FORMATS, parse_format
from ..schemas import ChangeSetSchema, PullAnswerSchema, PullPage2Schema, PushAnswerSchema, RowSchema
from .common import authenticated, error_answers, json_response, services

blp = Blueprint("sync", __name__, url_prefix="/v1/sync", description="Change-set exchange with devices")

_CURSOR = {"type": "string", "pattern": "^[0-9]{1,18}([.][0-9]{1,18})?$"}
_LIMIT = {"type": "integer", "minimum": 1, "maximum": pull_service.MAX_PAGE}
_FORMAT = {"type": "integer", "enum": list(FORMATS)}
#: a pull answer's cursor and has_more, repeated in its head (``docs/protocol.md``)
CURSOR_HEADER = "Fieldsync-Cursor"
MORE_HEADER = "Fieldsync-Has-More"


@blp.route("/push", methods=["POST"])
@blp.doc(
    operationId="push",
    requestBody={"required": True, "content": {"application/json": {"schema": ChangeSetSchema}}},
    parameters=[
        {"name": "pull", "in": "query", "required": False, "schema": {"type": "integer", "enum": [0, 1]},
         "description": "1: the answer carries the first pull page after `cursor` as `pull` (one round trip for "
                        "a sync that pushes and pulls)"},
        {"name": "cursor", "in": "query", "required": False, "schema": _CURSOR,
         "description": "with pull=1: the pull's cursor (absent: a snapshot)"},
        {"name": "limit", "in": "query", "required": False, "schema": _LIMIT, "description": "with pull=1"},
        {"name": "format", "in": "query", "required": False, "schema": _FORMAT, "description": "with pull=1"},
    ],
)
@blp.response(200, PushAnswerSchema)
@error_answers(blp, 403, 413, 422, described={
    409: "changeset_reused: the id was answered for other mutations (send them under a new id)"})
@authenticated
def push():
    """Apply a change-set once; a retry with the same changeset_id gets the first answer."""
    first_page = _first_page_asked()
    payload = _decode(request.get_data(cache=False))
    user, device = g.user, g.device
    caller = Caller(user["id"], user["role"], device["id"], user.get("depot_id"))
    answer = apply_push(services().engine, services().registry, caller, payload, config=services().config,
                        now_ms=services().now_ms())
    if first_page is not None:
        try:
            cursor, limit, page_format = first_page
            answer = {**answer, "pull": pull_service.read_changes(services().engine, user, cursor, limit,
                                                                  services().registry, page_format)}
        except ResyncRequiredError:
            pass  # the push stands; the device's own pull meets the 410 and resyncs
    return json_response(answer)


def _first_page_asked() -> tuple[str | None, int, int] | None:
    """``(cursor, limit, format)`` of the pull page a push was asked to carry (``pull=1``).
    Each is checked before the push applies, asked for or not: a bad one refuses the
    request, not half of it."""
    args = request.args
    cursor = args.get("cursor")
    pull_service.parse_cursor(cursor)
    asked = cursor, pull_service.parse_limit(args.get("limit")), parse_format(args.get("format"))
    return asked if whole_number(args.get("pull"), "pull", 0, 1) else None


def _flag(raw: str | None, name: str) -> bool:
    return bool(whole_number(raw, name, 0, 1))


def _decode(raw: bytes) -> Any:
    """The change-set as JSON, or 422 for the whole of it.

    orjson refuses an escaped UTF-16 half alone (``"\\ud800"``), which JSON's grammar
    allows and a client sends for text cut in the middle of an emoji. The standard
    library reads such a body, so that text rejects only its own mutation
    (``invalid_value``): refused whole, the change-set would come back on every sync and
    hold up every mutation behind it. UTF-8 only; NaN and Infinity are not JSON.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_not_json)
    except (ValueError, RecursionError):
        raise ValidationError("the body is not valid JSON") from None


def _not_json(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


@blp.route("/pull", methods=["GET"])
@blp.doc(
    operationId="pull",
    parameters=[
        {"name": "cursor", "in": "query", "required": False, "schema": _CURSOR,
         "description": "from the previous answer; absent for a fresh replica (a paged snapshot of the scope)"},
        {"name": "limit", "in": "query", "required": False, "schema": _LIMIT},
        {"name": "format", "in": "query", "required": False, "schema": _FORMAT,
         "description": "the page format: 1 (rows as objects, when absent) or 2 (columns named once per entity, "
                        "rows as arrays)"},
        {"name": "estimate", "in": "query", "required": False, "schema": {"type": "integer", "enum": [0, 1]},
         "description": "1: the answer says about how many changes remain (`remaining`), for a progress bar"},
    ],
    responses={"200": {
        "description": "a page of changes in the format asked for",
        "headers": {
            CURSOR_HEADER: {"schema": _CURSOR, "description": "the answer's `cursor`, before its body"},
            MORE_HEADER: {"schema": {"type": "string", "enum": ["0", "1"]},
                          "description": "the answer's `has_more` (1 or 0), before its body: ask for the next "
                                         "page while this one arrives"},
        },
        "content": {"application/json": {"schema": {"oneOf": [PullAnswerSchema, PullPage2Schema]}}}}},
)
@error_answers(blp, 403, 413, 422, described={410: "cursor too old: resync the scope"})
@authenticated
def pull():
    """Changes in the caller's scope after the cursor, oldest first."""
    limit = pull_service.parse_limit(request.args.get("limit"))
    page_format = parse_format(request.args.get("format"))
    estimate = _flag(request.args.get("estimate"), "estimate")
    answer = pull_service.read_changes(services().engine, g.user, request.args.get("cursor"), limit,
                                       services().registry, page_format, estimate)
    response = json_response(answer)
    # the page's end in the head, before its body: a device on a slow link asks for the
    # next page as soon as these arrive, while this body is still on its way
    response.headers[CURSOR_HEADER] = answer["cursor"]
    response.headers[MORE_HEADER] = "1" if answer["has_more"] else "0"
    return response


@blp.route("/rows/<entity>/<row_id>", methods=["GET"])
@blp.doc(
    operationId="row",
    parameters=[
        {"name": "entity", "in": "path", "required": True,
         "schema": {"type": "string", "enum": list(REGISTRY.names)}},
        {"name": "row_id", "in": "path", "required": True,
         "schema": {"type": "string", "pattern": ID_PATTERN, "maxLength": 64}},
    ],
)
@blp.response(200, RowSchema)
@error_answers(blp, described={404: "not stored, deleted, or not in the caller's scope (the same answer for each)"})
@authenticated
def row(entity: str, row_id: str):
    """One row as the caller's pull would give it (what a refusal given unread left unknown)."""
    with services().engine.connect() as conn:
        found = visible_row(conn, services().registry, g.user, entity, row_id)
    if found is None:
        raise NotFoundError("no such row for you: not stored, deleted, or not in your scope")
    return json_response(found)
