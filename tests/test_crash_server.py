"""The server process killed (SIGKILL) in the middle of pushes, again and again: no
change-set is ever half applied, and every device, retrying, ends with its work on the
server exactly once.

A real ``fieldsync serve`` (gunicorn, its own process group) on an SQLite file; three
devices push big change-sets at it from threads, concurrently; at a random moment the
whole process group is killed. While it is down, the database is checked against every
change-set the devices sent: recorded ones have all their rows and log entries, the
others none. ``make soak`` kills it 100 times.
"""

from __future__ import annotations

import os
import random
import shutil
import threading
import time

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
from tests.conftest import PG_URL
from tests.faults import PushLedger, ServerProcess, scratch_dir

pytestmark = [
    pytest.mark.soak,
    pytest.mark.skipif(bool(PG_URL), reason="kills a server process on its own SQLite file"),
]

SOAK = os.environ.get("FIELDSYNC_SOAK") == "1"
KILLS = 100 if SOAK else 5
ENGINEERS = ("wang", "chen", "liu")
#: each device's new work per round: three change-sets of 300 inserts
ROWS_PER_ROUND = 900


class Recorded:
    """The device's transport, writing down every change-set before it goes out."""

    def __init__(self, inner: HttpTransport, ledger: PushLedger):
        self.inner, self.ledger = inner, ledger

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def push(self, changeset: dict) -> dict:
        self.ledger.record(orjson.dumps(changeset))
        return self.inner.push(changeset)


class Device:
    def __init__(self, name: str, where, ledger: PushLedger):
        self.name, self.where, self.ledger = name, where, ledger
        self.replica = Replica(where / f"{name}.replica", f"d-{name}", batch_size=300)

        self.client: httpx.Client | None = None

    def connect(self, url: str) -> None:
        self.close_link()
        self.client = httpx.Client(base_url=url, timeout=30.0)
        self.replica.transport = Recorded(HttpTransport(self.client, f"token-{self.name}", attempts=2, backoff=0.05),
                                          self.ledger)

    def close_link(self) -> None:
        if self.client is not None:
            self.client.close()

    def write(self, rows: int, round_no: int) -> None:
        self.replica.db.execute("BEGIN")  # an engineer's batch of new records, in one local transaction
        for n in range(rows):
            self.replica.insert("equipment", model=f"{self.name} round {round_no} unit {n}", serial=f"S{n}")
        self.replica.db.execute("COMMIT")

    def sync_until(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.replica.sync()
                return
            except TransportError:
                time.sleep(0.02)


def prepare(where) -> str:
    url = f"sqlite:///{where / 'server.db'}"
    app = create_app({"DATABASE_URL": url})
    engine = app.extensions["fieldsync"].engine
    with engine.begin() as conn:
        for name in ENGINEERS:
            add_user(conn, name, "engineer", user_id=f"u-{name}")
            add_device(conn, f"u-{name}", f"{name}'s phone", device_id=f"d-{name}", token=f"token-{name}")
    engine.dispose()
    return url


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


def test_server_killed_in_the_middle_of_pushes_never_half_applies_and_every_retry_lands_once(tmp_path, capsys):
    where = scratch_dir("fieldsync-crash-server-")
    rng = random.Random()
    server = ServerProcess(prepare(where), tmp_path / "serve.log")
    engine = make_engine(server.database_url)
    ledger = PushLedger()
    devices = [Device(name, where, ledger) for name in ENGINEERS]
    cut_short = 0
    try:
        for round_no in range(KILLS):
            for device in devices:
                device.write(ROWS_PER_ROUND, round_no)
            server.start()
            for device in devices:
                device.connect(server.url)
            stop = threading.Event()
            threads = [threading.Thread(target=d.sync_until, args=(stop,)) for d in devices]
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(0.05, 1.2))
            server.kill()
            stop.set()
            for thread in threads:
                thread.join()
            cut_short += nothing_half_applied(engine, ledger) > 0
        server.start()
        for device in devices:
            device.connect(server.url)
            device.replica.sync()
        server.kill()
        assert nothing_half_applied(engine, ledger) == 0
        assert all(d.replica.pending() == 0 and not d.replica.parked() for d in devices)
        sent = [m for cs in ledger.sent.values() for m in cs["mutations"]]
        assert len(sent) == len({m["mutation_id"] for m in sent}) == KILLS * ROWS_PER_ROUND * len(devices)
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
            print(f"\nserver killed {KILLS} times; {cut_short} kills left change-sets sent but not applied")
        assert cut_short > 0, "no kill landed while a push was under way"
    finally:
        server.kill()
        for device in devices:
            device.close_link()
            device.replica.close()
        engine.dispose()
        shutil.rmtree(where, ignore_errors=True)
