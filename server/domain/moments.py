"""A time field's text as a moment SQL can compare, on either database.

Time fields hold ISO-8601 text with or without an offset (``2026-11-23`` or
``2026-11-23T08:30:00+08:00``), so comparing the text orders moments wrongly across
offsets. SQLite's ``datetime()`` reads both forms into UTC text (``YYYY-MM-DD HH:MM:SS``);
PostgreSQL casts them to ``timestamptz``. :func:`bound` puts a Python moment in the same
form, so ``moment(column) < bound(dialect, now)`` means the same on both.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

__all__ = ["moment", "bound"]

#: a time (after its ``T`` or space) that ends in its offset
_OFFSET = "[T ].*(Z|[+-][0-9]{2}:[0-9]{2})$"


def moment(column: sa.ColumnElement, dialect: str) -> sa.ColumnElement:
    """SQL: the time field ``column`` as a UTC moment (a naive time is UTC, as the domain reads it)."""
    if dialect == "sqlite":
        return sa.func.datetime(column)
    has_offset = column.regexp_match(_OFFSET)
    return sa.cast(sa.func.replace(column, "T", " ") + sa.case((has_offset, ""), else_="+00"),
                   sa.TIMESTAMP(timezone=True))


def bound(dialect: str, at: datetime) -> object:
    """``at`` as :func:`moment` compares it."""
    at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    if dialect == "sqlite":
        return sa.literal(at.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds"),
                          sa.String())
    return sa.literal(at, sa.TIMESTAMP(timezone=True))
