"""A device process killed (SIGKILL) while it pulls a big scope in small pages: the
replica it leaves holds exactly what the pages up to its stored cursor bring — never
half a page — and the next sync completes it, equal to the server.

The device runs in its own process against a real ``fieldsync serve``; the head office
scope it pulls (thousands of rows, a page at a time) does not change meanwhile, so what
each cursor implies is known exactly from the log. ``make soak`` kills it 100 times.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time

import orjson
import pytest
import sqlalchemy as sa

from server import create_app
from server.apply import Caller
from server.auth import add_device, add_user
from server.db import make_engine
from server.push import apply_push
from server.tables import change_log
from sync import hlc
from sync.client import Replica
from sync.ids import new_id
from sync.registry import REGISTRY
from sync.transport import HttpTransport
from tests.conftest import PG_URL
from tests.faults import ROOT, ServerProcess, scratch_dir
from tests.invariants import Device, read_server, replica_matches_its_scope

pytestmark = [
    pytest.mark.soak,
    pytest.mark.skipif(bool(PG_URL), reason="kills device processes syncing from a server on SQLite"),
]

SOAK = os.environ.get("FIELDSYNC_SOAK") == "1"
KILLS = 100 if SOAK else 5
CUSTOMERS = 4000
PAGE = 20

DEVICE = """
import sys
from sync.client import Replica
from sync.transport import HttpTransport
path, url = sys.argv[1:3]
replica = Replica(path, "d-manager", HttpTransport.connect(url, "token-manager"), page_size=int(sys.argv[3]))
print("pulling", flush=True)
replica.pull()
"""


def head_office_with_customers(where) -> str:
    """People, and the desk's customers already on the server: the manager's whole scope."""
    url = f"sqlite:///{where / 'server.db'}"
    app = create_app({"DATABASE_URL": url})
    engine = app.extensions["fieldsync"].engine
    with engine.begin() as conn:
        for name in ("desk", "manager"):
            add_user(conn, name, name, user_id=f"u-{name}")
            add_device(conn, f"u-{name}", f"{name}'s phone", device_id=f"d-{name}", token=f"token-{name}")
    clock = hlc.Clock("d-desk")
    for start in range(0, CUSTOMERS, 1000):
        mutations = [{"mutation_id": new_id(), "entity": "customer", "id": new_id(), "op": "insert",
                      "fields": {"name": f"customer {n}", "zone": "ring2", "phone": f"010-{n:08d}"},
                      "hlc": str(clock.tick()), "base_version": None} for n in range(start, start + 1000)]
        apply_push(engine, REGISTRY, Caller("u-desk", "desk", "d-desk"),
                   {"changeset_id": new_id(), "device_id": "d-desk", "schema_version": 1, "mutations": mutations})
    engine.dispose()
    return url


def implied_by_cursor(engine: sa.Engine, cursor: str | None) -> dict[str, tuple[int, dict]]:
    """The customers the office's pages up to ``cursor`` bring: ``id → (version, row)``."""
    if cursor is None:
        return {}
    upto = int(cursor.split(".")[0])
    with engine.connect() as conn:
        entries = conn.execute(
            sa.select(change_log.c.row_id, change_log.c.op, change_log.c.version, change_log.c.data)
            .where(change_log.c.entity == "customer", change_log.c.seq <= upto).order_by(change_log.c.seq)
        ).all()
    rows: dict[str, tuple[int, dict]] = {}
    for row_id, op, version, data in entries:
        if op == "upsert":
            rows[row_id] = (version, orjson.loads(data))
        else:
            rows.pop(row_id, None)
    return rows


def replica_left_behind(path) -> tuple[str | None, dict[str, tuple[int, dict]]]:
    """The cursor and customers in a replica file, read as the next app start finds it."""
    db = sqlite3.connect(path)
    try:
        cursor = db.execute("SELECT value FROM _sync_state WHERE key = 'cursor'").fetchone()
        versions = dict(db.execute("SELECT id, _version FROM customer").fetchall())
        names = [f.name for f in REGISTRY.get("customer").fields]
        rows = {
            r[0]: (versions.get(r[0]), dict(zip(names, r[1:])))
            for r in db.execute(f"SELECT id, {', '.join(names)} FROM customer")
        }
    finally:
        db.close()
    return (cursor[0] if cursor else None), rows


def test_device_killed_while_pulling_keeps_only_whole_pages_and_the_next_sync_completes(tmp_path, capsys):
    where = scratch_dir("fieldsync-crash-device-")
    server = ServerProcess(head_office_with_customers(where), tmp_path / "serve.log")
    engine = make_engine(server.database_url)
    path = where / "manager.replica"
    rng = random.Random()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cut = 0
    server.start()
    try:
        for _ in range(KILLS):
            device = subprocess.Popen([sys.executable, "-c", DEVICE, str(path), server.url, str(PAGE)],
                                      cwd=ROOT, env=env, stdout=subprocess.PIPE)
            device.stdout.readline()  # the replica is open, the pull begins
            time.sleep(rng.uniform(0.0, 1.0))
            device.kill()
            finished = device.wait() == 0
            device.stdout.close()
            cursor, held = replica_left_behind(path)
            assert held == implied_by_cursor(engine, cursor), f"replica at cursor {cursor} holds a partial page"
            if finished:  # it pulled everything before the kill: the next kill needs a fresh device
                for suffix in ("", "-wal", "-shm"):
                    path.with_name(path.name + suffix).unlink(missing_ok=True)
            else:
                cut += 1
        replica = Replica(path, "d-manager", HttpTransport.connect(server.url, "token-manager"), page_size=PAGE)
        replica.sync()
        replica_matches_its_scope(read_server(engine), Device("manager", "u-manager", "manager", "d-manager", replica))
        replica.transport.client.close()
        replica.close()
    finally:
        server.kill()
        engine.dispose()
        shutil.rmtree(where, ignore_errors=True)
    with capsys.disabled():
        print(f"\ndevice killed {KILLS} times, {cut} of them in the middle of its pull")
    assert cut > 0
