"""What every blueprint shares: the services on the app, authentication, JSON answers."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import orjson
import sqlalchemy as sa
from flask import Response, current_app, g, request
from flask_smorest import Blueprint

from sync.registry import Registry

from ..auth import authenticate
from ..domain.config import DomainConfig
from ..limits import limit_rate
from ..schemas import ErrorSchema

__all__ = ["Services", "services", "authenticated", "error_answers", "json_response"]


@dataclass
class Services:
    engine: sa.Engine
    registry: Registry
    config: DomainConfig
    #: the server's clock (ms since the epoch); a deployment never sets it
    now_ms: Callable[[], int]


def services() -> Services:
    return current_app.extensions["fieldsync"]


def authenticated(view):
    """Resolve the bearer token to ``g.user`` and ``g.device``, and count the device's
    request against its rate limit, before the view runs."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        # one read: in autocommit, PostgreSQL is spared a BEGIN and a ROLLBACK per request
        with services().engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            g.user, g.device = authenticate(conn, request.headers.get("Authorization"))
        limit_rate(current_app, g.device["id"])
        return view(*args, **kwargs)

    return wrapper


#: Every operation here is authenticated and rate limited, so each can answer these.
ALWAYS = {401: "no valid bearer token", 429: "too many requests: retry after Retry-After seconds"}


def error_answers(blp: Blueprint, *statuses: int, described: dict[int, str] | None = None):
    """Document the error answers an operation gives (always 401 and 429; ``statuses``
    with a generic description, ``described`` with its own), all in the one JSON shape."""
    answers = {status: "error" for status in statuses} | ALWAYS | (described or {})

    def decorate(view):
        for status, description in sorted(answers.items()):
            view = blp.alt_response(status, schema=ErrorSchema, description=description)(view)
        return view

    return decorate


def json_response(body: dict, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")
