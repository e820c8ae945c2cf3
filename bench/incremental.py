"""Benchmark 2: an incremental pull of 100 changes, from a log of 10,000 and of 1,000,000.

The promise (docs/protocol.md) is that a pull costs what it returns, not what the
server holds. Two live servers, one per log size, answer the same device in turn: it
rewinds its cursor to just before its last 100 changes and pulls them again (one HTTP
request, one page applied), alternating between the two servers so that both sizes
see the same machine. The log spreads its rows over 100 engineers, as a real one
does, and every row carries a realistic ticket.
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa

from server.db import create_schema, make_engine
from server.tables import log_head
from sync.client import Replica
from sync.transport import HttpTransport

from . import dataset, load, servers
from .report import Row, Section
from .stats import median, spread, stopwatch
from .wire import counting_client

__all__ = ["run"]

SIZES = (10_000, 1_000_000)
ENGINEERS = 100
ENGINEER = "e7"
CHANGES = 100
TARGET = 1.3
#: pulls per size; each is one request of one page
REPEATS = 30
_STAMP = "001780000000000:00000:bench-loader"


def run(runs: int) -> list[Section]:
    backends = [("SQLite", servers.sqlite_database)]
    if servers.postgres_available():
        backends.append(("PostgreSQL", servers.postgres_database))
    sections = []
    for label, make_database in backends:
        with make_database("incr_small") as small_url, make_database("incr_big") as big_url:
            for url, size in ((small_url, SIZES[0]), (big_url, SIZES[1])):
                _fill(url, size)
            with servers.fieldsync_server(small_url, workers=2) as small, \
                    servers.fieldsync_server(big_url, workers=2) as big:
                samples = _measure(small.url, big.url, max(runs, 1) * REPEATS // 5)
        sections.append(_section(label, samples))
    return sections


def _ticket_json() -> str:
    data = dataset.build(dataset.Shape(counts=(("customer", 1), ("equipment", 1), ("ticket", 1))), ENGINEER)
    return orjson.dumps(data.rows[-1].data[0]).decode()


def _fill(url: str, rows: int) -> None:
    """A log of ``rows`` changes, engineer ``e<i % 100>``'s, in bulk SQL; ends with ANALYZE."""
    engine = make_engine(url)
    create_schema(engine)
    load.add_people(engine, [ENGINEER], with_desk=False)
    sqlite = engine.dialect.name == "sqlite"
    numbers = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows) SELECT i FROM n"
               if sqlite else "SELECT generate_series(1, :rows) AS i")
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO change_log (seq, entity, row_id, op, version, hlc, data, device_id, changed_at) "
            f"SELECT i, 'ticket', 'ticket-' || i, 'upsert', 1, :stamp, :data, :device, CURRENT_TIMESTAMP "
            f"FROM ({numbers}) AS s"
        ), {"rows": rows, "stamp": _STAMP, "data": _ticket_json(), "device": load.LOADER_DEVICE})
        conn.execute(sa.text(
            f"INSERT INTO change_scope (scope_key, seq) SELECT 'engineer:e' || (i % {ENGINEERS}), i FROM ({numbers}) AS s"
        ), {"rows": rows})
        conn.execute(sa.update(log_head).values(last_seq=rows))
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()


def _measure(small_url: str, big_url: str, repeats: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"small": [], "big": [], "ratio": []}
    replicas = {}
    for name, url, size in (("small", small_url, SIZES[0]), ("big", big_url, SIZES[1])):
        client, _ = counting_client(url, compressed=True)
        replica = Replica(servers.fresh_replica(f"incr_{name}"), f"d-{ENGINEER}", HttpTransport(client, f"tok-{ENGINEER}"))
        replicas[name] = (replica, size - ENGINEERS * CHANGES)
    try:
        for _ in range(2):  # warm both servers and both replicas
            for replica, cursor in replicas.values():
                _pull_from(replica, cursor)
        for _ in range(repeats):
            times = {}
            for name, (replica, cursor) in replicas.items():
                times[name] = _pull_from(replica, cursor)
                out[name].append(times[name] * 1000)
            out["ratio"].append(times["big"] / times["small"])
    finally:
        for replica, _ in replicas.values():
            replica.close()
    return out


def _pull_from(replica: Replica, cursor: int) -> float:
    """Rewind the replica's cursor, pull, check it got exactly its 100 changes; seconds."""
    replica.db.execute("INSERT OR REPLACE INTO _sync_state (key, value) VALUES ('cursor', ?)", (str(cursor),))
    with stopwatch() as elapsed:
        report = replica.pull()
    if report.pulled != CHANGES:
        raise RuntimeError(f"pulled {report.pulled} changes, expected {CHANGES}")
    return elapsed[0]


def _section(label: str, r: dict[str, list[float]]) -> Section:
    ratio = median(r["ratio"])
    section = Section(f"2 incremental pull ({label})", [
        Row(f"pull of {CHANGES} changes, log of {SIZES[0]:,} (ms)", f"{median(r['small']):.1f}", runs=spread(r["small"])),
        Row(f"pull of {CHANGES} changes, log of {SIZES[1]:,} (ms)", f"{median(r['big']):.1f}", runs=spread(r["big"])),
        Row("latency ratio 1,000,000 ÷ 10,000 (same run)", f"{ratio:.2f}", f"≤ {TARGET}", ratio <= TARGET,
            spread(r["ratio"])),
    ])
    section.notes.append(f"{len(r['ratio'])} pulls per size, alternating between the two servers; each pull is "
                         f"one HTTP request to a live `fieldsync serve --workers 2` and one page applied to the "
                         f"replica. The log spreads its rows over {ENGINEERS} engineers.")
    return section
