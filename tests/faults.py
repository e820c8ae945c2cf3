"""A network that fails the way field networks fail, and a server that restarts.

The device talks through the real :class:`sync.transport.HttpTransport`; below it,
:class:`FaultyNetwork` (an ``httpx`` transport) decides for each request whether it is
lost on the way out, answered but the answer lost on the way back, delivered twice, or
whether the device dies between the server applying a push and the device recording
the answer. Between requests the server may restart: :class:`RestartableServer` swaps
in a new app from ``create_app`` on the same database, so nothing survives in memory.

Every change-set a device sends is written down in a :class:`PushLedger`, so a test
can join what devices sent with what the server recorded and prove nothing acknowledged
was lost.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import sqlalchemy as sa

from server import create_app
from server.tables import audit, changesets
from sync.changeset import Mutation

__all__ = [
    "DeviceCrashedError",
    "FaultPlan",
    "CALM",
    "CI_FAULTS",
    "SOAK_FAULTS",
    "RestartableServer",
    "FaultyNetwork",
    "PushLedger",
    "Acknowledged",
    "scratch_dir",
    "ServerProcess",
]

ROOT = Path(__file__).resolve().parent.parent

LOSE_REQUEST, LOSE_RESPONSE, DUPLICATE, CRASH_BEFORE_ACK = "lose request", "lose response", "duplicate", "crash"


def scratch_dir(prefix: str) -> Path:
    """A new directory, on a RAM disk when the machine has one.

    These tests are about the order of writes and what survives a killed process; a
    killed process loses nothing the kernel already holds, so fsync-free storage proves
    the same and runs the hundreds of examples several times faster.
    """
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix=prefix, dir=shm if shm.is_dir() else None))


class DeviceCrashedError(Exception):
    """The device process died after the server applied its push, before it recorded the answer.

    Deliberately not a :class:`sync.errors.SyncError`: the engine must not be able to
    catch it, just as it cannot catch a power cut.
    """


@dataclass(frozen=True)
class FaultPlan:
    """The chance of each fault, per request."""

    lose_request: float = 0.0
    lose_response: float = 0.0
    duplicate: float = 0.0
    crash_before_ack: float = 0.0
    restart_server: float = 0.0

    def pick(self, rng: random.Random) -> str | None:
        roll = rng.random()
        for name, chance in (
            (LOSE_REQUEST, self.lose_request),
            (LOSE_RESPONSE, self.lose_response),
            (DUPLICATE, self.duplicate),
            (CRASH_BEFORE_ACK, self.crash_before_ack),
        ):
            if roll < chance:
                return name
            roll -= chance
        return None


CALM = FaultPlan()
#: The soak's rates (issue 6): 20 % lost requests, 20 % lost answers, 10 % duplicates,
#: plus crashes between apply and acknowledge and server restarts.
SOAK_FAULTS = FaultPlan(lose_request=0.2, lose_response=0.2, duplicate=0.1, crash_before_ack=0.05, restart_server=0.05)
#: The same faults, with fewer server restarts: a restart builds a whole new app.
CI_FAULTS = FaultPlan(lose_request=0.2, lose_response=0.2, duplicate=0.1, crash_before_ack=0.05, restart_server=0.02)


class RestartableServer:
    """A WSGI app that can be replaced by a fresh one on the same database: a restart."""

    def __init__(self, database_url: str, domain: dict | None = None):
        self.database_url = database_url
        self.domain = domain
        self.restarts = 0
        self.app = self._boot()

    def _boot(self):
        return create_app({"DATABASE_URL": self.database_url, "TESTING": True, "DOMAIN": self.domain})

    @property
    def engine(self) -> sa.Engine:
        return self.app.extensions["fieldsync"].engine

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)

    def restart(self) -> None:
        old = self.app
        self.app = self._boot()
        old.extensions["fieldsync"].engine.dispose()
        self.restarts += 1

    def close(self) -> None:
        self.engine.dispose()


@dataclass(frozen=True)
class Acknowledged:
    """A mutation the server committed, with the answer it recorded for it."""

    device_id: str
    mutation: Mutation
    result: dict

    @property
    def status(self) -> str:
        return self.result["status"]

    @property
    def hlc(self) -> str:
        """The clock the server ordered the write by (its own when it re-stamped it)."""
        return self.result.get("restamped_hlc") or self.mutation.hlc


@dataclass
class PushLedger:
    """Every change-set any device sent, by id (a resend carries the same content)."""

    sent: dict[str, dict] = field(default_factory=dict)

    def record(self, body: bytes) -> None:
        changeset = orjson.loads(body)
        self.sent.setdefault(changeset["changeset_id"], changeset)

    def acknowledged(self, engine: sa.Engine) -> list[Acknowledged]:
        """Each sent mutation the server committed, in the order the server applied them.

        The change-sets' table keeps no order (PostgreSQL hands its rows back in any), and
        its time of receipt is the machine's: they are put in the order of the audit's
        entries for their mutations, numbered as the server wrote them.
        """
        with engine.connect() as conn:
            recorded = conn.execute(sa.select(changesets.c.changeset_id, changesets.c.response)).all()
            written = dict(conn.execute(sa.select(audit.c.mutation_id, sa.func.min(audit.c.id))
                                        .group_by(audit.c.mutation_id)).all())

        def applied(entry) -> int:
            mutations = self.sent.get(entry[0], {}).get("mutations", [])
            return min((written.get(m["mutation_id"], 0) for m in mutations), default=0)

        out = []
        for changeset_id, response in sorted(recorded, key=applied):
            changeset = self.sent.get(changeset_id)
            if changeset is None:
                continue
            by_id = {m["mutation_id"]: m for m in changeset["mutations"]}
            for result in orjson.loads(response)["results"]:
                raw = by_id[result["mutation_id"]]
                mutation = Mutation(raw["mutation_id"], raw["entity"], raw["id"], raw["op"], raw.get("fields") or {},
                                    raw["hlc"], raw.get("base_version"))
                out.append(Acknowledged(changeset["device_id"], mutation, result))
        return out


class FaultyNetwork(httpx.BaseTransport):
    """An ``httpx`` transport to a :class:`RestartableServer` that injects faults.

    ``plan`` may be swapped at any time (a test turns faults off to let devices settle).
    """

    def __init__(self, server: RestartableServer, rng: random.Random, plan: FaultPlan, ledger: PushLedger,
                 events: list[str] | None = None):
        self.server = server
        self.rng = rng
        self.plan = plan
        self.ledger = ledger
        self.events = events if events is not None else []
        self._wire = httpx.WSGITransport(app=server)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        is_push = request.method == "POST" and request.url.path == "/v1/sync/push"
        if is_push:
            self.ledger.record(request.content)
        if self.plan.restart_server and self.rng.random() < self.plan.restart_server:
            self.server.restart()
            self.events.append("server restarted")
        fault = self.plan.pick(self.rng)
        if fault:
            self.events.append(f"{fault}: {request.method} {request.url.path}")
        if fault == LOSE_REQUEST:
            raise httpx.ConnectError("the request was lost on the way", request=request)
        response = self._deliver(request)
        if fault == DUPLICATE:
            response = self._deliver(request)
        if fault == LOSE_RESPONSE:
            raise httpx.ReadError("the answer was lost on the way back", request=request)
        if fault == CRASH_BEFORE_ACK:
            raise DeviceCrashedError("the device died before it recorded the server's answer")
        return response

    def _deliver(self, request: httpx.Request) -> httpx.Response:
        response = self._wire.handle_request(request)
        response.read()
        return response



class ServerProcess:
    """``fieldsync serve`` on a free loopback port, in a process group of its own, so that
    SIGKILL takes gunicorn's master and its workers at once, mid-request, like a power cut."""

    def __init__(self, database_url: str, log_path: Path):
        self.database_url = database_url
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self, timeout: float = 60.0) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        # the crash loops sync far more often than a phone: the per-device rate limit is off
        env = {**os.environ, "DATABASE_URL": self.database_url, "PYTHONPATH": str(ROOT),
               "FIELDSYNC_RATE_LIMIT_PER_MINUTE": "0"}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(Path(sys.executable).with_name("fieldsync")), "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fieldsync serve exited with {self.proc.returncode}: see {self.log_path}")
            try:
                httpx.get(f"{self.url}/v1/sync/pull", timeout=1.0)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"fieldsync serve did not answer within {timeout:.0f} s: see {self.log_path}")

    def freeze(self) -> None:
        """Stop every process of the server where it stands (SIGSTOP), to look at it."""
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.killpg(self.proc.pid, signal.SIGCONT)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()
