"""A pull's cost follows the changes it returns, not the size of the log.

Proved by the query plan (timing on a shared machine proves nothing): the page is read
by index range scans, on a log of 1,000 and of 1,000,000 rows.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from server import changelog, driver
from server.tables import log_head


def fill_log(engine: sa.Engine, rows: int) -> None:
    """Append ``rows`` changes spread over 100 engineers' scopes, in bulk SQL."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            numbers = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows) SELECT i FROM n"
        else:
            numbers = "SELECT generate_series(1, :rows) AS i"
            # a log as its size says: the tests' DELETE between tests leaves the dead rows
            # of the last million here, and the plan of a thousand rows would be read off them
            conn.execute(sa.text("TRUNCATE change_log, change_scope"))
        conn.execute(sa.text(
            "INSERT INTO change_log (seq, entity, row_id, op, version, hlc, data, device_id, changed_at) "
            f"SELECT i, 'ticket', 't' || i, 'upsert', 1, NULL, '{{}}', 'd', CURRENT_TIMESTAMP FROM ({numbers}) AS s"
        ), {"rows": rows})
        conn.execute(sa.text(
            "INSERT INTO change_scope (scope_key, seq) "
            f"SELECT 'engineer:' || (i % 100), i FROM ({numbers}) AS s"
        ), {"rows": rows})
        conn.execute(sa.update(log_head).values(last_seq=rows))
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("ANALYZE change_log"))
            conn.execute(sa.text("ANALYZE change_scope"))
        else:
            conn.execute(sa.text("ANALYZE"))


def plan(engine: sa.Engine, scope_keys, after: int) -> str:
    """The query plan of the page ``changelog.read`` asks for, without the log head's row."""
    keys = None if scope_keys is None else sorted(set(scope_keys))
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        statement = driver.sql(conn, changelog.page_sql(None if keys is None else len(keys)))
        parameters = changelog.page_parameters(keys, after, 100)
        if engine.dialect.name == "sqlite":
            lines = [str(r[-1]) for r in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters)]
        else:
            with raw.cursor() as cur:
                cur.execute("EXPLAIN " + statement, parameters)
                lines = [r[0] for r in cur.fetchall()]
    return "\n".join(line for line in lines if "log_head" not in line)


@pytest.mark.parametrize("log_size", [1_000, 1_000_000])
def test_engineer_pull_reads_its_scope_by_index_whatever_the_log_size(engine, log_size):
    fill_log(engine, log_size)
    text = plan(engine, ["engineer:7", "catalog"], after=max(0, log_size - 100 * 100))
    if engine.dialect.name == "sqlite":
        scans = re.findall(r"SEARCH change_scope USING \w+ INDEX \S+ \(scope_key=\? AND seq>\?\)", text)
        assert len(scans) == 2  # one bounded range scan per scope key
        assert "SEARCH change_log USING INTEGER PRIMARY KEY (rowid=?)" in text
        assert "SCAN change_log" not in text and "SCAN change_scope" not in text
    else:
        assert "change_scope_pkey" in text
        # PostgreSQL rightly scans a table of a thousand rows; a big one must be searched.
        assert log_size < 100_000 or "Seq Scan" not in text


@pytest.mark.parametrize("log_size", [1_000, 1_000_000])
def test_office_pull_reads_the_log_by_its_primary_key_whatever_the_log_size(engine, log_size):
    fill_log(engine, log_size)
    text = plan(engine, None, after=log_size - 100)
    if engine.dialect.name == "sqlite":
        assert "SEARCH change_log USING INTEGER PRIMARY KEY (rowid>?)" in text
    else:
        # a range of the primary key, in its order, cut off by the page's LIMIT: at any size
        assert text.startswith("Limit") and "Index Scan using change_log_pkey on change_log" in text, text
        assert "Sort" not in text and "Seq Scan" not in text, text


def test_pull_after_100_changes_returns_exactly_those_from_a_large_log(engine):
    fill_log(engine, 100_000)
    after = 100_000 - 100 * 100  # engineer 7's last 100 changes come after this
    with engine.connect() as conn:
        page = changelog.read(conn, ["engineer:7"], after, 1000).records
    assert [seq for seq, *_ in page] == list(range(after + 7, 100_000, 100))
