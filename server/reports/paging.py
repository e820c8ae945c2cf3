"""Keyset paging for a report's rows: the next page starts after the last row's key.

A page is read as ``limit + 1`` rows ordered by the key; the extra row only says there
is more, and the key of the page's last row is the cursor of the next. Unlike an
offset, the database seeks to the key, so the thousandth page costs what the first does.
"""

from __future__ import annotations

from typing import Callable, Sequence

import sqlalchemy as sa

from .filters import encode_cursor

__all__ = ["after_key", "split"]


def after_key(columns: Sequence[sa.ColumnElement], key: tuple | None) -> sa.ColumnElement:
    """SQL: the row's key (``columns`` in order) comes after ``key`` (true on the first page)."""
    if key is None:
        return sa.true()
    clauses = []
    for depth in range(len(columns)):
        equal = [columns[i] == key[i] for i in range(depth)]
        clauses.append(sa.and_(*equal, columns[depth] > key[depth]))
    return sa.or_(*clauses)


def split(rows: list[dict], limit: int, key_of: Callable[[dict], tuple]) -> tuple[list[dict], str | None]:
    """The page (the first ``limit`` rows) and the cursor of the next, ``None`` on the last."""
    if len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    return page, encode_cursor(key_of(page[-1]))
