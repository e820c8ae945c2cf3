"""A device process killed (SIGKILL) while it pulls a big scope in small pages, on a
server on SQLite or on PostgreSQL: the replica it leaves holds exactly what the pages up
to its stored cursor bring — never half a page — and the next sync completes it, equal
to the server.

The device runs in its own process against a real ``fieldsync serve``; the head office
scope it pulls (thousands of rows, a page at a time) does not change meanwhile, so what
each cursor implies is known exactly from the log. Each kill lands at a moment the test
names, not after a guessed delay: the device's process watches its own replica's SQL (the
``sqlite3`` trace hook, no change to the engine) and, at that moment of page *k*, says so
and waits to be killed —

* half of page *k*'s rows written, the rest not: the replica keeps the pages before *k*;
* all of page *k*'s rows written, its cursor not yet: the same;
* page *k* committed: the replica keeps the pages up to *k*.

``make soak`` kills it 100 times.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import sqlite3
import subprocess
import sys

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
from tests.faults import ROOT, ServerProcess, scratch_dir
from tests.invariants import Device, read_server, replica_matches_its_scope

pytestmark = pytest.mark.soak

SOAK = os.environ.get("FIELDSYNC_SOAK") == "1"
KILLS = 100 if SOAK else 5
CUSTOMERS = 4000
PAGE = 20

#: moment → how many pages, up to page k, the killed device keeps
MOMENTS = {"half its rows written": -1, "its rows written, its cursor not": -1, "committed": 0}

DEVICE = '''
"""The manager's phone pulling its scope until page PAGE reaches MOMENT, then waiting to be killed."""
import os
import sys
from sync.client import Replica
from sync.transport import HttpTransport

path, url, page_size, page, moment = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
state = {"cursors": 0, "rows": 0, "committed": False}


def watch(sql):
    """Called by SQLite as each statement starts, on the thread that runs it."""
    cursor = sql.startswith("INSERT INTO _sync_state") and "'cursor'" in sql
    at_page = state["cursors"] == page - 1
    if at_page and sql.startswith('INSERT INTO "customer"'):
        state["rows"] += 1
    held = (
        (moment == "half its rows written" and at_page and state["rows"] == page_size // 2 + 1)
        or (moment == "its rows written, its cursor not" and at_page and cursor)
        or state["committed"]
    )
    if held:
        print(f"held at page {page}", flush=True)
        sys.stdin.read()  # until the test kills this process
        os._exit(1)  # the test went away
    state["cursors"] += cursor
    state["committed"] = moment == "committed" and state["cursors"] == page and sql == "COMMIT"


replica = Replica(path, "d-manager", HttpTransport.connect(url, "token-manager"), page_size=page_size)
replica.db.set_trace_callback(watch)
replica.pull()
'''


def head_office_with_customers(url: str) -> None:
    """People, and the desk's customers already on the server: the manager's whole scope."""
    app = create_app({"DATABASE_URL": url})
    engine = app.extensions["fieldsync"].engine
    with engine.begin() as conn:
        for name in ("desk", "manager"):
            add_user(conn, name, name, user_id=f"u-{name}")
            add_device(conn, f"u-{name}", f"{name}'s phone", device_id=f"d-{name}", token=f"token-{name}")
    clock = hlc.Clock("d-desk")
    for start in range(0, CUSTOMERS, 1000):
        mutations = [{"mutation_id": new_id(), "entity": "customer", "id": new_id(), "op": "insert",
                      "fields": {"name": f"北京客户{n:04d}", "zone": "ring2", "phone": f"010-{n:08d}"},
                      "hlc": str(clock.tick()), "base_version": None} for n in range(start, start + 1000)]
        apply_push(engine, REGISTRY, Caller("u-desk", "desk", "d-desk"),
                   {"changeset_id": new_id(), "device_id": "d-desk", "schema_version": 1, "mutations": mutations})
    engine.dispose()


def feed(engine: sa.Engine) -> list[int]:
    """The sequence numbers the manager's pull brings, in order (the log, evictions aside)."""
    with engine.connect() as conn:
        return list(conn.execute(sa.select(change_log.c.seq).where(change_log.c.op != "evict")
                                 .order_by(change_log.c.seq)).scalars())


def implied_by_cursor(engine: sa.Engine, cursor: str | None) -> dict[str, tuple[int, dict]]:
    """The customers the office's pages up to ``cursor`` bring: ``id → (version, row)``."""
    if cursor is None:
        return {}
    with engine.connect() as conn:
        entries = conn.execute(
            sa.select(change_log.c.row_id, change_log.c.op, change_log.c.version, change_log.c.data)
            .where(change_log.c.entity == "customer", change_log.c.seq <= position(cursor))
            .order_by(change_log.c.seq)
        ).all()
    rows: dict[str, tuple[int, dict]] = {}
    for row_id, op, version, data in entries:
        if op == "upsert":
            rows[row_id] = (version, orjson.loads(data))
        else:
            rows.pop(row_id, None)
    return rows


def position(cursor: str | None) -> int:
    return 0 if cursor is None else int(cursor.split(".")[0])


def replica_left_behind(path) -> tuple[str | None, dict[str, tuple[int, dict]]]:
    """The cursor and customers in a replica file, read as the next app start finds it."""
    if not path.exists():
        return None, {}
    db = sqlite3.connect(path)
    try:
        cursor = db.execute("SELECT value FROM _sync_state WHERE key = 'cursor'").fetchone()
        versions = dict(db.execute("SELECT id, _version FROM customer").fetchall())
        names = [f.name for f in REGISTRY.get("customer").fields]
        rows = {
            r[0]: (versions.get(r[0]), dict(zip(names, r[1:], strict=True)))
            for r in db.execute(f"SELECT id, {', '.join(names)} FROM customer")
        }
    finally:
        db.close()
    return (cursor[0] if cursor else None), rows


def forget(path) -> None:
    """A new phone: the replica file and its journal gone."""
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def test_device_killed_while_pulling_keeps_only_whole_pages_and_the_next_sync_completes(database_url, tmp_path, capsys):
    where = scratch_dir("fieldsync-crash-device-")
    head_office_with_customers(database_url)
    server = ServerProcess(database_url, tmp_path / "serve.log")
    engine = make_engine(database_url)
    path = where / "manager.replica"
    rng = random.Random(os.environ.get("FIELDSYNC_SEED", "crash-device"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = feed(engine)
    killed_at: dict[str, int] = dict.fromkeys(MOMENTS, 0)
    server.start()
    try:
        for _ in range(KILLS):
            cursor, _held = replica_left_behind(path)
            ahead = [seq for seq in log if seq > position(cursor)]
            if len(ahead) <= PAGE:  # too little left to stop half way: the next kill needs a fresh device
                forget(path)
                cursor, ahead = None, log
            page = rng.randint(1, math.ceil(len(ahead) / PAGE) - 1)  # a page with more after it
            moment = rng.choice(list(MOMENTS))
            device = subprocess.Popen(
                [sys.executable, "-c", DEVICE, str(path), server.url, str(PAGE), str(page), moment],
                cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            said = device.stdout.readline()
            device.kill()
            device.wait()
            device.stdin.close()
            device.stdout.close()
            assert said == f"held at page {page}\n", f"the device never reached page {page} ({moment}): {said!r}"

            left, held = replica_left_behind(path)
            kept = page + MOMENTS[moment]
            assert position(left) == (ahead[kept * PAGE - 1] if kept else position(cursor)), (
                f"killed at page {page}, {moment}: the replica's cursor is {left}")
            assert held == implied_by_cursor(engine, left), f"replica at cursor {left} holds a partial page"
            killed_at[moment] += 1
        replica = Replica(path, "d-manager", HttpTransport.connect(server.url, "token-manager"), page_size=PAGE)
        replica.sync()
        replica_matches_its_scope(read_server(engine), Device(name="manager", user_id="u-manager", role="manager",
                                                              device_id="d-manager", replica=replica))
        replica.transport.client.close()
        replica.close()
    finally:
        server.kill()
        engine.dispose()
        shutil.rmtree(where, ignore_errors=True)
    with capsys.disabled():
        print(f"\ndevice killed {KILLS} times in the middle of its pull: "
              + ", ".join(f"{n} with a page {moment}" for moment, n in killed_at.items()))
