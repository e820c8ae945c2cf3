"""``fieldsync serve`` run as an operator runs it, for tests that need the real server:
gunicorn's master and workers on a loopback port of their own, stopped with SIGTERM.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

from sync.client import Replica
from sync.transport import HttpTransport

__all__ = ["free_port", "children", "serving", "device"]

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
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
def serving(database_url: str, *options: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """``fieldsync serve OPTIONS`` on a free port; its output is ``server.output`` once stopped."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", "from server.cli import main; main()", "serve", "--port", str(port), *options]
    server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # a hang guard: a busy machine may take a minute to boot it
        while not _answers(base_url):
            assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield server, base_url
    finally:
        server.send_signal(signal.SIGTERM)
        server.output = server.communicate(timeout=60)[0]


def _answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/v1/sync/pull").status_code == 401
    except httpx.TransportError:
        return False


@contextmanager
def device(base_url: str, person, path: Path) -> Iterator[Replica]:
    """A person's device replica syncing with the server over HTTP."""
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        replica = Replica(path, person.device_id, HttpTransport(client, person.token))
        try:
            yield replica
        finally:
            replica.close()
