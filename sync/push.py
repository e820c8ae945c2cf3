"""Sending the outbox: change-sets out, answers back (part of :class:`sync.client.Replica`).

A change-set is recorded (its id fixed on its outbox rows) before it is sent and resent
with the same id until answered, so the server applies it once. Each answer is taken
in one transaction: applied and merged mutations leave the outbox, refused ones are
parked with their reason, and a row the server kept otherwise is put back as it says.

A change-set refused unread — too large (413), or malformed (422 naming a mutation) —
tells nothing of the rows: a mutation parked for it leaves its row as it is, noted as
``server_row_unknown``, until the person retries or dismisses it (:mod:`sync.parked`).
"""

from __future__ import annotations

import orjson

from . import hlc
from .changeset import SCHEMA_VERSION, ChangeSet, Mutation
from .errors import ChangesetReusedError, PayloadTooLargeError, SyncError, ValidationError
from .ids import new_id
from .outcomes import SyncReport, utc_now
from .transaction import Quiet

__all__ = ["Push"]


class Push:
    """Needs ``db``, ``rows``, ``registry``, ``transport``, ``clock``, ``wall``, ``device_id``,
    ``batch_size`` and the state and clock helpers of :class:`sync.client.Replica`."""

    def push(self, report: SyncReport | None = None, *, with_pull: bool = False) -> SyncReport:
        """Send the outbox; ``with_pull`` (a sync, whose pull follows at once): the last
        change-set asks the server for the first pull page too, kept for :meth:`pull`, so a
        sync whose push and pull both fit costs one round trip."""
        report = report or SyncReport()
        size = self.batch_size
        self._first_page = None
        # asked of the transport's class: a wrapper that forwards what it does not define
        # (``__getattr__``) keeps its own ``push`` in the path
        carry = with_pull and hasattr(type(self.transport), "push_and_pull")
        while (changeset := self._next_changeset(size)) is not None:
            changeset.sent_at_ms = self._sending_time()
            last = carry and self._last_changeset()
            try:
                if last:
                    cursor = self.cursor
                    answer = self.transport.push_and_pull(changeset.to_dict(), cursor, self.pacer.size)
                else:
                    answer = self.transport.push(changeset.to_dict())
            except ValidationError as exc:
                index = exc.details.get("mutation_index")
                if index is None or not 0 <= index < len(changeset.mutations):
                    raise
                self._park_malformed(changeset.mutations[index], exc)
                report.rejected += 1
                continue
            except PayloadTooLargeError as exc:
                size = self._recut(changeset, exc, report)
                continue
            except ChangesetReusedError:
                # the id was answered for another set of these rows (a replica restored from
                # an old copy): send them under a new one; a merge applied twice changes nothing
                with self._transaction():
                    self._release(changeset)
                continue
            page = answer.pop("pull", None) if last else None
            self._acknowledge(changeset, answer, report)
            if isinstance(page, dict):
                self._first_page = (cursor, page)
        return report

    def _last_changeset(self) -> bool:
        """Whether the change-set about to go holds the whole outbox left to send."""
        return self.db.execute("SELECT NOT EXISTS (SELECT 1 FROM _outbox WHERE changeset_id IS NULL)").fetchone()[0] == 1

    def _sending_time(self) -> int:
        """The clock as the change-set leaves, on the stamps' time line: the server measures
        this device's offset from it. A jump seen just now is kept before anything is sent."""
        now = self.wall()
        if self.wall.frame_ms != self._kept_frame():
            with self._transaction():
                self._keep_clock_frame(hlc.format_hlc(now, 0, self.device_id))
        return now

    def _recut(self, changeset: ChangeSet, exc: PayloadTooLargeError, report: SyncReport) -> int:
        """The server refused the change-set unread (413): send it in halves; a lone
        mutation too large by itself is parked. Return the next change-set's size.

        Re-cut under new ids, a mutation that had applied (an answer lost, then a lower
        limit) applies again as a no-op: merges are idempotent by row id and clock.
        """
        with self._transaction():
            if len(changeset.mutations) == 1:
                self._park_unread(changeset.mutations[0], exc)
                report.rejected += 1
            self._release(changeset)
        return self.batch_size if len(changeset.mutations) == 1 else len(changeset.mutations) // 2

    def _release(self, changeset: ChangeSet) -> None:
        """Take the change-set's id off its outbox rows (in the caller's transaction): they
        go again under a new one."""
        self.db.execute("UPDATE _outbox SET changeset_id = NULL WHERE changeset_id = ?", (changeset.changeset_id,))
        self._set_state("inflight_changeset", None)

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
            stamp = str(self.clock.tick())
            self._set_state("last_hlc", stamp)
            self._keep_clock_frame(stamp)

    def _evict_pushed(self) -> None:
        """Rows that left the scope while edits were pending go once those are pushed."""
        done = self.db.execute(
            "SELECT entity, id FROM _evict_after_push e WHERE NOT EXISTS "
            "(SELECT 1 FROM _outbox o WHERE o.entity = e.entity AND o.row_id = e.id)"
        ).fetchall()
        with Quiet(self.db):
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
             orjson.dumps(detail).decode(), utc_now()),
        )

    def _park(self, mutation: Mutation, result: dict, *, unread: bool = False) -> None:
        """Keep a refused mutation with its reason and put the row back as the server has it.

        ``unread``: the server refused it without reading it, so its answer holds no row —
        the server's row is unknown, not absent, and the local row stays as it is.
        """
        self.db.execute(
            "INSERT OR REPLACE INTO _parked (mutation_id, entity, row_id, op, fields, hlc, code, message, field, "
            "parked_at, server_row, server_row_unknown) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (mutation.mutation_id, mutation.entity, mutation.id, mutation.op, orjson.dumps(mutation.fields).decode(),
             mutation.hlc, str(result.get("code", "rejected")), str(result.get("message", "")), result.get("field"),
             utc_now(), None if result.get("server_row") is None else orjson.dumps(result["server_row"]).decode(),
             int(unread)),
        )
        self.db.execute("DELETE FROM _outbox WHERE mutation_id = ?", (mutation.mutation_id,))
        if unread or mutation.entity not in self.registry:
            return
        server_row = result.get("server_row")
        if server_row is not None:
            self._put_back(mutation.entity, mutation.id, server_row)
            return
        with Quiet(self.db):
            self.rows.delete_rows(mutation.entity, [mutation.id])
            self.rows.forget_versions([(mutation.entity, mutation.id)])
            self.rows.rebase(mutation.entity, mutation.id)

    def _put_back(self, entity: str, row_id: str, server_row: dict) -> None:
        """Make the local row the server's — unless a newer one was pulled since (a retry
        answered from the server's record carries the row as it was then) — and replay
        the row's pending edits over it."""
        held = self.rows.versions(entity, [row_id]).get(row_id, 0)
        with Quiet(self.db):
            if server_row["version"] >= held:
                self.rows.put_rows(entity, [{"id": row_id, "data": server_row["data"], "version": server_row["version"]}])
            self.rows.rebase(entity, row_id)

    def _park_malformed(self, mutation: Mutation, exc: ValidationError) -> None:
        with self._transaction():
            self._park_unread(mutation, exc)

    def _park_unread(self, mutation: Mutation, exc: SyncError) -> None:
        """Park a mutation whose change-set was refused unread (413, or 422 naming it)."""
        self._park(mutation, {"code": exc.code, "message": exc.message, "field": exc.field}, unread=True)
