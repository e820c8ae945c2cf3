"""SQL text straight to the DB-API cursor, for the statements every push and request runs.

Through SQLAlchemy Core a statement costs ~0.2 ms before the database does anything
(building it, its cache key, an execution context, a result), and a bulk write went
through parameter dicts and type processors for every value of every row: together
about a third of a small push's time and a sixth of a large one's
(``bench/profiles/push.txt``). Here each statement's text is rendered once, rows go to
the driver as tuples of values it takes as they are (text, numbers, booleans, ``None``)
and come back as tuples. Two differences between the databases stay visible to callers:
a datetime on SQLite must be given in SQLAlchemy's text form (:func:`stamp`), and
SQLite returns booleans as 0 and 1.

Reads go to the cursor itself. Writes go through SQLAlchemy's ``exec_driver_sql``, still
without compiling or processing anything, so that engine events see every write (the
atomicity tests fail a push at a chosen statement that way). Statements are written
with ``?`` for each parameter; :func:`sql` turns them into the driver's placeholders.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

import sqlalchemy as sa

__all__ = ["sql", "marks", "quote", "fetch", "run", "insert", "update", "stamp"]

_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
_TEXTS: dict[tuple[str, str], str] = {}
_PROCESSORS: dict[str, Any] = {}


def sql(conn: sa.Connection, text: str) -> str:
    """``text`` with its ``?`` placeholders in the driver's paramstyle (rendered once)."""
    style = conn.dialect.paramstyle
    rendered = _TEXTS.get((style, text))
    if rendered is None:
        rendered = _TEXTS[(style, text)] = text.replace("?", _PLACEHOLDERS[style]) if style != "qmark" else text
    return rendered


def marks(count: int) -> str:
    """``?, ?, …`` for an ``IN`` list or ``VALUES`` of ``count`` parameters."""
    return ", ".join("?" * count)


def quote(conn: sa.Connection, name: str) -> str:
    """A table or column name as the database must see it (``"conflict"`` is a keyword)."""
    return conn.dialect.identifier_preparer.quote(name)


def fetch(conn: sa.Connection, text: str, params: Sequence = ()) -> list[tuple]:
    """Every row a query returns."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql(conn, text), tuple(params))
        return cursor.fetchall()
    finally:
        cursor.close()


def run(conn: sa.Connection, text: str, params: Sequence = ()) -> None:
    """One statement that returns nothing."""
    conn.exec_driver_sql(sql(conn, text), tuple(params))


def insert(conn: sa.Connection, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    """``INSERT`` each row: a tuple of values in ``columns`` order."""
    if rows:
        names = ", ".join(quote(conn, c) for c in columns)
        conn.exec_driver_sql(sql(conn, f"INSERT INTO {quote(conn, table)} ({names}) VALUES ({marks(len(columns))})"),
                             rows)


def update(conn: sa.Connection, table: str, columns: Sequence[str], key: str, rows: list[tuple]) -> None:
    """``UPDATE`` the row whose ``key`` is each tuple's last value, setting ``columns`` to the others."""
    if rows:
        sets = ", ".join(f"{quote(conn, c)} = ?" for c in columns)
        conn.exec_driver_sql(sql(conn, f"UPDATE {quote(conn, table)} SET {sets} WHERE {quote(conn, key)} = ?"), rows)


def stamp(conn: sa.Connection, value: datetime | None) -> Any:
    """A datetime as the driver is to be given it for a ``DateTime`` column."""
    name = conn.dialect.name
    if name not in _PROCESSORS:
        _PROCESSORS[name] = sa.DateTime(timezone=True).dialect_impl(conn.dialect).bind_processor(conn.dialect)
    process = _PROCESSORS[name]
    return process(value) if process is not None and value is not None else value
