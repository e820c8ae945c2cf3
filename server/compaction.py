"""Log compaction: drop the change-log entries no device needs any more.

Each entry holds its row whole (docs/decisions.md), so an entry matters only while it is
the newest of its row in some scope: a reader after it gets the later entry, which
carries everything. At or below the retention point, compaction removes

* per scope key, every entry a later entry of the same row in that key supersedes, and
  the newest ones that only delete or evict (a snapshot from cursor 0 needs no news of
  rows that are gone);
* from the log itself, entries left in no scope that the office (which reads the whole
  log, evictions aside) does not need either: evictions, superseded entries, deletes.

Superseded entries leave no gap: whoever would have read one reads its successor. A
purged delete or eviction does: a device whose cursor is below it still holds the row
and would never hear it went. The log's horizon rises to the newest such entry, and a
pull from an older cursor is answered ``resync_required`` (the device fetches its scope
afresh and keeps its pending edits), never a silent gap.

It runs in one transaction that holds the log's append lock (:func:`changelog.claim`),
so pushes wait for it, and a pull sees the log before it or after it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from . import changelog
from .tables import change_log, change_scope, log_head

__all__ = ["Compaction", "compact", "seq_before"]

_NEWS = ("delete", "evict")
_CHUNK = 500


@dataclass(frozen=True)
class Compaction:
    #: scope entries removed (a pull of that key no longer reads them)
    unscoped: int
    #: log entries removed
    purged: int
    #: the oldest cursor the log still serves
    horizon: int


def compact(engine: sa.Engine, keep_after_seq: int) -> Compaction:
    """Remove entries at or below ``keep_after_seq`` that no reader needs; raise the horizon."""
    with engine.begin() as conn:
        last_seq = changelog.claim(conn)
        cutoff = min(keep_after_seq, last_seq)
        unscoped, news = _unscope(conn, cutoff)
        purged, office_news = _purge(conn, cutoff)
        horizon = max([changelog.horizon(conn), *news, *office_news])
        conn.execute(sa.update(log_head).where(log_head.c.id == 1).values(horizon=horizon))
    return Compaction(unscoped, purged, horizon)


def _unscope(conn: sa.Connection, cutoff: int) -> tuple[int, list[int]]:
    """Drop scope entries superseded within their key, and the newest ones that are only news."""
    newer = sa.func.row_number().over(
        partition_by=(change_scope.c.scope_key, change_log.c.entity, change_log.c.row_id),
        order_by=change_scope.c.seq.desc(),
    )
    ranked = (
        sa.select(change_scope.c.scope_key, change_scope.c.seq, change_log.c.op, newer.label("rank"))
        .join(change_log, change_log.c.seq == change_scope.c.seq)
        .subquery()
    )
    doomed = conn.execute(
        sa.select(ranked.c.scope_key, ranked.c.seq, ranked.c.op, ranked.c.rank)
        .where(ranked.c.seq <= cutoff, sa.or_(ranked.c.rank > 1, ranked.c.op.in_(_NEWS)))
    ).all()
    for start in range(0, len(doomed), _CHUNK):
        chunk = doomed[start:start + _CHUNK]
        conn.execute(change_scope.delete().where(
            sa.tuple_(change_scope.c.scope_key, change_scope.c.seq).in_([(r.scope_key, r.seq) for r in chunk])
        ))
    return len(doomed), [r.seq for r in doomed if r.rank == 1]


def _purge(conn: sa.Connection, cutoff: int) -> tuple[int, list[int]]:
    """Drop log entries in no scope any more that the office does not need either."""

    def unscoped(seq: sa.ColumnElement) -> sa.ColumnElement:
        return ~sa.exists().where(change_scope.c.seq == seq)

    # the office never reads evictions: rank the other entries of each row, newest first
    newer = sa.func.row_number().over(
        partition_by=(change_log.c.entity, change_log.c.row_id), order_by=change_log.c.seq.desc()
    )
    ranked = sa.select(change_log.c.seq, change_log.c.op, newer.label("rank")).where(change_log.c.op != "evict").subquery()
    doomed = conn.execute(
        sa.select(ranked.c.seq, ranked.c.rank).where(
            ranked.c.seq <= cutoff, unscoped(ranked.c.seq), sa.or_(ranked.c.rank > 1, ranked.c.op == "delete")
        )
    ).all()
    evictions = conn.execute(
        sa.select(change_log.c.seq).where(change_log.c.seq <= cutoff, change_log.c.op == "evict",
                                          unscoped(change_log.c.seq))
    ).scalars().all()
    seqs = [r.seq for r in doomed] + list(evictions)
    for start in range(0, len(seqs), _CHUNK):
        conn.execute(change_log.delete().where(change_log.c.seq.in_(seqs[start:start + _CHUNK])))
    return len(seqs), [r.seq for r in doomed if r.rank == 1]


def seq_before(engine: sa.Engine, moment) -> int:
    """The newest seq appended before ``moment`` (a retention point given as a time)."""
    with engine.connect() as conn:
        found = conn.execute(sa.select(sa.func.max(change_log.c.seq)).where(change_log.c.changed_at < moment))
        return found.scalar() or 0
