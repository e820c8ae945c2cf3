"""The device engine: a replica in one SQLite file, and ``sync()`` against a server.

The app writes plain SQL on :attr:`Replica.db`; triggers copy every write into the
outbox in the same transaction. ``sync()`` pushes the outbox as change-sets, then pulls
the server's changes and replays pending local edits over them (rebase). Every step is
one SQLite transaction, so a crash at any point leaves a replica that the next
``sync()`` finishes:

* a change-set is recorded (ids fixed) before it is sent, and resent with the same id
  until answered: the server applies it once (:mod:`sync.push`);
* a pulled page and the cursor after it commit together (:mod:`sync.pull`);
* images wait in the replica until the server holds them whole (:mod:`sync.blobs`).

What the server refuses — a mutation, an image — is parked with its reason and never
holds up the rest; the person retries or dismisses it (:mod:`sync.parked`,
:mod:`sync.blobs`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Callable, Protocol

import orjson
import sqlite_utils

import client_schema

from . import hlc
from .blobs import BlobUploads
from .errors import ValidationError
from .ids import new_id
from .local import LocalRows, from_column, to_column
from .outcomes import Parked, ParkedBlob, SyncReport, utc_now
from .pacing import Pacer, Progress
from .parked import ParkedWork
from .pull import PAGE_SIZE, Pull
from .push import Push
from .registry import REGISTRY, Registry
from .report import report_hash
from .transaction import Transaction
from .wallclock import SteadyWall, elapsed_ms

__all__ = ["Replica", "Transport", "SyncReport", "Parked", "ParkedBlob", "Progress"]


class Transport(Protocol):
    def push(self, changeset: dict) -> dict: ...

    def pull(self, cursor: str | None, limit: int) -> dict: ...

    def get_row(self, entity: str, row_id: str) -> dict: ...

    def blob_status(self, sha256: str) -> dict: ...

    def put_blob(self, sha256: str, data: bytes, content_type: str = ..., start: int | None = None,
                 total: int | None = None) -> dict: ...

    def drop_blob_upload(self, sha256: str) -> None: ...


class Replica(Push, Pull, BlobUploads, ParkedWork):
    def __init__(
        self,
        path: str | Path,
        device_id: str,
        transport: Transport | None = None,
        *,
        wall: Callable[[], int] = hlc.now_ms,
        elapsed: Callable[[], int] = elapsed_ms,
        registry: Registry = REGISTRY,
        batch_size: int = 500,
        page_size: int = PAGE_SIZE,
        on_progress: Callable[[Progress], None] | None = None,
    ):
        self.path = str(path)
        self.device_id = device_id
        self.transport = transport
        self.registry = registry
        self.batch_size = batch_size
        self.page_size = page_size
        #: the next pull page's size, which follows the link (at most ``page_size``)
        self.pacer = Pacer(page_size)
        #: how far the last pull came; ``on_progress(progress)`` hears it after each page
        self.progress = Progress()
        self.on_progress = on_progress
        #: milliseconds on a clock nobody sets, for the pacer's timings (injected in tests)
        self.elapsed = elapsed
        #: ``(cursor, page)``: the first pull page a sync's push brought back (:mod:`sync.push`)
        self._first_page: tuple[str | None, dict] | None = None
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute("PRAGMA busy_timeout = 10000")
        #: the wall clock with its jumps taken out: the time line every stamp is on
        self.wall = SteadyWall(wall, elapsed)
        self.clock = hlc.Clock(device_id, wall=self.wall)
        self.db.create_function("fieldsync_hlc", 0, lambda: str(self.clock.tick()))
        self.db.create_function("fieldsync_clock_frame", 0, lambda: self.wall.frame_ms)
        client_schema.apply(sqlite_utils.Database(self.db), registry)
        self.wall.frame_ms = self._kept_frame()
        self.wall()  # from now on a jump of the wall clock is seen
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

    def _kept_frame(self) -> int:
        return self.db.execute("SELECT coalesce(sum(jump_ms), 0) FROM _clock_jumps").fetchone()[0]

    def _keep_clock_frame(self, seen: str) -> None:
        """Record a jump the clock saw outside a local write (the outbox trigger records
        those): a push's reading, an acknowledgement's stamp. Call inside a transaction."""
        kept = self._kept_frame()
        if kept != self.wall.frame_ms:
            self.db.execute("INSERT INTO _clock_jumps (jump_ms, seen_hlc) VALUES (?, ?)",
                            (self.wall.frame_ms - kept, seen))

    def clock_jumps(self) -> list[int]:
        """The wall clock's jumps this replica saw and took out of its stamps, oldest first."""
        return [r[0] for r in self.db.execute("SELECT jump_ms FROM _clock_jumps ORDER BY seq")]

    @property
    def cursor(self) -> str | None:
        return self._state("cursor")

    def _transaction(self) -> Transaction:
        return Transaction(self.db)

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

    def conflicts(self) -> list[dict]:
        rows = self.db.execute("SELECT detail FROM _conflicts ORDER BY received_at").fetchall()
        return [orjson.loads(r[0]) for r in rows]

    def conflict_notes(self, *, unseen_only: bool = False) -> list[dict]:
        """The conflict notes pulled for this person (what was kept, what lost), each with
        its ``id`` and whether the person has ``seen`` it on this device."""
        seen = {r[0] for r in self.db.execute("SELECT conflict_id FROM _conflict_seen")}
        notes = [{"id": row_id, **note, "seen": row_id in seen} for row_id, note in self.all("conflict").items()]
        return [n for n in notes if not (unseen_only and n["seen"])]

    def mark_conflict_seen(self, conflict_id: str) -> None:
        """Note on this device that the person has read a conflict note (never pushed)."""
        self.db.execute("INSERT OR IGNORE INTO _conflict_seen (conflict_id, seen_at) VALUES (?, ?)",
                        (conflict_id, utc_now()))

    def report_hash(self, ticket_id: str) -> str:
        """The SHA-256 of the ticket's service report as this replica holds it (to sign)."""
        ticket = self.get("ticket", ticket_id) or {}
        consumed = [m for m in self.all("stock_movement").values()
                    if m.get("ticket_id") == ticket_id and m.get("kind") == "consume"]
        return report_hash(ticket_id, ticket, consumed)

    # -- sync ----------------------------------------------------------------------------

    def sync(self) -> SyncReport:
        """Upload images, push everything pending, then pull until the server has nothing more.

        Images go first: a ticket is ``signed`` on the server only once its signature's
        image has arrived whole. The last push carries the pull's first page back, so a
        small sync is one request (two with images to send).
        """
        report = SyncReport()
        self.upload_blobs(report)
        self.push(report, with_pull=True)
        self.pull(report)
        return report

    def close(self) -> None:
        self.db.close()
