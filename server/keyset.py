"""Keyset order: the rows after a key, in SQL — one condition for the office reports'
pages (:mod:`server.reports.paging`) and the depot API's (:mod:`server.domain` lists).

A list read this way seeks to the key instead of skipping rows, so the thousandth page
costs what the first does, and a row written meanwhile neither repeats nor hides one.
"""

from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa

__all__ = ["after_key"]


def after_key(columns: Sequence[sa.ColumnElement], key: tuple | None,
              descending: Sequence[bool] = ()) -> sa.ColumnElement:
    """SQL: the row's key (``columns`` in order) comes after ``key`` (true on the first
    page); ``descending``: per column, whether the order runs down that column."""
    if key is None:
        return sa.true()
    clauses = []
    for depth in range(len(columns)):
        equal = [columns[i] == key[i] for i in range(depth)]
        later = (columns[depth] < key[depth] if depth < len(descending) and descending[depth]
                 else columns[depth] > key[depth])
        clauses.append(sa.and_(*equal, later))
    return sa.or_(*clauses)
