"""Serving a pull: the caller's changes after a cursor, one page at a time.

Only the caller's scope is read (:mod:`server.scopes`), and of each row only the fields
their role may read (``Field.readers``): the log keeps whole rows, and a row a role sees
in part is cut on the way out. Rows with nothing to cut go out as stored.
"""

from __future__ import annotations

from functools import lru_cache

import orjson
import sqlalchemy as sa

from sync.errors import ValidationError
from sync.registry import REGISTRY, Registry

from . import changelog, scopes
from . import pull_format
from .params import whole_number

__all__ = ["read_changes", "parse_cursor", "format_cursor", "MAX_PAGE", "DEFAULT_PAGE"]

MAX_PAGE = 5000
DEFAULT_PAGE = 500


def parse_cursor(cursor: str | None) -> tuple[int, int | None]:
    """``(log position, horizon it was handed out under)``; no cursor is a snapshot: ``(0, None)``.

    A cursor is ``<seq>``, or ``<seq>.<horizon>`` once the log has been compacted: the
    horizon tells a cursor that read the compacted log from one that predates a
    compaction (:func:`server.changelog.read`).
    """
    if cursor is None:
        return 0, None
    parts = cursor.split(".")
    if len(parts) > 2 or not all(p.isascii() and p.isdigit() and len(p) <= 18 for p in parts):
        raise ValidationError("cursor is not one this server handed out", field="cursor")
    return int(parts[0]), int(parts[1]) if len(parts) == 2 else 0


def format_cursor(seq: int, horizon: int) -> str:
    return f"{seq}.{horizon}" if horizon else str(seq)


def parse_limit(raw: str | None) -> int:
    limit = whole_number(raw, "limit", 1, MAX_PAGE, details={"limit": MAX_PAGE})
    return DEFAULT_PAGE if limit is None else limit


def read_changes(engine: sa.Engine, user: dict, cursor: str | None, limit: int,
                 registry: Registry = REGISTRY, page_format: int = 1, estimate: bool = False) -> dict:
    """A page of changes in ``page_format`` (1: rows as objects; 2: :mod:`server.pull_format`);
    with ``estimate``, the answer's ``remaining`` says about how many changes there are
    from this page on (this page's included), for a progress bar."""
    after, seen = parse_cursor(cursor)
    # One statement reads the page and the horizon (changelog.read), so no transaction
    # is needed around it: without one, PostgreSQL is spared a BEGIN and a ROLLBACK, two
    # of the few round trips a pull makes.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        keys = scopes.reader_keys(user)
        page = changelog.read(conn, keys, after, limit + 1, seen_horizon=seen)
        remaining = changelog.count_after(conn, keys, after) if estimate else None
    answer = _page(page, user, after, limit, registry, page_format)
    if remaining is not None:
        answer["remaining"] = max(remaining, sum(_rows_in(answer)))
    return answer


def _rows_in(answer: dict):
    if answer.get("format") == 2:
        return (len(part["rows"]) for part in answer["entities"].values())
    return (len(answer["changes"]),)


def _page(page, user: dict, after: int, limit: int, registry: Registry, page_format: int) -> dict:
    records = page.records
    has_more = len(records) > limit
    records = records[:limit]
    cursor_after = format_cursor(records[-1][0] if records else after, page.horizon)
    if page_format == 2:
        return {"format": 2, "entities": pull_format.pack(records, registry, user["role"]),
                "cursor": cursor_after, "has_more": has_more}
    # Unpacking each row as a tuple and embedding the stored JSON as is: this loop runs
    # once per row of every snapshot, and named access cost five times as much.
    fragment = orjson.Fragment
    changes = [
        {"entity": entity, "id": row_id, "op": op, "version": version, "hlc": stamp,
         "data": None if data is None else fragment(data)}
        for _seq, entity, row_id, op, version, stamp, data, _horizon in records
    ]
    hidden = _hidden(registry, user["role"])
    if hidden:
        for change, (*_, data, _horizon) in zip(changes, records):
            cut = hidden.get(change["entity"])
            if cut and data is not None:
                change["data"] = {k: v for k, v in orjson.loads(data).items() if k not in cut}
    return {"changes": changes, "cursor": cursor_after, "has_more": has_more}


@lru_cache(maxsize=None)
def _hidden(registry: Registry, role: str) -> dict[str, frozenset[str]]:
    """The fields each entity keeps from ``role``; empty for most roles."""
    return {e.name: e.hidden_from(role) for e in registry if e.hidden_from(role)}
