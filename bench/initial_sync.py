"""Benchmarks 1 and 5: a new replica syncs an engineer's whole scope from a live server.

The floor is plain SQLite ``executemany`` of the same rows into the same schema (the
replica's own, same pragmas, one transaction): no sync can write a replica faster, so
``sync rows/s ÷ floor rows/s`` says how much of the hardware the sync leaves unused.
Runs alternate floor, the engine's sync (page format 2, the best encoding: zstd),
the previous format's sync (format 1 with gzip) and a sync without compression, so
each ratio is taken side by side on the same minute of a shared machine. Bytes on the
wire come from the same syncs; the warm-up syncs measure format 2 with gzip and brotli.
"""

from __future__ import annotations

import sqlite3

import sqlite_utils

import client_schema
from server.db import create_schema, make_engine
from sync.client import Replica
from sync.local import to_column
from sync.pull import PAGE_SIZE
from sync.transport import HttpTransport

from . import dataset, load, servers
from .report import Row, Section
from .stats import median, spread, stopwatch
from .wire import counting_client

__all__ = ["run"]

ENGINEER = "u-eng-1"
TARGET_RATIO = 0.5
TARGET_BYTES = 0.7
#: what the engine's client accepts (httpx decodes each with zstandard and brotli installed)
BEST = "zstd, br, gzip"


def run(runs: int) -> list[Section]:
    data = dataset.build(dataset.ENGINEER_SCOPE, ENGINEER)
    with servers.sqlite_database("initial_sync") as url:
        engine = make_engine(url)
        create_schema(engine)
        load.add_people(engine, [ENGINEER])
        devices = iter(load.add_devices(engine, ENGINEER, 3 + 3 * runs))
        load.load_dataset(engine, data)
        engine.dispose()
        with servers.fieldsync_server(url, workers=2) as server:
            results = _measure(server.url, data, runs, devices)
    return _sections(data, results)


def _measure(base_url: str, data: dataset.Dataset, runs: int, devices) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {k: [] for k in (
        "floor", "best", "previous", "identity", "ratio", "ratio_previous", "bytes_best", "bytes_previous",
        "bytes_identity", "bytes_v2_gzip", "bytes_v2_br", "bytes_ratio")}
    prepared = _prepared_rows(data)
    # warm the server's caches and check what arrives, in both formats; bytes of format 2 by encoding
    _sync(base_url, data, next(devices), accept="gzip", page_format=1, check=True)
    for encoding, key in (("gzip", "bytes_v2_gzip"), ("br", "bytes_v2_br")):
        out[key].append(_sync(base_url, data, next(devices), accept=encoding, check=True)[1] / len(data))
    for _ in range(runs):
        floor_s = _floor(prepared)
        best_s, best_bytes = _sync(base_url, data, next(devices), accept=BEST)
        previous_s, previous_bytes = _sync(base_url, data, next(devices), accept="gzip", page_format=1)
        identity_s, identity_bytes = _sync(base_url, data, next(devices), accept="identity")
        out["floor"].append(len(data) / floor_s)
        out["best"].append(len(data) / best_s)
        out["previous"].append(len(data) / previous_s)
        out["identity"].append(len(data) / identity_s)
        out["ratio"].append(floor_s / best_s)
        out["ratio_previous"].append(floor_s / previous_s)
        out["bytes_best"].append(best_bytes / len(data))
        out["bytes_previous"].append(previous_bytes / len(data))
        out["bytes_identity"].append(identity_bytes / len(data))
        out["bytes_ratio"].append(best_bytes / previous_bytes)
    return out


def _prepared_rows(data: dataset.Dataset) -> list[tuple[str, list[tuple]]]:
    """The floor's input: each entity's INSERT and its rows as column values, made in advance."""
    prepared = []
    for part in data.rows:
        entity = part.entity
        columns = ["id", *entity.field_names]
        quoted = ", ".join(f'"{c}"' for c in columns)
        sql = f'INSERT INTO "{entity.name}" ({quoted}) VALUES ({", ".join("?" for _ in columns)})'
        values = [(row_id, *(to_column(f.type, row[f.name]) for f in entity.fields)) for row_id, row in zip(part.ids, part.data)]
        prepared.append((sql, values))
    return prepared


def _floor(prepared: list[tuple[str, list[tuple]]]) -> float:
    """Seconds to write the rows with plain ``executemany`` into a new replica file."""
    path = servers.fresh_replica("floor")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    # the capture triggers name these (SQLite resolves them when it prepares the INSERT,
    # though with applying set they never fire)
    db.create_function("fieldsync_hlc", 0, lambda: "")
    db.create_function("fieldsync_clock_frame", 0, lambda: 0)
    client_schema.apply(sqlite_utils.Database(db))
    db.execute("UPDATE _sync_control SET applying = 1")
    with stopwatch() as elapsed:
        db.execute("BEGIN")
        for sql, values in prepared:
            db.executemany(sql, values)
        db.execute("COMMIT")
    db.close()
    return elapsed[0]


def _sync(base_url: str, data: dataset.Dataset, device: tuple[str, str], *, accept: str, page_format: int = 2,
          check: bool = False) -> tuple[float, int]:
    """Seconds for ``Replica.sync()`` of the whole scope into a new replica, and the bytes moved."""
    client, counter = counting_client(base_url, compressed=True, accept_encoding=accept)
    device_id, token = device
    transport = HttpTransport(client, token, page_format=page_format)
    replica = Replica(servers.fresh_replica("replica"), device_id, transport)
    try:
        with stopwatch() as elapsed:
            report = replica.sync()
        if check:
            _check(replica, data, report.pulled)
    finally:
        replica.close()
        client.close()
    return elapsed[0], counter.total


def _check(replica: Replica, data: dataset.Dataset, pulled: int) -> None:
    """Every generated row arrived, and arrived as generated."""
    if pulled != len(data):
        raise RuntimeError(f"the replica pulled {pulled} changes, the scope holds {len(data)} rows")
    for part in data.rows:
        for index in (0, len(part.ids) - 1):
            got = replica.get(part.entity.name, part.ids[index])
            if got != part.data[index]:
                raise RuntimeError(f"{part.entity.name} {part.ids[index]} arrived as {got}, not {part.data[index]}")


def _sections(data: dataset.Dataset, r: dict[str, list[float]]) -> list[Section]:
    ratio = median(r["ratio"])
    shape = ", ".join(f"{n:,} {e}" for e, n in data.by_entity().items())
    first = Section("1 initial sync", [
        Row("sync rows/s (format 2, zstd, end to end)", f"{median(r['best']):,.0f}", runs=spread(r["best"])),
        Row("floor: executemany rows/s", f"{median(r['floor']):,.0f}", runs=spread(r["floor"])),
        Row("sync ÷ floor (same run)", f"{ratio:.2f}", f"≥ {TARGET_RATIO}", ratio >= TARGET_RATIO, spread(r["ratio"])),
        Row("sync ÷ floor, previous format (format 1, gzip; same run)", f"{median(r['ratio_previous']):.2f}",
            runs=spread(r["ratio_previous"])),
        Row("sync rows/s without compression (format 2)", f"{median(r['identity']):,.0f}", runs=spread(r["identity"])),
    ])
    first.notes.append(f"{len(data):,} rows in the engineer's scope: {shape}.")
    first.notes.append("Realistic rows (`bench/realistic.py`): UUIDv7 ids, Chinese names, addresses, fault "
                       "descriptions and diagnoses of real lengths, a few customers owning most equipment, "
                       "parts used by popularity, work logs and movements as the tickets' statuses imply.")
    first.notes.append("Live `fieldsync serve --workers 2` on SQLite over loopback; a new replica file per run; "
                       f"`Replica.sync()` (pages of {PAGE_SIZE:,}) timed from the first request to the last commit.")
    bytes_ratio = median(r["bytes_ratio"])
    wire = Section("5 bytes on the wire", [
        Row("bytes per synced row (format 2, zstd)", f"{median(r['bytes_best']):,.1f}"),
        Row("bytes per synced row, previous format (format 1, gzip)", f"{median(r['bytes_previous']):,.1f}"),
        Row("format 2 with zstd ÷ previous format (same run)", f"{bytes_ratio:.2f}", f"≤ {TARGET_BYTES}",
            bytes_ratio <= TARGET_BYTES, spread(r["bytes_ratio"])),
        Row("bytes per synced row, format 2 with gzip / with brotli",
            f"{median(r['bytes_v2_gzip']):,.1f} / {median(r['bytes_v2_br']):,.1f}"),
        Row("bytes per synced row, format 2 without compression", f"{median(r['bytes_identity']):,.0f}"),
    ])
    wire.notes.append("Counted during benchmark 1's syncs: request and status lines, headers and bodies both ways "
                      "(not TCP/IP framing), divided by the rows synced. Format 2 names each entity's columns "
                      "once per page and sends rows as arrays (docs/protocol.md, \"Pull page format 2\").")
    return [first, wire]
