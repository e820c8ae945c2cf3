"""The servers a benchmark talks to, started and always stopped by the benchmark itself.

fieldsync runs as ``fieldsync serve`` (gunicorn, exactly what production runs) and
Kinto as ``kinto start`` (waitress), each a subprocess bound to 127.0.0.1 on a free
port; nothing listens beyond loopback. Each database is fresh: an SQLite file under
``bench/.work/`` or a PostgreSQL database created for the run and dropped after it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import psycopg

__all__ = ["WORK", "PG_ADMIN_URL", "free_port", "sqlite_database", "postgres_database", "kept_postgres_database",
           "mark_database", "postgres_available", "fresh_replica", "remove_replicas", "fieldsync_server", "kinto_server", "Server"]

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"
BIN = Path(sys.executable).parent
#: A database on the PostgreSQL server where the benchmark may create and drop databases.
PG_ADMIN_URL = os.environ.get("FIELDSYNC_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
_READY_TIMEOUT = 60.0


class Server:
    """A running server: its base URL and its process."""

    def __init__(self, url: str, process: subprocess.Popen, log: Path):
        self.url = url
        self.process = process
        self.log = log


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def sqlite_database(name: str) -> Iterator[str]:
    """A new, empty SQLite database file; removed afterwards."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"{name}.db"
    _remove_sqlite(path)
    try:
        yield f"sqlite:///{path}"
    finally:
        _remove_sqlite(path)


def fresh_replica(name: str) -> Path:
    """A path for a new device replica under ``bench/.work/`` (any old one removed)."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"{name}.replica"
    _remove_sqlite(path)
    return path


def remove_replicas() -> None:
    """Delete every replica file a run left (the fleet alone leaves 200)."""
    for path in WORK.glob("*.replica"):
        _remove_sqlite(path)


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


@contextlib.contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database ``fieldsync_bench_<name>``; dropped afterwards."""
    db = f"fieldsync_bench_{name}"
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{db}"')
    try:
        yield f"{base}/{db}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def kept_postgres_database(name: str, mark: str) -> tuple[str, bool]:
    """A PostgreSQL database ``fieldsync_bench_<name>`` that outlives the run, and whether
    it already holds what ``mark`` names (its comment, set by :func:`mark_database` once
    it is filled): a database with another mark, or none, is made again empty."""
    db = f"fieldsync_bench_{name}"
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        found = admin.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                              (db,)).fetchone()
        if found is not None and found[0] == mark:
            return f"{base}/{db}", True
        admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{db}"')
    return f"{base}/{db}", False


def mark_database(url: str, mark: str) -> None:
    """Say what a kept database holds (:func:`kept_postgres_database` reads it back)."""
    db = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'COMMENT ON DATABASE "{db}" IS ' + "'" + mark.replace("'", "''") + "'")


def postgres_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@contextlib.contextmanager
def fieldsync_server(database_url: str, *, workers: int = 2, threads: int = 4) -> Iterator[Server]:
    """``fieldsync serve --workers N`` on a free loopback port, stopped on exit."""
    port = free_port()
    env = dict(os.environ, FIELDSYNC_DATABASE_URL=database_url)
    command = [str(BIN / "fieldsync"), "serve", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers), "--threads", str(threads)]
    with _process(command, env, f"fieldsync-{port}", f"http://127.0.0.1:{port}", "/v1/sync/pull") as server:
        yield server


@contextlib.contextmanager
def kinto_server(ini: Path) -> Iterator[Server]:
    """``kinto start`` with ``ini`` on a free loopback port, stopped on exit."""
    port = free_port()
    command = [str(BIN / "kinto"), "start", "--ini", str(ini), "--port", str(port)]
    with _process(command, dict(os.environ), f"kinto-{port}", f"http://127.0.0.1:{port}", "/v1/") as server:
        yield server


@contextlib.contextmanager
def _process(command: list[str], env: dict, name: str, url: str, probe: str) -> Iterator[Server]:
    WORK.mkdir(parents=True, exist_ok=True)
    log = WORK / f"{name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=WORK,
                                   start_new_session=True)
    try:
        _wait_ready(process, url + probe, log)
        yield Server(url, process, log)
    finally:
        _stop(process)
    log.unlink(missing_ok=True)  # kept only when something failed, to read why


def _wait_ready(process: subprocess.Popen, probe: str, log: Path) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}; see {log}")
        try:
            httpx.get(probe, timeout=2.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {probe} within {_READY_TIMEOUT:.0f} s; see {log}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM (gunicorn and waitress stop gracefully), then SIGKILL to its own group."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
