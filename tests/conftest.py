"""Shared fixtures: the real app on a real database, people with device tokens, and
device replicas on real SQLite files talking to the app through httpx.

``FIELDSYNC_TEST_DATABASE_URL`` picks the server database: unset, each test gets a new
SQLite file; a PostgreSQL URL runs the same suite there (tables emptied per test).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from server import create_app
from server.auth import add_device, add_user
from server.db import create_schema, make_engine
from server.tables import log_head, metadata
from sync.client import Replica
from sync.hlc import now_ms
from sync.transport import HttpTransport

PG_URL = os.environ.get("FIELDSYNC_TEST_DATABASE_URL")

#: a RAM disk, when the machine has one with room for a test's files (a container's may be tiny)
_RAM_DISK = Path("/dev/shm")
_RAM_NEEDED = 1 << 30


def pytest_configure(config) -> None:
    """Every test's files (``tmp_path``: the server's SQLite copy, the device replicas) on
    a RAM disk when there is one and no other place was asked for.

    A replica commits with ``synchronous = FULL``: on a shared disk its schema alone is
    a dozen fsyncs, half a second or more per device opened, and a test opens several.
    No test here can show what survives a power cut; a killed process loses nothing the
    kernel holds, so RAM proves the same (as ``tests.faults.scratch_dir`` argues). The
    directories of passing tests are removed as they finish (``tmp_path_retention_policy``
    in pyproject.toml), so the disk holds one test's files and the failures' at a time.
    """
    if config.option.basetemp or os.environ.get("PYTEST_DEBUG_TEMPROOT") or os.environ.get("TMPDIR"):
        return
    if _RAM_DISK.is_dir() and os.access(_RAM_DISK, os.W_OK) and shutil.disk_usage(_RAM_DISK).free >= _RAM_NEEDED:
        tempfile.tempdir = str(_RAM_DISK)


@dataclass
class Person:
    user_id: str
    role: str
    device_id: str
    token: str


def _private_database(base_url: str, suffix: str = "") -> tuple[str, Callable[[], None]]:
    """A database of this test run's own on the server of ``base_url``, and its dropper.

    Runs of the suite side by side (two engineers, CI) never share tables.
    """
    # no pool: an idle admin connection kept open would be found by the garbage collector
    # in some later test (a ResourceWarning, an error under this suite's warning filter)
    admin = sa.create_engine(make_engine(base_url).url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"fieldsync_test_{os.getpid()}{suffix}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_engine(base_url).url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def pg_url():
    """The URL of this run's private PostgreSQL database, or None on SQLite runs."""
    if not PG_URL:
        yield None
        return
    url, drop = _private_database(PG_URL)
    yield url
    drop()


@pytest.fixture(scope="session")
def _pg_engine(pg_url):
    if not pg_url:
        yield None
        return
    engine = make_engine(pg_url)
    create_schema(engine)
    yield engine
    engine.dispose()


def _empty(engine: sa.Engine) -> None:
    """Every table emptied, the log head put back at zero.

    DELETE, children first, not TRUNCATE: TRUNCATE gives each of the ~100 tables and
    indexes a new file, synced to disk at commit, a second or more per test where DELETE
    of a test's few rows takes milliseconds (docs/decisions.md, "The property test on
    PostgreSQL", measured the same for its reset).
    """
    deletes = "; ".join(f'DELETE FROM "{table.name}"' for table in reversed(metadata.sorted_tables))
    with engine.begin() as conn:
        # emptied, not written: the stock balance's triggers would put back, as negative
        # balances, the movements deleted after the balance (migration 0015_stock_balance)
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica; " + deletes)
        conn.execute(log_head.insert().values(id=1, last_seq=0, horizon=0))


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory, pg_url) -> Path | None:
    """An SQLite file migrated to head once per run, for each test to copy.

    Running the migrations into a new file costs about a third of a second of CPU per
    test; copying the migrated file a millisecond. The app still runs its start-up
    upgrade on the copy (at head: nothing to do), as on PostgreSQL, where the schema is
    also made once per run; the migrations themselves are tested from an empty database
    (``empty_database_url``, tests/test_migrations.py).
    """
    if pg_url:
        return None
    path = tmp_path_factory.mktemp("template") / "server.db"
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    engine.dispose()  # the last connection closed checkpoints the WAL: the file is whole
    assert not path.with_name("server.db-wal").exists()
    return path


@pytest.fixture
def database_url(tmp_path, _pg_engine, pg_url, _sqlite_template) -> str:
    if _pg_engine is not None:
        _empty(_pg_engine)
        return pg_url
    shutil.copyfile(_sqlite_template, tmp_path / "server.db")
    return f"sqlite:///{tmp_path / 'server.db'}"


@pytest.fixture(scope="session")
def _pg_empty_url(pg_url):
    if not pg_url:
        yield None
        return
    url, drop = _private_database(PG_URL, suffix="_empty")
    yield url
    drop()


@pytest.fixture
def empty_database_url(tmp_path, _pg_empty_url) -> str:
    """A database with no tables yet, on this run's backend: for migrations."""
    if not _pg_empty_url:
        return f"sqlite:///{tmp_path / 'empty.db'}"
    engine = make_engine(_pg_empty_url)
    with engine.begin() as conn:  # quicker than a new database: no checkpoint to wait for
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return _pg_empty_url


@pytest.fixture
def app(database_url):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True})
    yield app
    app.extensions["fieldsync"].engine.dispose()


@pytest.fixture
def app_factory(database_url):
    """``app_factory(**config)``: another app on the test database (its engine closed after)."""
    made = []

    def make(**config):
        made.append(create_app({"DATABASE_URL": database_url, "TESTING": True, **config}))
        return made[-1]

    yield make
    for other in made:
        other.extensions["fieldsync"].engine.dispose()


@pytest.fixture
def engine(app) -> sa.Engine:
    return app.extensions["fieldsync"].engine


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def people(engine) -> dict[str, Person]:
    """The desk, a manager, engineers Wang and Chen, and a depot keeper, one device each."""
    cast = {"desk": "desk", "manager": "manager", "wang": "engineer", "chen": "engineer", "depot": "depot"}
    out = {}
    with engine.begin() as conn:
        for name, role in cast.items():
            user_id = add_user(conn, name, role, user_id=f"u-{name}", depot_id="depot-main" if role == "depot" else None)
            device_id, token = add_device(conn, user_id, f"{name}'s device", device_id=f"d-{name}")
            out[name] = Person(user_id, role, device_id, token)
    return out


def http_client(app) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://fieldsync")


@pytest.fixture
def transport_for(app) -> Callable[[Person], HttpTransport]:
    def make(person: Person) -> HttpTransport:
        return HttpTransport(http_client(app), person.token, sleep=lambda _s: None)

    return make


@pytest.fixture
def replica_for(tmp_path, transport_for) -> Callable[..., Replica]:
    """``replica_for(person)`` opens (or reopens) that person's device replica."""
    opened = []

    def make(person: Person, *, transport=None, **kw) -> Replica:
        replica = Replica(tmp_path / f"{person.device_id}.replica", person.device_id,
                          transport or transport_for(person), **kw)
        opened.append(replica)
        return replica

    yield make
    for replica in opened:
        try:
            replica.close()
        except Exception:
            pass


def auth_header(person: Person) -> dict:
    return {"Authorization": f"Bearer {person.token}"}


class Timeline:
    """Real time, simulated: the server's clock and every device's, each device wrong by
    its own skew and on an elapsed-time clock nobody sets (the one that sees jumps).

    ``advance`` lets time pass for everyone; ``set_clock`` moves one phone's wall clock
    (the person setting it, or network time correcting it) without time passing.
    """

    def __init__(self, replica_for, now: int):
        self.app = None
        self.now = now
        self._replica_for = replica_for
        self._skews: dict[str, int] = {}

    def advance(self, ms: int) -> None:
        self.now += ms

    def set_clock(self, person: Person, skew_ms: int) -> None:
        self._skews[person.device_id] = skew_ms

    def device(self, person: Person, skew_ms: int = 0, **options) -> Replica:
        self._skews[person.device_id] = skew_ms
        device_id = person.device_id
        return self._replica_for(person, transport=HttpTransport(http_client(self.app), person.token, sleep=lambda _s: None),
                                 wall=lambda: self.now + self._skews[device_id], elapsed=lambda: self.now, **options)


@pytest.fixture
def timeline(app_factory, replica_for) -> Timeline:
    """A server and devices on simulated time, starting now (see :class:`Timeline`)."""
    made = Timeline(replica_for, now_ms())
    made.app = app_factory(CLOCK_MS=lambda: made.now)
    return made


@pytest.fixture
def machine_zone(monkeypatch):
    """Set the server machine's local zone (``TZ``) for one test, restored after it: no rule
    may read the machine's clock in local time, so tests run it in Shanghai or New York."""
    def set_zone(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()
    yield set_zone
    monkeypatch.undo()
    time.tzset()
