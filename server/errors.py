"""Every error the server answers, as JSON with a stable code: one place.

``{"code": ..., "message": ..., "field"?: ..., "details"?: ...}`` with the HTTP status of
the :class:`sync.errors.SyncError` raised, or of the HTTP error werkzeug raised. Nothing
of the request body is logged: it holds customer data.
"""

from __future__ import annotations

import logging

import orjson
from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from sync.errors import SyncError

__all__ = ["register", "json_error"]

log = logging.getLogger("fieldsync")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    411: "length_required",
    413: "too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


def json_error(status: int, code: str, message: str, **extra) -> Response:
    body = {"code": code, "message": message}
    body.update({k: v for k, v in extra.items() if v})
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


def _sync_error(exc: SyncError) -> Response:
    response = Response(orjson.dumps(exc.to_dict()), status=exc.status, mimetype="application/json")
    retry = (exc.details or {}).get("retry_after")
    if retry is not None:  # a rate limit's refusal, whichever limit: when to come back
        response.headers["Retry-After"] = str(retry)
    return response


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = HTTP_CODES.get(status, "http_error" if status < 500 else "internal")
    response = json_error(status, code, exc.description or exc.name)
    if status == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _unexpected(exc: Exception) -> Response:
    log.exception("unexpected error: %s", type(exc).__name__)
    return json_error(500, "internal", "the server failed; the request changed nothing and may be retried")


def register(app: Flask) -> None:
    app.register_error_handler(SyncError, _sync_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
