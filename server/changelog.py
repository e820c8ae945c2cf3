"""The change log: the pull feed, in commit order.

Contract:

* :func:`claim` is the first statement of every transaction that appends. It writes the
  single ``log_head`` row, so appending transactions run one at a time and commit in the
  order they took their sequence numbers: a reader that has seen ``seq = n`` has seen
  every change below ``n`` that will ever exist (no gap when transactions commit out of
  sequence order, see docs/decisions.md). On SQLite the same write takes the database's
  write lock at once, so no deferred transaction deadlocks on upgrade.
* :func:`append` gives entries consecutive sequence numbers above the head.
* :func:`read` returns entries after a cursor, oldest first, with the horizon seen in
  the same snapshot, reading only the index of the caller's scope keys (or the primary
  key for a reader of everything, who gets no evictions: nothing ever leaves its scope).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Iterable

import orjson
import sqlalchemy as sa

from sync.errors import ResyncRequiredError

from . import driver
from .tables import log_head

__all__ = ["LogEntry", "RECORD", "Page", "claim", "append", "read", "page_sql", "page_parameters", "horizon", "head"]

_LOG_COLUMNS = ("seq", "entity", "row_id", "op", "version", "hlc", "data", "device_id", "changed_at")


@dataclass
class LogEntry:
    entity: str
    row_id: str
    op: str  # upsert | delete | evict
    version: int
    data: dict | None
    hlc: str | None = None
    device_id: str | None = None
    scope_keys: list[str] = field(default_factory=list)
    seq: int | None = None


def claim(conn: sa.Connection) -> int:
    """Take the append lock for this transaction; return the newest seq."""
    return conn.exec_driver_sql(
        driver.sql(conn, "UPDATE log_head SET last_seq = last_seq WHERE id = ? RETURNING last_seq"), (1,)
    ).scalar_one()


def append(conn: sa.Connection, entries: list[LogEntry], last_seq: int) -> int:
    """Write ``entries`` after ``last_seq`` (from :func:`claim`); return the new head."""
    if not entries:
        return last_seq
    now = driver.stamp(conn, datetime.now(timezone.utc))
    rows, scopes = [], []
    for seq, entry in enumerate(entries, start=last_seq + 1):
        entry.seq = seq
        data = None if entry.data is None else orjson.dumps(entry.data).decode()
        rows.append((seq, entry.entity, entry.row_id, entry.op, entry.version, entry.hlc, data, entry.device_id, now))
        scopes.extend((key, seq) for key in dict.fromkeys(entry.scope_keys))
    driver.insert(conn, "change_log", _LOG_COLUMNS, rows)
    driver.insert(conn, "change_scope", ("scope_key", "seq"), scopes)
    new_head = last_seq + len(entries)
    driver.run(conn, "UPDATE log_head SET last_seq = ? WHERE id = ?", (new_head, 1))
    return new_head


def head(conn: sa.Connection) -> tuple[int, int]:
    """``(last_seq, horizon)``."""
    row = conn.execute(sa.select(log_head.c.last_seq, log_head.c.horizon).where(log_head.c.id == 1)).one()
    return row.last_seq, row.horizon


def horizon(conn: sa.Connection) -> int:
    return head(conn)[1]


#: The columns of a page's rows (plain tuples: this runs once per row of every
#: snapshot, and building a named tuple per row cost more than reading it).
RECORD = ("seq", "entity", "row_id", "op", "version", "hlc", "data")


@dataclass
class Page:
    """Entries after a cursor, oldest first, as tuples of :data:`RECORD` followed by the
    horizon (``data`` is the stored JSON text), and the log's horizon as the page saw it."""

    horizon: int
    records: list[tuple]


def read(conn: sa.Connection, scope_keys: Iterable[str] | None, after: int, limit: int, *,
         seen_horizon: int | None = 0) -> Page:
    """Up to ``limit`` entries with ``seq > after`` in the given scopes, oldest first.

    ``seen_horizon`` is the horizon when the caller's cursor was handed out (``None``: no
    cursor, a snapshot, which the compacted log always holds whole). Raises
    ``ResyncRequiredError`` when a compaction since then may have removed news the caller
    needs: the horizon rose above both the cursor and what the caller had seen (see
    :mod:`server.compaction`). The page and the horizon come from one statement, so from
    one snapshot: a compaction commits either before both (the answer is
    ``resync_required``, or a page of the compacted log under its horizon) or after both.
    Each entry is a tuple of :data:`RECORD` and the horizon.

    The statement goes to the driver's cursor as text (:mod:`server.driver`): this runs
    once per page of every sync, and building and compiling it through SQLAlchemy cost
    three times the read.
    """
    keys = None if scope_keys is None else sorted(set(scope_keys))
    if keys == []:
        return Page(horizon(conn), [])
    records = driver.fetch(conn, page_sql(None if keys is None else len(keys)), page_parameters(keys, after, limit))
    # An empty page has no row to carry the horizon: read it now. Later than the page,
    # it can only be higher, which sends the caller to resync sooner, never later.
    page = Page(records[0][-1] if records else horizon(conn), records)
    if seen_horizon is not None and max(after, seen_horizon) < page.horizon:
        raise ResyncRequiredError(
            "this cursor is older than the server's log: resync the scope (pending edits are kept)"
        )
    return page


def count_after(conn: sa.Connection, scope_keys: Iterable[str] | None, after: int) -> int:
    """About how many entries a reader of ``scope_keys`` has after ``after``: an estimate
    for a progress bar, not a promise. Counted on ``change_scope``'s primary key, one range
    per key; an entry in two of the keys counts twice (the catalog's rows and an
    engineer's are apart, so on a real scope it is close)."""
    if scope_keys is None:
        return driver.fetch(conn, "SELECT count(*) FROM change_log WHERE seq > ? AND op <> 'evict'", [after])[0][0]
    keys = sorted(set(scope_keys))
    if not keys:
        return 0
    counts = " UNION ALL ".join("SELECT count(*) AS n FROM change_scope WHERE scope_key = ? AND seq > ?" for _ in keys)
    total = driver.fetch(conn, f"SELECT sum(n) FROM ({counts}) c", [p for key in keys for p in (key, after)])[0][0]
    return int(total or 0)  # PostgreSQL's sum of counts is numeric


def page_parameters(scope_keys: list[str] | None, after: int, limit: int) -> list:
    """The parameters of :func:`page_sql`, in order."""
    if scope_keys is None:
        return [after, limit]
    return [p for key in scope_keys for p in (key, after, limit)] + [limit]


@lru_cache(maxsize=64)
def page_sql(key_count: int | None) -> str:
    """The page query (``?`` placeholders): entries in :data:`RECORD` order, each followed
    by the log's horizon.

    A reader of everything (``key_count`` None) reads the log by its primary key and
    never sees evictions: nothing ever leaves its scope. A scoped reader does one bounded
    range scan of ``change_scope`` per key, merged: the cost follows the page, not the log.
    The horizon is a subquery evaluated once per statement.
    """
    columns = ", ".join([*(f"change_log.{name}" for name in RECORD), "(SELECT horizon FROM log_head WHERE id = 1)"])
    if key_count is None:
        return f"SELECT {columns} FROM change_log WHERE seq > ? AND op <> 'evict' ORDER BY seq LIMIT ?"
    else:
        scans = " UNION ".join(
            f"SELECT k{i}.seq FROM (SELECT seq FROM change_scope WHERE scope_key = ? AND seq > ? "
            f"ORDER BY seq LIMIT ?) k{i}"
            for i in range(key_count)
        )
    return (f"SELECT {columns} FROM change_log JOIN "
            f"(SELECT u.seq FROM ({scans}) u ORDER BY u.seq LIMIT ?) p ON p.seq = change_log.seq "
            "ORDER BY change_log.seq")
