"""The property test's server database, put back to the start of the day for every
example, on the run's database: SQLite, or PostgreSQL when ``FIELDSYNC_TEST_DATABASE_URL``
is set.

The day's start (its people, the stock room, yesterday's work) is made once per run.

* SQLite: the state is a file; each example works on its own copy.
* PostgreSQL: one private database of the run's (``fieldsync_test_<pid>_property``) is
  loaded once; :meth:`PostgresStart.freeze` keeps every table's rows in memory, as
  ``COPY`` text, with every sequence's position; :meth:`PostgresStart.fresh` empties
  every table (DELETE) and copies the rows back in, in one transaction. Of the ways
  measured (a new database from a template, a schema per example, reload by INSERT or by
  COPY after DELETE or TRUNCATE) it is by far the fastest: docs/decisions.md, "The
  property test on PostgreSQL"; ``python -m tests.reset_cost`` measures them again.

The examples run one after another, so on PostgreSQL one database serves them all: an
example's server (and each restart of it) is a new app and engine on that database, and
the example's end disposes of them before the next reset.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from server.db import create_schema, make_engine
from server.tables import metadata

__all__ = ["SqliteStart", "PostgresStart", "server_start"]


class SqliteStart:
    """The day's start in ``where/server.db``; each example gets a copy of the file."""

    def __init__(self, where: Path):
        self.path = where / "server.db"
        self.url = f"sqlite:///{self.path}"

    def freeze(self) -> None:
        """The file, closed, is the state itself."""

    def fresh(self, where: Path) -> str:
        """A copy of the day's start in ``where``, and its URL."""
        shutil.copy(self.path, where / "server.db")
        return f"sqlite:///{where / 'server.db'}"

    def close(self) -> None:
        """The file goes with its directory."""


class PostgresStart:
    """A private PostgreSQL database of the run's, reset to the day's start per example."""

    def __init__(self, base_url: str):
        from tests.conftest import _private_database  # the suite's way to a database of the run's own

        self.url, self._drop = _private_database(base_url, suffix="_property")
        self.engine = make_engine(self.url)
        create_schema(self.engine)
        self._tables = [table.name for table in metadata.sorted_tables]
        self._rows: dict[str, bytes] = {}
        self._sequences: list[tuple[str, int, bool]] = []

    def freeze(self) -> None:
        """Keep what the database holds now as the day's start: each table's rows and
        each sequence's position (the audit's ids go on from where they stood)."""
        connection = self.engine.raw_connection()
        try:
            with connection.driver_connection.cursor() as cursor:
                for name in self._tables:
                    with cursor.copy(f'COPY "{name}" TO STDOUT') as copy:
                        self._rows[name] = b"".join(bytes(data) for data in copy)
                cursor.execute("SELECT schemaname || '.' || sequencename, start_value, last_value FROM pg_sequences "
                               "WHERE schemaname = current_schema()")
                self._sequences = [(name, last if last is not None else start, last is not None)
                                   for name, start, last in cursor.fetchall()]
            connection.commit()
        finally:
            connection.close()

    def fresh(self, where: Path) -> str:
        """The database back at the day's start, and its URL; ``where`` is not needed.

        DELETE, not TRUNCATE: TRUNCATE gives each of the ~100 tables and indexes a new file,
        synced to disk at commit, a second a reset where DELETE takes a twentieth of one
        (the dead rows it leaves are autovacuum's). Every engine of the last example must
        be disposed of first: a transaction left open would hold the rows it wrote.
        """
        connection = self.engine.raw_connection()
        try:
            with connection.driver_connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '60s'")  # an engine left open fails here, not hangs
                # a copy of the day's start, not writes: the stock balance's triggers would
                # count the movements put back a second time on top of the balance put back
                cursor.execute("SET LOCAL session_replication_role = replica")
                for name in reversed(self._tables):  # children before parents
                    cursor.execute(f'DELETE FROM "{name}"')
                for name in self._tables:  # parents before children
                    if self._rows[name]:
                        with cursor.copy(f'COPY "{name}" FROM STDIN') as copy:
                            copy.write(self._rows[name])
                for sequence, value, called in self._sequences:
                    cursor.execute("SELECT setval(%s, %s, %s)", (sequence, value, called))
            connection.commit()
        finally:
            connection.close()
        return self.url

    def dump(self) -> dict[str, list[bytes]]:
        """Every table's rows as the database holds them now, sorted: to compare states."""
        out = {}
        connection = self.engine.raw_connection()
        try:
            with connection.driver_connection.cursor() as cursor:
                for name in self._tables:
                    with cursor.copy(f'COPY "{name}" TO STDOUT') as copy:
                        out[name] = sorted(b"".join(bytes(data) for data in copy).splitlines())
            connection.commit()
        finally:
            connection.close()
        return out

    def close(self) -> None:
        self.engine.dispose()
        self._drop()


def server_start(pg_url: str | None, where: Path) -> SqliteStart | PostgresStart:
    """Where the day's start is built and kept: on PostgreSQL at ``pg_url``, else a file in ``where``."""
    return PostgresStart(pg_url) if pg_url else SqliteStart(where)
