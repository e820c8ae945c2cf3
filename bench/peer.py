"""Benchmark 6: fieldsync and Kinto side by side, syncing the same records.

Kinto (PyPI ``kinto``) is a Python JSON storage and sync server: its records API and
``_since`` changes feed do what fieldsync's push and pull do. Both run as one server
process on loopback on the same PostgreSQL server, and the same client code measures
both over HTTP with JSON parsed by orjson and no compression:

* push: N new records, 500 per request (fieldsync: change-sets of 500 inserts; Kinto:
  its ``/batch`` endpoint with 500 ``PUT`` requests, ``batch_max_requests`` raised
  from its default of 25 so it gets the same round trips);
* pull: every change since a point taken before the pushes (fieldsync: ``cursor``;
  Kinto: ``_since`` with ``_sort=last_modified``), 1,000 per page, following each
  server's paging; repeated, fieldsync then Kinto each time.

Each ratio is taken per pair of runs side by side. Kinto also runs on its memory
backend (no database at all), the fastest it can be.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import httpx
import orjson

from server.db import create_schema, make_engine
from sync import hlc
from sync.transport import HttpTransport

from . import dataset, load, servers
from .report import Row, Section
from .stats import median, spread, stopwatch

__all__ = ["run"]

RECORDS = 2_000
BATCH = 500
PAGE = 1_000
TARGET = 2.0
#: Kinto on PostgreSQL takes half a minute per run: three runs keep ``make bench`` short
MAX_RUNS = 3
DESK = "u-desk"
_AUTH = "Basic " + base64.b64encode(b"bench:bench").decode()
_COLLECTION = "/v1/buckets/fieldsync/collections/customer"

_INI = """\
[app:main]
use = egg:kinto
kinto.storage_backend = kinto.core.storage.{backend}
kinto.storage_url = {url}
kinto.permission_backend = kinto.core.permission.{backend}
kinto.permission_url = {url}
kinto.cache_backend = kinto.core.cache.memory
kinto.userid_hmac_secret = fieldsync-bench
multiauth.policies = basicauth
kinto.bucket_create_principals = system.Authenticated
kinto.batch_max_requests = {batch}

[server:main]
use = egg:waitress#main
host = 127.0.0.1
port = %(http_port)s

[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = plain

[logger_root]
level = WARNING
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = plain

[formatter_plain]
format = %(message)s
"""


def run(runs: int) -> list[Section]:
    if not servers.postgres_available():
        return [Section("6 peer: Kinto", error="PostgreSQL is not reachable: the side-by-side needs it")]
    records = _records(min(max(runs, 1), MAX_RUNS))
    with servers.postgres_database("peer_fieldsync") as fs_url, servers.postgres_database("peer_kinto") as kinto_url:
        _prepare_fieldsync(fs_url)
        _migrate_kinto(kinto_url)
        with servers.fieldsync_server(fs_url, workers=1) as fs, \
                servers.kinto_server(_ini("postgresql", kinto_url)) as kinto:
            pg = _measure(fs.url, kinto.url, records, pulls=2 * len(records) + 1)
    with servers.postgres_database("peer_fieldsync_mem") as fs_url:
        _prepare_fieldsync(fs_url)
        with servers.fieldsync_server(fs_url, workers=1) as fs, servers.kinto_server(_ini("memory", "")) as kinto:
            memory = _measure(fs.url, kinto.url, records[:1], pulls=3)
    return [_section(pg, memory)]


def _records(runs: int) -> list[list[tuple[str, dict]]]:
    """One list of new customer records per run (ids valid for both servers)."""
    shape = dataset.Shape(counts=(("customer", RECORDS * runs),))
    data = dataset.build(shape, DESK, prefix="peer").rows[0]
    pairs = list(zip(data.ids, data.data))
    return [pairs[k * RECORDS:(k + 1) * RECORDS] for k in range(runs)]


def _ini(backend: str, url: str) -> Path:
    servers.WORK.mkdir(parents=True, exist_ok=True)
    path = servers.WORK / f"kinto-{backend}.ini"
    path.write_text(_INI.format(backend=backend, url=url, batch=BATCH))
    return path


def _prepare_fieldsync(url: str) -> None:
    engine = make_engine(url)
    create_schema(engine)
    load.add_people(engine, [], with_desk=True)
    engine.dispose()


def _migrate_kinto(url: str) -> None:
    ini = _ini("postgresql", url)
    subprocess.run([str(servers.BIN / "kinto"), "migrate", "--ini", str(ini)], check=True, capture_output=True,
                   timeout=120, cwd=servers.WORK)


def _measure(fs_url: str, kinto_url: str, batches: list[list[tuple[str, dict]]],
             pulls: int) -> dict[str, list[float]]:
    """Push each batch to both servers in turn, then pull everything pushed, ``pulls`` times each."""
    out: dict[str, list[float]] = {k: [] for k in ("fs_push", "kinto_push", "fs_pull", "kinto_pull",
                                                   "push_ratio", "pull_ratio")}
    fs_client = httpx.Client(base_url=fs_url, headers={"Accept-Encoding": "identity"}, timeout=120)
    kinto = httpx.Client(base_url=kinto_url, headers={"Accept-Encoding": "identity", "Authorization": _AUTH},
                         timeout=120)
    try:
        transport = HttpTransport(fs_client, f"tok-{DESK}")
        clock = hlc.Clock(f"d-{DESK}")
        _kinto_setup(kinto)
        fs_start, kinto_start = _fieldsync_head(transport), _kinto_head(kinto)
        for index, records in enumerate(batches):
            fs_push = _fieldsync_push(transport, clock, records, index)
            kinto_push = _kinto_push(kinto, records)
            out["fs_push"].append(len(records) / fs_push)
            out["kinto_push"].append(len(records) / kinto_push)
            out["push_ratio"].append(kinto_push / fs_push)
        total = sum(len(records) for records in batches)
        for _ in range(pulls):
            fs_pull = _fieldsync_pull(transport, fs_start, total)
            kinto_pull = _kinto_pull(kinto, kinto_start, total)
            out["fs_pull"].append(total / fs_pull)
            out["kinto_pull"].append(total / kinto_pull)
            out["pull_ratio"].append(kinto_pull / fs_pull)
    finally:
        fs_client.close()
        kinto.close()
    return out


def _fieldsync_head(transport: HttpTransport) -> str:
    """The newest cursor: pull to the end of the log (the desk reads everything)."""
    cursor = None
    while True:
        answer = transport.pull(cursor, PAGE)
        cursor = answer["cursor"]
        if not answer["has_more"]:
            return cursor


def _fieldsync_push(transport: HttpTransport, clock: hlc.Clock, records: list[tuple[str, dict]], run: int) -> float:
    with stopwatch() as elapsed:
        for start in range(0, len(records), BATCH):
            mutations = [{"mutation_id": f"pm-{row_id}", "entity": "customer", "id": row_id, "op": "insert",
                          "fields": data, "hlc": str(clock.tick()), "base_version": None}
                         for row_id, data in records[start:start + BATCH]]
            answer = transport.push({"changeset_id": f"peer-{run}-{start}", "device_id": f"d-{DESK}",
                                     "schema_version": 1, "mutations": mutations})
            if any(r["status"] == "rejected" for r in answer["results"]):
                raise RuntimeError(f"fieldsync rejected a record: {answer['results'][:1]}")
    return elapsed[0]


def _fieldsync_pull(transport: HttpTransport, cursor: str, expected: int) -> float:
    got = 0
    with stopwatch() as elapsed:
        while True:
            answer = transport.pull(cursor, PAGE)
            got += len(answer["changes"])
            cursor = answer["cursor"]
            if not answer["has_more"]:
                break
    if got != expected:
        raise RuntimeError(f"fieldsync pulled {got} changes, expected {expected}")
    return elapsed[0]


def _kinto_setup(kinto: httpx.Client) -> None:
    for path in ("/v1/buckets/fieldsync", _COLLECTION):
        response = kinto.put(path, content=b"{}", headers={"Content-Type": "application/json"})
        response.raise_for_status()


def _kinto_head(kinto: httpx.Client) -> str:
    response = kinto.get(f"{_COLLECTION}/records", params={"_limit": 1})
    response.raise_for_status()
    return response.headers["ETag"].strip('"')


def _kinto_push(kinto: httpx.Client, records: list[tuple[str, dict]]) -> float:
    with stopwatch() as elapsed:
        for start in range(0, len(records), BATCH):
            body = {"defaults": {"method": "PUT"},
                    "requests": [{"path": f"{_COLLECTION}/records/{row_id}", "body": {"data": data}}
                                 for row_id, data in records[start:start + BATCH]]}
            response = kinto.post("/v1/batch", content=orjson.dumps(body), headers={"Content-Type": "application/json"})
            response.raise_for_status()
            failed = [r for r in orjson.loads(response.content)["responses"] if r["status"] >= 400]
            if failed:
                raise RuntimeError(f"Kinto refused a record: {failed[:1]}")
    return elapsed[0]


def _kinto_pull(kinto: httpx.Client, since: str, expected: int) -> float:
    got = 0
    with stopwatch() as elapsed:
        url: str | None = f"{_COLLECTION}/records"
        params: dict | None = {"_since": since, "_sort": "last_modified", "_limit": PAGE}
        while url:
            response = kinto.get(url, params=params)
            response.raise_for_status()
            got += len(orjson.loads(response.content)["data"])
            url, params = response.headers.get("Next-Page"), None
    if got != expected:
        raise RuntimeError(f"Kinto returned {got} changes, expected {expected}")
    return elapsed[0]


def _section(pg: dict[str, list[float]], memory: dict[str, list[float]]) -> Section:
    push_ratio, pull_ratio = median(pg["push_ratio"]), median(pg["pull_ratio"])
    section = Section("6 peer: Kinto", [
        Row("push records/s: fieldsync / Kinto (PostgreSQL)",
            f"{median(pg['fs_push']):,.0f} / {median(pg['kinto_push']):,.0f}"),
        Row("push: fieldsync ÷ Kinto (same run)", f"{push_ratio:.1f}×", f"≥ {TARGET:.0f}×", push_ratio >= TARGET,
            spread(pg["push_ratio"])),
        Row("pull records/s: fieldsync / Kinto (PostgreSQL)",
            f"{median(pg['fs_pull']):,.0f} / {median(pg['kinto_pull']):,.0f}"),
        Row("pull: fieldsync ÷ Kinto (same run)", f"{pull_ratio:.1f}×", f"≥ {TARGET:.0f}×", pull_ratio >= TARGET,
            spread(pg["pull_ratio"])),
        Row("Kinto on its memory backend: push ÷ / pull ÷",
            f"{median(memory['push_ratio']):.1f}× / {median(memory['pull_ratio']):.1f}×"),
    ])
    section.notes.append(f"{RECORDS:,} new customer records per push run, {BATCH} per request; each pull run reads "
                         "every record pushed; each server is one process "
                         "(`fieldsync serve --workers 1`, 4 threads; Kinto on waitress, 4 threads) on the same "
                         "PostgreSQL server; no compression either side; Kinto's request log silenced like gunicorn's.")
    section.notes.append("The memory row compares fieldsync on PostgreSQL with Kinto holding everything in its "
                         "process memory (one run).")
    return section
