"""Benchmark 4: 200 devices syncing at once against ``fieldsync serve --workers 2``.

Each simulated device is a real :class:`sync.client.Replica` (its own SQLite file and
HTTP connection) for its own engineer, who holds 10 tickets with their customers and
equipment, a van and its stock movements, and the shared part catalog. Two phases,
both with every device at once:

* cold start: every device's first sync (its whole scope);
* a working day compressed: :data:`ROUNDS` rounds each of a diagnosis on two tickets,
  a part consumed, and ``sync()``, with a random pause of up to a second between
  rounds (devices reconnect at scattered times, not in lockstep).

A sync's latency is measured around ``Replica.sync()`` on the device, so it includes
the device's own work; the time its requests spent on the server (their round trips:
the server's queue and work) is reported beside it, so the reader sees which of the two
a figure measures. The simulated devices run in :data:`PROCESSES` processes (a phone
has a CPU of its own, not a share of one interpreter lock) on the machine's two cores,
which they share with the server: the figures are what this machine does with both
loads at once. The run is
bounded: at most ``DEVICES × (ROUNDS + 1)`` syncs, none started past a phase's time
limit, each request with its own timeout and at most three attempts.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from server.db import create_schema, make_engine
from sync.client import Replica
from sync.registry import REGISTRY
from sync.transport import HttpTransport

from . import dataset, load, servers
from .report import Row, Section
from .stats import median, percentile
from .wire import Counter, counting_client

__all__ = ["run"]

DEVICES = 200
#: processes the simulated devices are spread over (see :func:`_simulate`)
PROCESSES = 8
ROUNDS = 3
TARGET_P99_S = 2.0
#: no sync starts past this in a phase (the run must end by itself)
TIME_LIMIT_S = 300
#: per request; with the transport's 3 attempts, the longest a sync can take past the limit
REQUEST_TIMEOUT_S = 30.0
SCOPE = dataset.Shape(counts=(("customer", 5), ("equipment", 10), ("ticket", 10), ("stock_location", 1),
                              ("stock_movement", 20)))
CATALOG = dataset.Shape(counts=(("part", 500),))


def run(runs: int) -> list[Section]:
    with servers.sqlite_database("fleet") as url:
        engineers, parts = _load(url)
        with servers.fieldsync_server(url, workers=2) as server:
            cold, work, requests, work_s = _simulate(server.url, engineers, parts)
    return [_section(cold, work, requests, work_s)]


def _simulate(base_url: str, engineers: list[str], parts: list[str]) -> tuple["_Outcome", "_Outcome", int, float]:
    """The devices, spread over :data:`PROCESSES` processes that start each phase together.

    Phones each have a CPU of their own; 200 device threads in one Python process would
    instead queue for one interpreter lock at every SQLite call and socket read, and that
    queue, not the server, would be most of what is timed. Processes share the machine's
    cores with the server (and each other) as before; only the lock is no longer one.
    """
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(PROCESSES, timeout=TIME_LIMIT_S)
    answers = context.Queue()
    groups = [engineers[k::PROCESSES] for k in range(PROCESSES)]
    workers = [context.Process(target=_devices_in_one_process, args=(base_url, group, parts, barrier, answers))
               for group in groups]
    for worker in workers:
        worker.start()
    try:
        results = [answers.get(timeout=2 * TIME_LIMIT_S + 4 * REQUEST_TIMEOUT_S) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
    cold, work = _Outcome(), _Outcome()
    for part_cold, part_work, _requests, _started, _ended in results:
        cold.merge(part_cold)
        work.merge(part_work)
    requests = sum(r[2] for r in results)
    work_s = max(r[4] for r in results) - min(r[3] for r in results)
    return cold, work, requests, work_s


def _devices_in_one_process(base_url: str, engineers: list[str], parts: list[str], barrier, answers) -> None:
    counter = Counter()
    devices = [_Device(base_url, engineer, parts, counter) for engineer in engineers]
    try:
        barrier.wait()
        cold = _phase(devices, lambda d, deadline: d.first_sync(deadline))
        barrier.wait()
        requests_before = counter.requests
        started = time.time()
        work = _phase(devices, lambda d, deadline: d.work(ROUNDS, deadline))
        answers.put((cold.detached(), work.detached(), counter.requests - requests_before, started, time.time()))
    except Exception as exc:  # the parent counts it: a process that fails is an error, not a hang
        failed = _Outcome()
        failed.errors.append(f"{type(exc).__name__}: {exc}")
        answers.put((failed.detached(), _Outcome().detached(), 0, time.time(), time.time()))
    finally:
        for device in devices:
            device.close()


def _load(url: str) -> tuple[list[str], list[str]]:
    engine = make_engine(url)
    try:
        create_schema(engine)
        engineers = [f"u-f{k:03d}" for k in range(DEVICES)]
        load.add_people(engine, engineers, with_desk=False)
        catalog = dataset.build(CATALOG, "nobody", prefix="cat")
        load.load_dataset(engine, catalog)
        parts = catalog.rows[0].ids if catalog.rows else []
        for k, engineer in enumerate(engineers):
            load.load_dataset(engine, dataset.build(SCOPE, engineer, prefix=f"f{k:03d}", seed=k,
                                                    shared={"part": parts}))
        return engineers, parts
    finally:
        engine.dispose()


class _Exchanges:
    """The device's transport, timing each exchange with the server (request to decoded
    answer): how long a sync waited on the server, apart from the device's own work."""

    def __init__(self, inner: HttpTransport):
        self.inner = inner
        self.waited = 0.0

    def push(self, changeset: dict) -> dict:
        return self._timed(self.inner.push, changeset)

    def pull(self, cursor: str | None, limit: int) -> dict:
        return self._timed(self.inner.pull, cursor, limit)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)  # blobs: not timed, the fleet sends none

    def _timed(self, call, *args):
        started = time.perf_counter()
        try:
            return call(*args)
        finally:
            self.waited += time.perf_counter() - started


@dataclass
class _Sync:
    """One timed sync: its whole latency on the device, and the share spent on the server."""

    latency: float
    server: float


class _Device:
    def __init__(self, base_url: str, engineer: str, parts: list[str], counter: Counter):
        self.client, _ = counting_client(base_url, compressed=True, counter=counter, timeout=REQUEST_TIMEOUT_S)
        self.exchanges = _Exchanges(HttpTransport(self.client, f"tok-{engineer}", attempts=3))
        self.replica = Replica(servers.fresh_replica(f"fleet-{engineer}"), f"d-{engineer}", self.exchanges)
        self.engineer = engineer
        self.parts = parts
        self.rng = random.Random(engineer)

    def first_sync(self, deadline: float) -> list[_Sync]:
        return [self._timed_sync()]

    def work(self, rounds: int, deadline: float) -> list[_Sync]:
        syncs = []
        for _ in range(rounds):
            time.sleep(self.rng.uniform(0, 1.0))
            if time.monotonic() > deadline:
                raise TimeoutError("the fleet phase ran out of time")
            self._edit()
            syncs.append(self._timed_sync())
        return syncs

    def _edit(self) -> None:
        tickets = list(self.replica.all("ticket"))
        for ticket in self.rng.sample(tickets, min(2, len(tickets))):
            self.replica.update("ticket", ticket, diagnosis=f"worn belt, checked {self.rng.randrange(10**6)}")
        locations = self.replica.all("stock_location") if "stock_location" in REGISTRY else {}
        vans = [i for i, row in locations.items() if row.get("engineer_id") == self.engineer]
        if "stock_movement" in REGISTRY and vans and tickets and self.parts:
            self.replica.insert("stock_movement", kind="consume", part_id=self.rng.choice(self.parts), qty=1.0,
                                condition="new", from_location_id=vans[0], ticket_id=self.rng.choice(tickets),
                                occurred_at="2026-11-23T10:30:00+08:00")

    def _timed_sync(self) -> _Sync:
        self.exchanges.waited = 0.0
        started = time.perf_counter()
        report = self.replica.sync()
        if report.rejected:
            raise RuntimeError(f"{report.rejected} mutations rejected: {self.replica.parked()[:1]}")
        return _Sync(time.perf_counter() - started, self.exchanges.waited)

    def close(self) -> None:
        self.replica.close()
        self.client.close()


class _Outcome:
    def __init__(self) -> None:
        self.syncs: list[_Sync] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def merge(self, other: "_Outcome") -> None:
        self.syncs += other.syncs
        self.errors += other.errors

    def detached(self) -> "_Outcome":
        """This outcome without its lock, to send to another process."""
        copy = _Outcome.__new__(_Outcome)
        copy.syncs, copy.errors, copy.lock = self.syncs, self.errors, None
        return copy

    @property
    def latencies(self) -> list[float]:
        return [s.latency for s in self.syncs]

    @property
    def server(self) -> list[float]:
        return [s.server for s in self.syncs]


def _phase(devices: list[_Device], action) -> _Outcome:
    """Run ``action`` on every device at once, one thread each; collect syncs and errors.

    Bounded: a device starts no sync past the deadline, and every request has a timeout,
    so the phase ends at most one sync (its requests and their retries) after it.
    """
    outcome = _Outcome()
    deadline = time.monotonic() + TIME_LIMIT_S

    def one(device: _Device) -> None:
        try:
            if time.monotonic() > deadline:
                raise TimeoutError("the fleet phase ran out of time")
            syncs = action(device, deadline)
            with outcome.lock:
                outcome.syncs += syncs
        except Exception as exc:  # every failure is counted: the target is no error at all
            with outcome.lock:
                outcome.errors.append(f"{type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(max_workers=len(devices)) as pool:
        list(pool.map(one, devices))
    return outcome


def _section(cold: _Outcome, work: _Outcome, requests: int, work_s: float) -> Section:
    errors = len(cold.errors) + len(work.errors)
    p99 = percentile(work.latencies, 99) if work.latencies else float("inf")
    section = Section(f"4 fleet ({DEVICES} devices)", [
        Row("cold start: p50 / p99 first sync (s)",
            f"{median(cold.latencies):.2f} / {percentile(cold.latencies, 99):.2f}" if cold.latencies else "–"),
        Row("working: p50 / p99 sync (s)",
            f"{median(work.latencies):.2f} / {p99:.2f}" if work.latencies else "–", f"p99 < {TARGET_P99_S:.0f} s",
            p99 < TARGET_P99_S),
        Row("working: p50 / p99 of a sync spent on the server (s)",
            f"{median(work.server):.2f} / {percentile(work.server, 99):.2f}" if work.server else "–"),
        Row("errors", f"{errors}", "0", errors == 0),
        Row("working: syncs / requests / duration",
            f"{len(work.latencies)} / {requests} / {work_s:.0f} s ({requests / work_s:.0f} req/s)"),
    ])
    section.notes.append(f"{DEVICES} engineers, each a replica of 10 tickets, 5 customers, 10 equipment, a van and 20 "
                         f"stock movements, plus the shared catalog of {CATALOG.counts[0][1]} parts; server on SQLite.")
    section.notes.append(f"Working phase: {ROUNDS} rounds per device of 2 ticket edits and 1 part consumed, then "
                         "`sync()`, each after a random pause of 0–1 s.")
    section.notes.append("A sync's latency is timed on the device around `Replica.sync()`: it includes the device's "
                         "own work (its replica's writes and commits), done here by the simulated devices in "
                         f"{PROCESSES} processes on the server's two cores. The share spent on the server is the time from each "
                         "request's start to its decoded answer: the server's work and its queue, plus the network.")
    if cold.errors or work.errors:
        section.notes.append("First errors: " + "; ".join((cold.errors + work.errors)[:3]))
    return section
