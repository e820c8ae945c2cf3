"""What it costs to put the property test's server database back to the start of the day,
per example, each way tried (docs/decisions.md, "The property test on PostgreSQL").

Builds the day's start the property test builds (``tests/test_property_sync.py``,
``start_of_day``) on PostgreSQL, then resets it ``--times`` times each way, after a
write that dirties it, and checks each way gives back the day's start exactly:

* ``delete + copy``: DELETE FROM every table, COPY the rows back from memory (the one used);
* ``truncate + copy``: TRUNCATE every table instead of DELETE;
* ``delete + insert``, ``truncate + insert``: the rows back by executemany INSERTs
  (SQLAlchemy) instead of COPY;
* ``template``: CREATE DATABASE … TEMPLATE the loaded one, the last example's dropped;
* ``schema``: a schema per example, its tables made LIKE the loaded ones and filled by
  INSERT … SELECT, the last example's schema dropped;

and, run without the URL, the SQLite file copy (``sqlite copy``) for comparison.

    FIELDSYNC_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python -m tests.reset_cost [--times N]

A measure for docs/decisions.md, not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from typing import Callable

import sqlalchemy as sa

from server.auth import add_user
from server.db import make_engine
from server.tables import metadata
from tests.faults import scratch_dir
from tests.server_database import PostgresStart


def dirty(url: str) -> None:
    """What an example leaves behind: a person, an audit entry, a log head moved on."""
    engine = make_engine(url)
    with engine.begin() as conn:
        add_user(conn, "王师傅", "engineer", user_id="u-王师傅")
        conn.execute(sa.text("UPDATE log_head SET last_seq = last_seq + 1000"))
        conn.execute(sa.text("INSERT INTO audit (at, user_id, role, device_id, mutation_id, entity, row_id, op, "
                             "fields, status) VALUES (now(), 'u-王师傅', 'engineer', 'd-x', 'm-x', 'ticket', 't-x', "
                             "'insert', '[]', 'applied')"))
    engine.dispose()


def timed(name: str, reset: Callable[[], str], start: PostgresStart, expected, times: int) -> None:
    spent = []
    for _ in range(times):
        t0 = time.perf_counter()
        url = reset()
        spent.append(time.perf_counter() - t0)
        assert dump(url, start) == expected, f"{name} did not give back the day's start"
        dirty(url)
    print(f"{name:18} median {1000 * statistics.median(spent):7.1f} ms, mean {1000 * statistics.mean(spent):7.1f} ms, "
          f"max {1000 * max(spent):7.1f} ms ({times} resets)")


def dump(url: str, start: PostgresStart) -> dict:
    engine = make_engine(url)
    try:
        connection = engine.raw_connection()
        out = {}
        with connection.driver_connection.cursor() as cursor:
            for table in metadata.sorted_tables:
                with cursor.copy(f'COPY "{table.name}" TO STDOUT') as copy:
                    out[table.name] = sorted(b"".join(bytes(d) for d in copy).splitlines())
            cursor.execute("SELECT last_value FROM public.audit_id_seq")
            out["audit_id_seq"] = cursor.fetchone()[0]
        connection.commit()
        connection.close()
    finally:
        engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=30)
    args = parser.parse_args()
    if not os.environ.get("FIELDSYNC_TEST_DATABASE_URL"):
        sqlite_main(args.times)
        return
    from tests import test_property_sync as prop  # reads the URL at import

    morning = prop.start_of_day()
    start: PostgresStart = morning.server
    expected = dump(start.url, start)
    with start.engine.connect() as conn:
        rows = {t.name: [dict(r._mapping) for r in conn.execute(sa.select(t))] for t in metadata.sorted_tables}
    start.engine.dispose()
    sizes = {name: len(r) for name, r in rows.items() if r}
    print(f"day's start: {sum(sizes.values())} rows in {len(sizes)} of {len(metadata.sorted_tables)} tables")

    timed("delete + copy", lambda: start.fresh(morning.where), start, expected, args.times)

    def truncate_copy() -> str:
        connection = start.engine.raw_connection()
        with connection.driver_connection.cursor() as cursor:
            cursor.execute("TRUNCATE " + ", ".join(f'"{t.name}"' for t in metadata.sorted_tables))
            for table in metadata.sorted_tables:
                if start._rows[table.name]:
                    with cursor.copy(f'COPY "{table.name}" FROM STDIN') as copy:
                        copy.write(start._rows[table.name])
            for sequence, value, called in start._sequences:
                cursor.execute("SELECT setval(%s, %s, %s)", (sequence, value, called))
        connection.commit()
        connection.close()
        return start.url

    timed("truncate + copy", truncate_copy, start, expected, args.times)

    def insert(empty: str) -> str:
        with start.engine.begin() as conn:
            if empty == "truncate":
                conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)))
            else:
                for table in reversed(metadata.sorted_tables):
                    conn.execute(table.delete())
            for table in metadata.sorted_tables:
                if rows[table.name]:
                    conn.execute(table.insert(), rows[table.name])
            for sequence, value, called in start._sequences:
                conn.execute(sa.text("SELECT setval(:s, :v, :c)"), {"s": sequence, "v": value, "c": called})
        return start.url

    timed("delete + insert", lambda: insert("delete"), start, expected, args.times)
    timed("truncate + insert", lambda: insert("truncate"), start, expected, args.times)
    start.fresh(morning.where)
    start.engine.dispose()

    admin = sa.create_engine(make_engine(start.url).url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    source = make_engine(start.url).url.database
    made: list[str] = []

    def template() -> str:
        with admin.connect() as conn:
            if made:
                conn.execute(sa.text(f'DROP DATABASE "{made[-1]}" WITH (FORCE)'))
            made.append(f"{source}_copy{len(made)}")
            conn.execute(sa.text(f'CREATE DATABASE "{made[-1]}" TEMPLATE "{source}"'))
        return make_engine(start.url).url.set(database=made[-1]).render_as_string(hide_password=False)

    timed("template", template, start, expected, args.times)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{made[-1]}" WITH (FORCE)'))
    admin.dispose()

    schemas: list[str] = []
    engine = make_engine(start.url)

    def schema() -> str:
        with engine.begin() as conn:
            if schemas:
                conn.execute(sa.text(f'DROP SCHEMA "{schemas[-1]}" CASCADE'))
            schemas.append(f"example{len(schemas)}")
            conn.execute(sa.text(f'CREATE SCHEMA "{schemas[-1]}"'))
            for table in metadata.sorted_tables:
                conn.execute(sa.text(f'CREATE TABLE "{schemas[-1]}"."{table.name}" '
                                     f'(LIKE public."{table.name}" INCLUDING ALL)'))
                conn.execute(sa.text(f'INSERT INTO "{schemas[-1]}"."{table.name}" SELECT * FROM public."{table.name}"'))
            # a serial column made LIKE another still draws from the other's sequence
            for sequence, value, called in start._sequences:
                conn.execute(sa.text("SELECT setval(:s, :v, :c)"), {"s": sequence, "v": value, "c": called})
        # the app finds its tables by the search path the URL sets
        return make_engine(start.url).url.update_query_dict(
            {"options": f"-csearch_path={schemas[-1]}"}).render_as_string(hide_password=False)

    timed("schema", schema, start, expected, args.times)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schemas[-1]}" CASCADE'))
    engine.dispose()



def sqlite_main(times: int) -> None:
    from tests import test_property_sync as prop

    morning = prop.start_of_day()
    copies = scratch_dir("fieldsync-reset-cost-")
    spent = []
    for _ in range(times):
        t0 = time.perf_counter()
        morning.server.fresh(copies)
        spent.append(time.perf_counter() - t0)
    shutil.rmtree(copies, ignore_errors=True)
    print(f"{'sqlite copy':18} median {1000 * statistics.median(spent):7.1f} ms, mean "
          f"{1000 * statistics.mean(spent):7.1f} ms, max {1000 * max(spent):7.1f} ms ({times} copies of "
          f"{morning.server.path.stat().st_size // 1024} KiB)")

if __name__ == "__main__":
    main()
