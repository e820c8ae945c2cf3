"""The connection a report runs on: one read transaction, planned for aggregates.

On PostgreSQL a report's statements group and join tens of thousands of rows once each,
then answer: compiling them to machine code (JIT, chosen by cost) takes longer on this
kind of server than running them, and hash tables and sorts of that size spill to disk
at the default ``work_mem``. Both are set for the report's own transaction only
(``SET LOCAL``), so nothing else on the pool sees them. SQLite has neither.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import sqlalchemy as sa

__all__ = ["report_connection", "WORK_MEM"]

#: memory one sort or hash of a report may use before it spills to disk (PostgreSQL)
WORK_MEM = "64MB"


@contextlib.contextmanager
def report_connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in a transaction (begun by its first statement) with the report
    settings; rolled back when it closes (a report writes nothing)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL jit = off")
            conn.exec_driver_sql(f"SET LOCAL work_mem = '{WORK_MEM}'")
        yield conn
