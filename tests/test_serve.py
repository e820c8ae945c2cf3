"""``fieldsync serve --workers 2`` really serves: gunicorn's master and two worker
processes on the run's database, devices syncing through them at the same time.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from click.testing import CliRunner

from server.cli import main
from sync.client import Replica
from sync.transport import HttpTransport

from tests.scenario import desk_opens_ticket

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            found.append(int(stat.parent.name))
    return found


@contextmanager
def _serving(database_url: str, workers: int) -> Iterator[tuple[subprocess.Popen, str]]:
    """``fieldsync serve`` started as an operator would, stopped with SIGTERM at the end."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", "from server.cli import main; main()",
               "serve", "--port", str(port), "--workers", str(workers), "--threads", "2"]
    server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _answers(base_url):
            assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield server, base_url
    finally:
        server.send_signal(signal.SIGTERM)
        server.output = server.communicate(timeout=30)[0]


def _answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/v1/sync/pull").status_code == 401
    except httpx.TransportError:
        return False


def test_serve_with_two_workers_syncs_devices_at_the_same_time(database_url, people, tmp_path):
    with _serving(database_url, workers=2) as (server, base_url):
        deadline = time.monotonic() + 30  # the first worker may answer before the second has booted
        while len(_children(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_children(server.pid)) == 2, "gunicorn did not start two workers"
        _desk_and_two_engineers_sync_through(base_url, people, tmp_path)
        assert len(_children(server.pid)) == 2, "a worker died while serving"
    assert server.returncode == 0 and "Traceback" not in server.output, server.output


@contextmanager
def _device(base_url: str, person, path: Path) -> Iterator[Replica]:
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        replica = Replica(path, person.device_id, HttpTransport(client, person.token))
        try:
            yield replica
        finally:
            replica.close()


def _desk_and_two_engineers_sync_through(base_url: str, people, tmp_path: Path) -> None:
    """The desk opens tickets; both engineers, at once (each has his tickets before either
    starts), diagnose theirs and sync each edit."""
    with _device(base_url, people["desk"], tmp_path / "desk.replica") as desk:
        tickets = {name: [desk_opens_ticket(desk, people[name].user_id)["ticket"] for _ in range(3)]
                   for name in ("wang", "chen")}

        both_at_work = threading.Barrier(2, timeout=60)

        def engineer_works(name: str) -> dict[str, str]:
            with _device(base_url, people[name], tmp_path / f"{name}.replica") as device:
                device.sync()
                both_at_work.wait()  # neither starts his edits before the other has his tickets
                for ticket in tickets[name]:
                    device.update("ticket", ticket, diagnosis=f"{name}更换了{ticket}的定影器")
                    device.sync()
                return {ticket: device.get("ticket", ticket)["diagnosis"] for ticket in tickets[name]}

        with ThreadPoolExecutor(2) as pool:
            diagnosed = dict(zip(tickets, pool.map(engineer_works, tickets), strict=True))
        desk.sync()
        for name, ids in tickets.items():
            for ticket in ids:
                wanted = f"{name}更换了{ticket}的定影器"
                assert diagnosed[name][ticket] == desk.get("ticket", ticket)["diagnosis"] == wanted


def test_serve_refuses_to_start_on_a_postgresql_database_without_its_migrations(empty_database_url):
    if empty_database_url.startswith("sqlite"):
        pytest.skip("the app migrates SQLite itself at start-up")

    result = CliRunner().invoke(main, ["serve", "--port", str(_free_port())], env={"DATABASE_URL": empty_database_url})

    assert result.exit_code == 1
    assert "run `fieldsync db upgrade` first" in result.output
