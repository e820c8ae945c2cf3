"""The device engine: a replica in one SQLite file, and ``sync()`` against a server.

The app writes plain SQL on :attr:`Replica.db`; triggers copy every write into the
outbox in the same transaction. ``sync()`` pushes the outbox as change-sets, then pulls
the server's changes and replays pending local edits over them (rebase). Every step is
one SQLite transaction, so a crash at any point leaves a replica that the next
``sync()`` finishes:

* a change-set is recorded (ids fixed) before it is sent, and resent with the same id
  until answered: the server applies it once;
* a pulled page and the cursor after it commit together.
"""

from __future__ import annotations

import hashlib
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Protocol

import orjson
import sqlite_utils

import client_schema

from . import hlc
from .changeset import SCHEMA_VERSION, ChangeSet, Mutation
from .errors import PayloadTooLargeError, ResyncRequiredError, ValidationError
from .ids import new_id
from .local import LocalRows, from_column, to_column
from .registry import REGISTRY, Registry
from .report import report_hash

__all__ = ["Replica", "Transport", "SyncReport", "Parked"]


class Transport(Protocol):
    def push(self, changeset: dict) -> dict: ...

    def pull(self, cursor: str | None, limit: int) -> dict: ...

    def blob_status(self, sha256: str) -> dict: ...

    def put_blob(self, sha256: str, data: bytes, content_type: str = ..., start: int | None = None,
                 total: int | None = None) -> dict: ...


#: Blob uploads go in pieces of this size, so a dropped link resumes, not restarts.
BLOB_CHUNK = 256 * 1024


@dataclass
class SyncReport:
    pushed: int = 0
    conflicts: int = 0
    rejected: int = 0
    pulled: int = 0
    resynced: bool = False


@dataclass(frozen=True)
class Parked:
    """A mutation the server refused, kept for the person who made it."""

    mutation_id: str
    entity: str
    row_id: str
    op: str
    fields: dict
    code: str
    message: str
    field: str | None


@dataclass
class _Page:
    changes: list = field(default_factory=list)
    cursor: str | None = None
    has_more: bool = False


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Replica:
    def __init__(
        self,
        path: str | Path,
        device_id: str,
        transport: Transport | None = None,
        *,
        wall: Callable[[], int] = hlc.now_ms,
        registry: Registry = REGISTRY,
        batch_size: int = 500,
        page_size: int = 1000,
    ):
        self.path = str(path)
        self.device_id = device_id
        self.transport = transport
        self.registry = registry
        self.batch_size = batch_size
        self.page_size = page_size
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute("PRAGMA busy_timeout = 10000")
        self.clock = hlc.Clock(device_id, wall=wall)
        self.db.create_function("fieldsync_hlc", 0, lambda: str(self.clock.tick()))
        client_schema.apply(sqlite_utils.Database(self.db), registry)
        self.rows = LocalRows(self.db, registry)
        self._start_clock()

    # -- state -------------------------------------------------------------------------

    def _state(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM _sync_state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_state(self, key: str, value: Any) -> None:
        self.db.execute(
            "INSERT INTO _sync_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, None if value is None else str(value)),
        )

    def _start_clock(self) -> None:
        """Resume the clock past every timestamp this replica has issued or seen."""
        stamps = [self._state("last_hlc")]
        stamps += [r[0] for r in self.db.execute("SELECT max(hlc) FROM _outbox UNION ALL SELECT max(hlc) FROM _parked")]
        for stamp in filter(None, stamps):
            self.clock.observe(hlc.parse(stamp))
        stored = self._state("device_id")
        if stored is None:
            with self._transaction():
                self._set_state("device_id", self.device_id)
        elif stored != self.device_id:
            raise ValidationError(f"{self.path} belongs to device {stored}, not {self.device_id}")

    @property
    def cursor(self) -> str | None:
        return self._state("cursor")

    def _transaction(self):
        return _Transaction(self.db)

    # -- convenience writes for apps and tests ---------------------------------------

    def insert(self, entity: str, **fields: Any) -> str:
        row_id = fields.pop("id", None) or new_id()
        spec = self._entity(entity)
        cols = ["id", *fields]
        values = [row_id, *(self._column(spec, k, v) for k, v in fields.items())]
        quoted = ", ".join(f'"{c}"' for c in cols)
        marks = ", ".join("?" for _ in cols)
        self.db.execute(f'INSERT INTO "{entity}" ({quoted}) VALUES ({marks})', values)
        return row_id

    def update(self, entity: str, row_id: str, **fields: Any) -> None:
        spec = self._entity(entity)
        sets = ", ".join(f'"{k}" = ?' for k in fields)
        values = [self._column(spec, k, v) for k, v in fields.items()]
        self.db.execute(f'UPDATE "{entity}" SET {sets} WHERE id = ?', (*values, row_id))

    def delete(self, entity: str, row_id: str) -> None:
        self._entity(entity)
        self.db.execute(f'DELETE FROM "{entity}" WHERE id = ?', (row_id,))

    def get(self, entity: str, row_id: str) -> dict | None:
        self._entity(entity)
        return self.rows.read_row(entity, row_id)

    def all(self, entity: str) -> dict[str, dict]:
        spec = self._entity(entity)
        cols = ", ".join(f'"{c}"' for c in spec.field_names)
        return {
            row[0]: {f.name: from_column(f.type, v) for f, v in zip(spec.fields, row[1:])}
            for row in self.db.execute(f'SELECT id, {cols} FROM "{entity}"')
        }

    def _entity(self, name: str):
        spec = self.registry.get(name)
        if spec is None:
            raise ValidationError(f"unknown entity {name!r}")
        return spec

    @staticmethod
    def _column(spec, name: str, value: Any) -> Any:
        f = spec.field(name)
        if f is None:
            raise ValidationError(f"{spec.name} has no field {name!r}", field=name)
        return to_column(f.type, value)

    # -- what the person sees --------------------------------------------------------

    def pending(self) -> int:
        return self.db.execute("SELECT count(*) FROM _outbox").fetchone()[0]

    def parked(self) -> list[Parked]:
        rows = self.db.execute(
            "SELECT mutation_id, entity, row_id, op, fields, code, message, field FROM _parked ORDER BY parked_at"
        ).fetchall()
        return [Parked(r[0], r[1], r[2], r[3], orjson.loads(r[4]), r[5], r[6], r[7]) for r in rows]

    def conflicts(self) -> list[dict]:
        rows = self.db.execute("SELECT detail FROM _conflicts ORDER BY received_at").fetchall()
        return [orjson.loads(r[0]) for r in rows]

    # -- sync ----------------------------------------------------------------------------

    def sync(self) -> SyncReport:
        """Upload images, push everything pending, then pull until the server has nothing more.

        Images go first: a ticket is ``signed`` on the server only once its signature's
        image has arrived whole.
        """
        report = SyncReport()
        self.upload_blobs()
        self.push(report)
        self.pull(report)
        return report

    # -- blobs ---------------------------------------------------------------------------

    def put_blob(self, data: bytes, content_type: str = "image/png") -> str:
        """Keep an image (a signature, a receipt) for upload; return its SHA-256 name."""
        sha256 = hashlib.sha256(data).hexdigest()
        self.db.execute("INSERT OR IGNORE INTO _blobs (sha256, data, content_type) VALUES (?, ?, ?)",
                        (sha256, data, content_type))
        return sha256

    def upload_blobs(self) -> int:
        """Upload every image not yet on the server, resuming where each stopped."""
        pending = self.db.execute("SELECT sha256, data, content_type FROM _blobs WHERE uploaded = 0").fetchall()
        for sha256, data, content_type in pending:
            state = self.transport.blob_status(sha256)
            offset = 0 if state.get("complete") else int(state.get("received") or 0)
            while not state.get("complete"):
                piece = data[offset:offset + BLOB_CHUNK]
                state = self.transport.put_blob(sha256, piece, content_type, start=offset, total=len(data))
                offset = int(state.get("received") or 0)
            self.db.execute("UPDATE _blobs SET uploaded = 1 WHERE sha256 = ?", (sha256,))
        return len(pending)

    def report_hash(self, ticket_id: str) -> str:
        """The SHA-256 of the ticket's service report as this replica holds it (to sign)."""
        ticket = self.get("ticket", ticket_id) or {}
        consumed = [m for m in self.all("stock_movement").values()
                    if m.get("ticket_id") == ticket_id and m.get("kind") == "consume"]
        return report_hash(ticket_id, ticket, consumed)

    def push(self, report: SyncReport | None = None) -> SyncReport:
        report = report or SyncReport()
        size = self.batch_size
        while (changeset := self._next_changeset(size)) is not None:
            try:
                answer = self.transport.push(changeset.to_dict())
            except ValidationError as exc:
                index = exc.details.get("mutation_index")
                if index is None or not 0 <= index < len(changeset.mutations):
                    raise
                self._park_malformed(changeset, changeset.mutations[index], exc)
                report.rejected += 1
                continue
            except PayloadTooLargeError as exc:
                size = self._recut(changeset, exc, report)
                continue
            self._acknowledge(changeset, answer, report)
        return report

    def _recut(self, changeset: ChangeSet, exc: PayloadTooLargeError, report: SyncReport) -> int:
        """The server refused the change-set unread (413): send it in halves; a lone
        mutation too large by itself is parked. Return the next change-set's size.

        Re-cut under new ids, a mutation that had applied (an answer lost, then a lower
        limit) applies again as a no-op: merges are idempotent by row id and clock.
        """
        with self._transaction():
            if len(changeset.mutations) == 1:
                self._park(changeset.mutations[0], {"code": exc.code, "message": exc.message, "field": exc.field})
                report.rejected += 1
            self.db.execute("UPDATE _outbox SET changeset_id = NULL WHERE changeset_id = ?", (changeset.changeset_id,))
            self._set_state("inflight_changeset", None)
        return self.batch_size if len(changeset.mutations) == 1 else len(changeset.mutations) // 2

    def _next_changeset(self, size: int) -> ChangeSet | None:
        with self._transaction():
            changeset_id = self._state("inflight_changeset")
            if changeset_id is not None:
                rows = self.db.execute(
                    "SELECT mutation_id, entity, row_id, op, fields, hlc, base_version FROM _outbox "
                    "WHERE changeset_id = ? ORDER BY seq",
                    (changeset_id,),
                ).fetchall()
                if rows:
                    return self._changeset(changeset_id, rows)
            rows = self.db.execute(
                "SELECT mutation_id, entity, row_id, op, fields, hlc, base_version FROM _outbox "
                "WHERE changeset_id IS NULL ORDER BY seq LIMIT ?",
                (size,),
            ).fetchall()
            if not rows:
                self._set_state("inflight_changeset", None)
                return None
            changeset_id = new_id()
            self.db.executemany(
                "UPDATE _outbox SET changeset_id = ? WHERE mutation_id = ?", [(changeset_id, r[0]) for r in rows]
            )
            self._set_state("inflight_changeset", changeset_id)
            return self._changeset(changeset_id, rows)

    def _changeset(self, changeset_id: str, rows: list) -> ChangeSet:
        mutations = []
        for mutation_id, entity, row_id, op, raw, stamp, base in rows:
            spec = self.registry.get(entity)
            fields = orjson.loads(raw)
            if spec is not None:
                for name, value in fields.items():
                    f = spec.field(name)
                    if f is not None and f.type == "boolean" and value is not None:
                        fields[name] = bool(value)
            mutations.append(Mutation(mutation_id, entity, row_id, op, fields, stamp, base))
        return ChangeSet(changeset_id, self.device_id, SCHEMA_VERSION, mutations)

    def _acknowledge(self, changeset: ChangeSet, answer: dict, report: SyncReport) -> None:
        by_id = {m.mutation_id: m for m in changeset.mutations}
        with self._transaction():
            for result in answer.get("results", []):
                mutation = by_id.get(result.get("mutation_id"))
                if mutation is None:
                    continue
                status = result.get("status")
                self.db.execute("DELETE FROM _outbox WHERE mutation_id = ?", (mutation.mutation_id,))
                if status == "rejected":
                    self._park(mutation, result)
                    report.rejected += 1
                    continue
                if status == "conflict":
                    self._keep_conflict(mutation, result)
                    report.conflicts += 1
                    if result.get("server_row") and mutation.entity in self.registry:
                        self._put_back(mutation.entity, mutation.id, result["server_row"])
                report.pushed += 1
            self.db.execute("UPDATE _outbox SET changeset_id = NULL WHERE changeset_id = ?", (changeset.changeset_id,))
            self._evict_pushed()
            self._set_state("inflight_changeset", None)
            self._set_state("last_hlc", str(self.clock.tick()))

    def _evict_pushed(self) -> None:
        """Rows that left the scope while edits were pending go once those are pushed."""
        done = self.db.execute(
            "SELECT entity, id FROM _evict_after_push e WHERE NOT EXISTS "
            "(SELECT 1 FROM _outbox o WHERE o.entity = e.entity AND o.row_id = e.id)"
        ).fetchall()
        with _Quiet(self.db):
            for entity, row_id in done:
                if entity in self.registry:
                    self.rows.delete_rows(entity, [row_id])
                self.rows.forget_versions([(entity, row_id)])
        self.db.executemany("DELETE FROM _evict_after_push WHERE entity = ? AND id = ?", done)

    def _keep_conflict(self, mutation: Mutation, result: dict) -> None:
        detail = {k: v for k, v in result.items() if k != "status"}
        detail.update(entity=mutation.entity, row_id=mutation.id)
        self.db.execute(
            "INSERT OR REPLACE INTO _conflicts (conflict_id, mutation_id, entity, row_id, detail, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (result.get("conflict_id") or new_id(), mutation.mutation_id, mutation.entity, mutation.id,
             orjson.dumps(detail).decode(), _utc_now()),
        )

    def _park(self, mutation: Mutation, result: dict) -> None:
        """Keep a refused mutation with its reason and put the row back as the server has it."""
        self.db.execute(
            "INSERT OR REPLACE INTO _parked (mutation_id, entity, row_id, op, fields, hlc, code, message, field, parked_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (mutation.mutation_id, mutation.entity, mutation.id, mutation.op, orjson.dumps(mutation.fields).decode(),
             mutation.hlc, str(result.get("code", "rejected")), str(result.get("message", "")), result.get("field"),
             _utc_now()),
        )
        self.db.execute("DELETE FROM _outbox WHERE mutation_id = ?", (mutation.mutation_id,))
        if mutation.entity not in self.registry:
            return
        server_row = result.get("server_row")
        if server_row is not None:
            self._put_back(mutation.entity, mutation.id, server_row)
            return
        with _Quiet(self.db):
            self.rows.delete_rows(mutation.entity, [mutation.id])
            self.rows.forget_versions([(mutation.entity, mutation.id)])
            self.rows.rebase(mutation.entity, mutation.id)

    def _put_back(self, entity: str, row_id: str, server_row: dict) -> None:
        """Make the local row the server's — unless a newer one was pulled since (a retry
        answered from the server's record carries the row as it was then) — and replay
        the row's pending edits over it."""
        held = self.rows.versions(entity, [row_id]).get(row_id, 0)
        with _Quiet(self.db):
            if server_row["version"] >= held:
                self.rows.put_rows(entity, [(row_id, server_row["data"])])
                self.rows.set_versions([(entity, row_id, server_row["version"])])
            self.rows.rebase(entity, row_id)

    def _park_malformed(self, changeset: ChangeSet, mutation: Mutation, exc: ValidationError) -> None:
        with self._transaction():
            self._park(mutation, {"code": exc.code, "message": exc.message, "field": exc.field})

    # -- pull ----------------------------------------------------------------------------

    def pull(self, report: SyncReport | None = None) -> SyncReport:
        """Pull pages until the server has nothing more.

        While a page is applied, the next one is already on its way (its cursor is in
        the answer), so the server's work and the device's overlap instead of taking
        turns. The transport is still called one request at a time; a page fetched
        ahead of a failed apply is dropped, and the next pull starts from the cursor
        committed with the last page applied.
        """
        report = report or SyncReport()
        with ThreadPoolExecutor(max_workers=1) as ahead:
            fetch = ahead.submit(self.transport.pull, self.cursor, self.page_size)
            while True:
                try:
                    answer = fetch.result()
                except ResyncRequiredError:
                    self._start_resync()
                    report.resynced = True
                    fetch = ahead.submit(self.transport.pull, self.cursor, self.page_size)
                    continue
                page = _Page(answer.get("changes", []), answer.get("cursor"), bool(answer.get("has_more")))
                if page.has_more:
                    fetch = ahead.submit(self.transport.pull, page.cursor, self.page_size)
                self._apply_page(page)
                report.pulled += len(page.changes)
                if not page.has_more:
                    break
        if self._state("resyncing") == "1":
            self._finish_resync()
        return report

    def _apply_page(self, page: _Page) -> None:
        pending = self.rows.pending_rows()
        resyncing = self._state("resyncing") == "1"
        with self._transaction(), _Quiet(self.db):
            latest: dict[tuple[str, str], dict] = {}
            for change in page.changes:
                if change.get("entity") in self.registry:
                    latest[(change["entity"], change["id"])] = change
            by_entity: dict[str, list[dict]] = {}
            for change in latest.values():
                by_entity.setdefault(change["entity"], []).append(change)
            for entity, changes in by_entity.items():
                self._apply_entity(entity, changes, pending)
            if resyncing and latest:
                self.db.executemany("DELETE FROM _resync_unseen WHERE entity = ? AND id = ?", list(latest))
            newest = max((c.get("hlc") or "" for c in latest.values()), default="")
            if newest:
                self.clock.observe(hlc.parse(newest))
            self._set_state("cursor", page.cursor)

    def _apply_entity(self, entity: str, changes: list[dict], pending: set) -> None:
        known = self.rows.versions(entity, [c["id"] for c in changes])
        # an eviction is about scope, not content: it always applies
        fresh = [c for c in changes if c["op"] == "evict" or c.get("version", 0) >= known.get(c["id"], 0)]
        upserts = [(c["id"], c.get("data") or {}) for c in fresh if c["op"] == "upsert"]
        self.rows.put_rows(entity, upserts)
        gone = [c for c in fresh if c["op"] == "delete"]
        self.rows.delete_rows(entity, [c["id"] for c in gone])
        self.rows.set_versions((entity, c["id"], c["version"]) for c in fresh if c["op"] != "evict")
        evicts = [c["id"] for c in fresh if c["op"] == "evict"]
        evicted = [i for i in evicts if (entity, i) not in pending]
        self.rows.delete_rows(entity, evicted)
        self.rows.forget_versions((entity, i) for i in evicted)
        self.db.executemany("INSERT OR IGNORE INTO _evict_after_push (entity, id) VALUES (?, ?)",
                            [(entity, i) for i in evicts if (entity, i) in pending])
        for change in fresh:
            if (entity, change["id"]) in pending:
                self.rows.rebase(entity, change["id"])

    def _start_resync(self) -> None:
        """The server no longer has our place in its log: fetch the scope afresh."""
        with self._transaction():
            self.db.execute("DELETE FROM _resync_unseen")
            self.db.execute("INSERT INTO _resync_unseen (entity, id) SELECT entity, id FROM _row_version")
            self._set_state("cursor", None)
            self._set_state("resyncing", "1")

    def _finish_resync(self) -> None:
        """Rows the fresh snapshot did not bring have left the scope: drop them."""
        pending = self.rows.pending_rows()
        with self._transaction(), _Quiet(self.db):
            for entity, row_id in self.db.execute("SELECT entity, id FROM _resync_unseen").fetchall():
                if (entity, row_id) not in pending and entity in self.registry:
                    self.rows.delete_rows(entity, [row_id])
                    self.rows.forget_versions([(entity, row_id)])
            self.db.execute("DELETE FROM _resync_unseen")
            self._set_state("resyncing", None)

    def close(self) -> None:
        self.db.close()


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, value, tb):
        if kind is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")
        return False


class _Quiet:
    """Silence the capture triggers while the engine itself writes."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("UPDATE _sync_control SET applying = 1")

    def __exit__(self, *exc):
        self.db.execute("UPDATE _sync_control SET applying = 0")
        return False
