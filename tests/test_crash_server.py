"""The server process killed (SIGKILL) in the middle of a push, again and again, on SQLite
and on PostgreSQL: no change-set is ever half applied, and every device, retrying, ends
with its work on the server exactly once.

A real ``fieldsync serve`` (gunicorn, its own process group) on the run's database; three
devices, from threads, write batches of new records and push each batch as soon as it is
written. Each kill lands while a push is under way, seen by the test, not guessed by a
delay:

* on PostgreSQL the test locks one table a push writes (its rows, its log entries or the
  record of the change-set) against writes; once a push waits on that lock, its
  transaction open and the writes before it done, the server is killed;
* on SQLite, whose one write lock cannot stop a push half way, the server's processes
  are frozen (SIGSTOP) and looked at until the server holds the write lock while a
  change-set a device sent is not recorded: then killed.

While it is down, the database is checked against every change-set the devices sent:
recorded ones have all their rows and log entries, the others none, and the one cut short
is among the others. ``make soak`` kills it 100 times.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import threading
import time
from typing import Callable

import httpx
import orjson
import pytest
import sqlalchemy as sa

from server import create_app
from server.auth import add_device, add_user
from server.db import make_engine
from server.tables import audit, change_log, changesets, entity_table
from sync.client import Replica
from sync.errors import TransportError
from sync.transport import HttpTransport
from tests.faults import PushLedger, ServerProcess, scratch_dir

pytestmark = pytest.mark.soak

SOAK = os.environ.get("FIELDSYNC_SOAK") == "1"
KILLS = 100 if SOAK else 5
ENGINEERS = ("wang", "chen", "liu")
#: the new records an engineer makes between two syncs: one change-set
BATCH = 300
#: on PostgreSQL, the table locked against writes → where the push stands when the server dies
POSTGRES_MOMENTS = {
    "equipment": "log claimed, its rows not yet written",
    "change_log": "rows and audit written, its log entries not",
    "changesets": "rows and log written, the change-set not yet recorded",
}
SQLITE_MOMENT = "inside its transaction"


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    """Poll ``condition``; the timeout only stops a broken run from hanging."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting until {what}")
        time.sleep(0.005)


class Recorded:
    """The device's transport, writing down every change-set before it goes out, and
    which are out without an answer yet."""

    def __init__(self, inner: HttpTransport, ledger: PushLedger, in_flight: set[str]):
        self.inner, self.ledger, self.in_flight = inner, ledger, in_flight

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def push(self, changeset: dict) -> dict:
        changeset_id = changeset["changeset_id"]
        self.ledger.record(orjson.dumps(changeset))
        self.in_flight.add(changeset_id)
        try:
            return self.inner.push(changeset)
        finally:
            self.in_flight.discard(changeset_id)


class Device:
    def __init__(self, name: str, where, ledger: PushLedger, in_flight: set[str]):
        self.name, self.ledger, self.in_flight = name, ledger, in_flight
        self.replica = Replica(where / f"{name}.replica", f"d-{name}", batch_size=BATCH)
        self.written: list[str] = []
        self.client: httpx.Client | None = None

    def connect(self, url: str) -> None:
        self.close_link()
        self.client = httpx.Client(base_url=url, timeout=30.0)
        self.replica.transport = Recorded(HttpTransport(self.client, f"token-{self.name}", attempts=2, backoff=0.05),
                                          self.ledger, self.in_flight)

    def close_link(self) -> None:
        if self.client is not None:
            self.client.close()

    def write(self) -> None:
        self.replica.db.execute("BEGIN")  # an engineer's batch of new records, in one local transaction
        for _ in range(BATCH):
            n = len(self.written)
            self.written.append(self.replica.insert("equipment", model=f"{self.name}的冷柜 {n}号", serial=f"S{n}"))
        self.replica.db.execute("COMMIT")

    def work_until(self, stop: threading.Event) -> None:
        """New records, a sync, again, as long as the server answers."""
        while not stop.is_set():
            self.write()
            self.sync_until(stop)

    def sync_until(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.replica.sync()
                return
            except TransportError:
                time.sleep(0.02)


def prepare(url: str) -> None:
    app = create_app({"DATABASE_URL": url})
    engine = app.extensions["fieldsync"].engine
    with engine.begin() as conn:
        for name in ENGINEERS:
            add_user(conn, name, "engineer", user_id=f"u-{name}")
            add_device(conn, f"u-{name}", f"{name}'s phone", device_id=f"d-{name}", token=f"token-{name}")
    engine.dispose()


def recorded_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(changesets)).scalar_one()


# -- a kill in the middle of a push --------------------------------------------------------


def _pg_count(engine: sa.Engine, query: str, **parameters) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql(query, parameters).scalar_one()


def kill_in_a_push_on_postgresql(server: ServerProcess, engine: sa.Engine, rng: random.Random) -> str:
    """Hold one table a push writes; kill the server once a push waits on it."""
    table = rng.choice(list(POSTGRES_MOMENTS))
    with engine.connect() as holder:
        holder.exec_driver_sql(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        me = holder.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE %(me)s = ANY(pg_blocking_pids(pid))"
        wait_until(lambda: _pg_count(engine, waiting, me=me) > 0, f"a push waits to write {table}")
        server.kill()
        holder.rollback()
    # the dead server's connections roll back as each finds its client gone
    wait_until(lambda: _pg_count(engine, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                         "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
                                         "AND state <> 'idle'") == 0, "the killed server's transactions ended")
    return POSTGRES_MOMENTS[table]


def _sqlite_writer_holds_the_lock(path: str) -> bool:
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return True
    finally:
        probe.close()


def _sqlite_unrecorded(path: str, changeset_ids: set[str]) -> set[str]:
    if not changeset_ids:
        return set()
    db = sqlite3.connect(path, timeout=0)
    try:
        marks = ", ".join("?" for _ in changeset_ids)
        recorded = {r[0] for r in db.execute(f"SELECT changeset_id FROM changesets WHERE changeset_id IN ({marks})",
                                             sorted(changeset_ids))}
    except sqlite3.OperationalError:  # frozen at a moment readers must wait: look again later
        return set()
    finally:
        db.close()
    return changeset_ids - recorded


def kill_in_a_push_on_sqlite(server: ServerProcess, path: str, in_flight: set[str]) -> str:
    """Freeze the server, look: a push in its transaction is killed there, else thaw and look again.

    Frozen, the server commits nothing more, so a change-set out and not recorded now is
    one the kill cuts short.
    """
    caught = False

    def frozen_in_a_push() -> bool:
        nonlocal caught
        server.freeze()
        caught = _sqlite_writer_holds_the_lock(path) and bool(_sqlite_unrecorded(path, in_flight.copy()))
        if not caught:
            server.thaw()
        return caught

    wait_until(frozen_in_a_push, "the server is caught with a push in its transaction")
    server.kill()
    return SQLITE_MOMENT


# -- what the database holds ---------------------------------------------------------------


def nothing_half_applied(engine: sa.Engine, ledger: PushLedger) -> int:
    """Every change-set sent is on the server whole or not at all; return how many were
    sent and are not there (in flight when the server died, or never arrived)."""
    equipment = entity_table("equipment")
    with engine.connect() as conn:
        recorded = set(conn.execute(sa.select(changesets.c.changeset_id)).scalars())
        rows = set(conn.execute(sa.select(equipment.c.id)).scalars())
        logged = set(conn.execute(sa.select(change_log.c.row_id).where(change_log.c.entity == "equipment")).scalars())
    missing = 0
    for changeset_id, changeset in ledger.sent.items():
        ids = {m["id"] for m in changeset["mutations"]}
        if changeset_id in recorded:
            assert ids <= rows and ids <= logged, f"change-set {changeset_id} recorded but not all applied"
        else:
            assert not ids & rows and not ids & logged, f"change-set {changeset_id} half applied, not recorded"
            missing += 1
    return missing


def test_server_killed_in_the_middle_of_pushes_never_half_applies_and_every_retry_lands_once(
        database_url, tmp_path, capsys):
    where = scratch_dir("fieldsync-crash-server-")
    rng = random.Random(os.environ.get("FIELDSYNC_SEED", "crash-server"))
    prepare(database_url)
    server = ServerProcess(database_url, tmp_path / "serve.log")
    engine = make_engine(database_url)
    ledger, in_flight = PushLedger(), set()
    devices = [Device(name, where, ledger, in_flight) for name in ENGINEERS]
    moments: dict[str, int] = {}
    try:
        for _ in range(KILLS):
            server.start()
            for device in devices:
                device.connect(server.url)
            stop = threading.Event()
            threads = [threading.Thread(target=d.work_until, args=(stop,)) for d in devices]
            for thread in threads:
                thread.start()
            landed = recorded_count(engine) + rng.randrange(4)  # some pushes land first: kills fall all over the run
            wait_until(lambda: recorded_count(engine) >= landed, "the first pushes landed")
            if engine.dialect.name == "postgresql":
                moment = kill_in_a_push_on_postgresql(server, engine, rng)
            else:
                moment = kill_in_a_push_on_sqlite(server, engine.url.database, in_flight)
            stop.set()
            for thread in threads:
                thread.join()
            assert nothing_half_applied(engine, ledger) > 0, f"the kill ({moment}) cut no change-set short"
            moments[moment] = moments.get(moment, 0) + 1
        server.start()
        for device in devices:
            device.connect(server.url)
            device.replica.sync()
        server.kill()
        assert nothing_half_applied(engine, ledger) == 0
        assert all(d.replica.pending() == 0 and not d.replica.parked() for d in devices)
        sent = [m for cs in ledger.sent.values() for m in cs["mutations"]]
        assert sorted(m["id"] for m in sent) == sorted(row for d in devices for row in d.written), (
            "a record went out in two change-sets, or never")
        assert len({m["mutation_id"] for m in sent}) == len(sent)
        with engine.connect() as conn:
            # each row once; the eviction that follows tells its author it is in nobody's scope
            per_row = conn.execute(
                sa.select(change_log.c.row_id, sa.func.count())
                .where(change_log.c.entity == "equipment", change_log.c.op == "upsert")
                .group_by(change_log.c.row_id)
            ).all()
            audited = conn.execute(sa.select(audit.c.mutation_id, sa.func.count()).group_by(audit.c.mutation_id)).all()
        assert len(per_row) == len(sent) and {n for _, n in per_row} == {1}, "a row logged more than once"
        assert len(audited) == len(sent) and {n for _, n in audited} == {1}, "a mutation applied more than once"
        with capsys.disabled():
            print(f"\nserver killed {KILLS} times in the middle of a push ({len(sent)} records): "
                  + ", ".join(f"{n} {moment}" for moment, n in sorted(moments.items())))
    finally:
        server.kill()
        for device in devices:
            device.close_link()
            device.replica.close()
        engine.dispose()
        shutil.rmtree(where, ignore_errors=True)
