"""Head office recovering a revoked device's unsent work from its replica file.

A lost phone is revoked at once (:mod:`server.auth`); what it had not synced is still in
its replica: the outbox, the change-set it was sending, images not yet uploaded. When the
phone, or a copy of its file, comes back, head office runs the device engine itself on
the file (:class:`sync.client.Replica`) with a transport that calls the server in this
process instead of over HTTP, as the device's owner. So every mutation passes the
authorization the owner's own push would (:mod:`server.authz`): a row the engineer
could never have written is refused and parked in the file with its reason, like any
refusal. The audit trail names the device and its owner, as for every push, and who
recovered the work (``recovered_by``).

Exactly once, as the engine's own pushes are: the change-set the device was sending
keeps its id (if the server applied it before the phone was lost, it answers from its
record), and each new change-set's id is written into the file before it is sent, so a
second run on the same file sends nothing again.

Refused before anything is sent: a file that is not a replica, the replica of a device
this server does not know (another server's), a device that is not revoked (it still
pushes its own work, and the two would send the same outbox twice under different
change-set ids), and a recoverer who is not head office.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import orjson
import sqlalchemy as sa

from sync.client import Parked, Replica
from sync.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from sync.registry import Registry

from . import blob_access, blobs
from .apply import Caller
from .domain.config import DomainConfig
from .push import apply_push
from .scopes import OFFICE_ROLES
from .tables import devices, users

__all__ = ["Recovery", "recover"]


@dataclass
class Recovery:
    """What a recovery did: the device and its owner, and what became of the outbox."""

    device_id: str
    user_id: str
    pushed: int = 0
    conflicts: int = 0
    images: int = 0
    #: the mutations the server refused in this run, as parked in the file
    refused: list[Parked] = field(default_factory=list)


class _InProcess:
    """The engine's transport, answered by the server library as the device's owner."""

    def __init__(self, engine: sa.Engine, registry: Registry, config: DomainConfig, caller: Caller,
                 now_ms: Callable[[], int], limits: blobs.BlobLimits):
        self.engine, self.registry, self.config, self.caller, self.now_ms = engine, registry, config, caller, now_ms
        self.limits = limits

    def push(self, changeset: dict) -> dict:
        # as the wire carries it: the server coerces values in place, the engine keeps its own
        payload = orjson.loads(orjson.dumps(changeset))
        return apply_push(self.engine, self.registry, self.caller, payload, config=self.config, now_ms=self.now_ms())

    def blob_status(self, sha256: str) -> dict:
        with self.engine.connect() as conn:
            state = blob_access.status_for(conn, self.registry, self._user, self.caller.device_id,
                                           blobs.check_name(sha256))
        if state is None:
            raise NotFoundError("no upload of this blob yet: upload it from the start")
        return state.to_dict()

    def put_blob(self, sha256: str, data: bytes, content_type: str = "application/octet-stream",
                 start: int | None = None, total: int | None = None) -> dict:
        now = datetime.fromtimestamp(self.now_ms() / 1000, timezone.utc)
        state, _ = blob_access.upload(self.engine, self.registry, self._user, self.caller.device_id,
                                      blobs.check_name(sha256), data, content_type, now, self.limits, start, total)
        return state.to_dict()

    def drop_blob_upload(self, sha256: str) -> None:
        with self.engine.begin() as conn:
            blobs.drop_upload(conn, blobs.check_name(sha256), self.caller.device_id)

    @property
    def _user(self) -> dict:
        """The device's owner as the blob rules read a person."""
        return {"id": self.caller.user_id, "role": self.caller.role, "depot_id": self.caller.depot_id}


def recover(engine: sa.Engine, registry: Registry, config: DomainConfig, path: str | Path, recovered_by: str,
            now_ms: Callable[[], int], limits: blobs.BlobLimits) -> Recovery:
    """Push the unsent work in the replica at ``path`` on its owner's behalf; see the module."""
    device_id = replica_device(path)
    caller = _owner(engine, device_id, recovered_by)
    replica = Replica(path, device_id, _InProcess(engine, registry, config, caller, now_ms, limits), registry=registry)
    try:
        parked_before = {p.mutation_id for p in replica.parked()}
        done = Recovery(device_id, caller.user_id, images=replica.upload_blobs())
        report = replica.push()
        done.pushed, done.conflicts = report.pushed, report.conflicts
        done.refused = [p for p in replica.parked() if p.mutation_id not in parked_before]
    finally:
        replica.close()
    return done


def replica_device(path: str | Path) -> str:
    """The device a replica file belongs to, read without changing the file."""
    where = Path(path).resolve()
    try:
        db = sqlite3.connect(f"{where.as_uri()}?mode=ro", uri=True)
        try:
            found = db.execute("SELECT value FROM _sync_state WHERE key = 'device_id'").fetchone()
            db.execute("SELECT count(*) FROM _outbox").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        found = None
    if not found or not found[0]:
        raise ValidationError(f"{path} is not a fieldsync device replica")
    return found[0]


def _owner(engine: sa.Engine, device_id: str, recovered_by: str) -> Caller:
    with engine.connect() as conn:
        device = conn.execute(
            sa.select(devices.c.user_id, devices.c.revoked_at, users.c.role, users.c.depot_id)
            .join(users, users.c.id == devices.c.user_id).where(devices.c.id == device_id)
        ).first()
        recoverer = conn.execute(sa.select(users.c.role).where(users.c.id == recovered_by)).scalar()
    if device is None:
        raise NotFoundError(f"the replica belongs to device {device_id}, which this server does not know "
                            "(a replica of another server?)")
    if device.revoked_at is None:
        raise ConflictError(f"device {device_id} is not revoked: it pushes its own work when it syncs "
                            "(revoke it first to recover its work here)")
    if recoverer not in OFFICE_ROLES:
        raise ForbiddenError(f"{recovered_by} is not a head-office person: only head office recovers a device's work")
    return Caller(device.user_id, device.role, device_id, device.depot_id, recovered_by=recovered_by)
