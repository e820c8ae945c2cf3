"""The change log: the pull feed, in commit order.

Contract:

* :func:`claim` is the first statement of every transaction that appends. It writes the
  single ``log_head`` row, so appending transactions run one at a time and commit in the
  order they took their sequence numbers: a reader that has seen ``seq = n`` has seen
  every change below ``n`` that will ever exist (no gap when transactions commit out of
  sequence order, see docs/decisions.md). On SQLite the same write takes the database's
  write lock at once, so no deferred transaction deadlocks on upgrade.
* :func:`append` gives entries consecutive sequence numbers above the head.
* :func:`read` returns entries after a cursor, oldest first, reading only the index of
  the caller's scope keys (or the primary key for a reader of everything, who gets no
  evictions: nothing ever leaves its scope).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable

import orjson
import sqlalchemy as sa

from sync.errors import ResyncRequiredError

from . import driver
from .tables import change_log, change_scope, log_head

__all__ = ["LogEntry", "claim", "append", "read", "horizon", "head"]

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


def read(conn: sa.Connection, scope_keys: Iterable[str] | None, after: int, limit: int, *,
         seen_horizon: int | None = 0) -> list[sa.Row]:
    """Up to ``limit`` entries with ``seq > after`` in the given scopes, oldest first.

    ``seen_horizon`` is the horizon when the caller's cursor was handed out (``None``: no
    cursor, a snapshot, which the compacted log always holds whole). Raises
    ``ResyncRequiredError`` when a compaction since then may have removed news the caller
    needs: the horizon rose above both the cursor and what the caller had seen (see
    :mod:`server.compaction`). The horizon is read after the page: a compaction that
    commits between the two makes the answer ``resync_required``, never a page with a
    hole in it.
    """
    page = _page(conn, scope_keys, after, limit)
    if seen_horizon is not None and max(after, seen_horizon) < horizon(conn):
        raise ResyncRequiredError(
            "this cursor is older than the server's log: resync the scope (pending edits are kept)"
        )
    return page


def _page(conn: sa.Connection, scope_keys: Iterable[str] | None, after: int, limit: int) -> list[sa.Row]:
    columns = [change_log.c.seq, change_log.c.entity, change_log.c.row_id, change_log.c.op,
               change_log.c.version, change_log.c.hlc, change_log.c.data]
    if scope_keys is None:
        # A reader of everything never leaves a scope: evictions are for scoped readers.
        query = (sa.select(*columns).where(change_log.c.seq > after, change_log.c.op != "evict")
                 .order_by(change_log.c.seq).limit(limit))
        return conn.execute(query).all()
    keys = sorted(set(scope_keys))
    if not keys:
        return []
    # One bounded range scan per key, merged: the cost follows the page, not the log.
    per_key = []
    for key in keys:
        scan = (
            sa.select(change_scope.c.seq)
            .where(change_scope.c.scope_key == key, change_scope.c.seq > after)
            .order_by(change_scope.c.seq)
            .limit(limit)
            .subquery()
        )
        per_key.append(sa.select(scan.c.seq))
    merged = sa.union(*per_key).subquery() if len(per_key) > 1 else per_key[0].subquery()
    page = sa.select(merged.c.seq).order_by(merged.c.seq).limit(limit).subquery()
    query = sa.select(*columns).join(page, page.c.seq == change_log.c.seq).order_by(change_log.c.seq)
    return conn.execute(query).all()
