"""Taking the server's changes in (part of :class:`sync.client.Replica`).

Each page is applied in one transaction together with the cursor after it, the capture
triggers quiet; then every row with pending local edits has them replayed over it
(rebase), so a pull never overwrites local work. A crash keeps whole pages only.

Pulled stamps do not move the device's clock: its stamps stay on its own time line,
which the server corrects by the offset it measures (a slow phone pulled ahead would
stamp every write at the pulled time for days). A write made after seeing another wins
over it by its ``base_version``, whatever the clocks say (``sync.rules.lww``).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from operator import itemgetter

from . import gcpause
from .errors import ResyncRequiredError, TransportError
from .outcomes import SyncReport
from .pacing import Progress
from .transaction import Quiet

__all__ = ["Pull", "PAGE_SIZE"]

#: Rows per page the engine asks for, the most the server gives: a page is one
#: transaction and one round of per-page work on the device, so a new replica's snapshot
#: goes in five times fewer of them than with pages of 1,000.
PAGE_SIZE = 5000

_OP = itemgetter("op")


def changes_of(answer: dict) -> list[dict]:
    """A pull page's changes, whichever format the page is in: each with ``entity``,
    ``id``, ``op``, ``version``, and ``data`` (format 1) or ``row`` and ``columns`` (format 2).

    Format 2 names each entity's columns once and gives each change as ``[id, version,
    op, value, …]``; the row stays an array down to the upsert's parameters
    (:meth:`sync.local.LocalRows.parameters`), where a column the replica does not know
    is dropped and a field the page has no column for is stored as null.
    """
    if answer.get("format") != 2:
        return answer.get("changes", [])
    changes = []
    for entity, part in answer.get("entities", {}).items():
        columns = part["columns"]
        changes += [{"entity": entity, "id": row[0], "version": row[1], "op": row[2], "row": row, "columns": columns}
                    for row in part["rows"]]
    return changes


@dataclass
class _Page:
    changes: list = field(default_factory=list)
    cursor: str | None = None
    has_more: bool = False


class _Whole:
    """A page that came whole (a push's, or a transport without ``open_pull``), read as
    :class:`sync.transport.OpenPage` reads: its end known with its body."""

    cuts = 0

    def __init__(self, answer: dict):
        self._answer = answer
        self.cursor = answer.get("cursor")
        self.has_more = bool(answer.get("has_more"))

    def answer(self) -> dict:
        return self._answer

    def close(self) -> None:
        pass


def _drop(opened: Future | None) -> None:
    """Give up a page asked for ahead: close it once its head has come (or at once)."""
    if opened is not None:
        opened.add_done_callback(lambda f: f.exception() is None and f.result().close())


class Pull:
    """Needs ``db``, ``rows``, ``registry``, ``transport``, ``pacer``, ``elapsed``,
    ``on_progress``, ``cursor`` and the state helpers of :class:`sync.client.Replica`."""

    def pull(self, report: SyncReport | None = None) -> SyncReport:
        """Pull pages until the server has nothing more.

        The first page may have come with the push (a sync's). The next page is asked for
        as soon as the end of the current one is known: from its head with a transport
        that reads heads apart (``open_pull``), so on a slow link the next page is on its
        way while this one still arrives, and the link never stands idle for a round trip;
        from its body otherwise, while it is applied. A page asked for ahead of a failed
        apply is dropped, and the next pull starts from the cursor committed with the last
        page applied. Page sizes follow the link (:class:`sync.pacing.Pacer`);
        :attr:`progress` says how far the pull has come, and ``on_progress`` hears it
        after each page.
        """
        report = report or SyncReport()
        self.progress = Progress()
        self._estimate_asked = False
        ahead_of: Future | None = None
        with gcpause.paused(), ThreadPoolExecutor(max_workers=1) as ahead:
            opened = self._carried_page() or ahead.submit(self._open, self.cursor)
            try:
                while True:
                    waited = self.elapsed()
                    try:
                        head = opened.result()
                    except ResyncRequiredError:
                        self._start_resync()
                        report.resynced = True
                        opened = ahead.submit(self._open, self.cursor)
                        continue
                    if head.has_more and head.cursor is not None:
                        ahead_of = ahead.submit(self._open, head.cursor)
                    answer = head.answer()
                    waited = self.elapsed() - waited
                    page = _Page(changes_of(answer), answer.get("cursor"), bool(answer.get("has_more")))
                    if ahead_of is not None and (not page.has_more or page.cursor != head.cursor):
                        _drop(ahead_of)  # the body ends elsewhere than its head said
                        ahead_of = None
                    if page.has_more and ahead_of is None:
                        ahead_of = ahead.submit(self._open, page.cursor)
                    self._apply_page(page)
                    report.pulled += len(page.changes)
                    self._paced(head, answer, len(page.changes), waited)
                    if not page.has_more:
                        break
                    opened, ahead_of = ahead_of, None
            except TransportError:
                self.pacer.cut()
                raise
            finally:
                _drop(ahead_of)
        if self._state("resyncing") == "1":
            self._finish_resync()
        return report

    def _open(self, cursor: str | None):
        """Ask for the page after ``cursor`` at the pacer's size; the first asked by this
        pull asks for the server's estimate of what remains too."""
        estimate, self._estimate_asked = not self._estimate_asked, True
        if hasattr(type(self.transport), "open_pull"):
            return self.transport.open_pull(cursor, self.pacer.size, estimate=estimate)
        return _Whole(self.transport.pull(cursor, self.pacer.size))

    def _paced(self, head, answer: dict, rows: int, waited_ms: int) -> None:
        """Tell the pacer how the page came, and the person how far the pull is."""
        self.pacer.page(rows, waited_ms / 1000, head.cuts)
        progress = self.progress
        if "remaining" in answer:
            progress.estimated = progress.rows + answer["remaining"]
        progress.rows += rows
        progress.pages += 1
        progress.bytes += getattr(head, "bytes", 0)
        if progress.estimated is not None:
            progress.estimated = max(progress.estimated, progress.rows)
        if self.on_progress is not None:
            self.on_progress(progress)

    def _carried_page(self) -> Future | None:
        """The first page a push brought (:meth:`sync.push.Push.push`), when it was read
        after the cursor the replica holds now; taken once."""
        carried, self._first_page = self._first_page, None
        if carried is None or carried[0] != self.cursor:
            return None
        done: Future = Future()
        done.set_result(_Whole(carried[1]))
        return done

    def _apply_page(self, page: _Page) -> None:
        pending = self.rows.pending_rows()
        resyncing = self._state("resyncing") == "1"
        with self._transaction(), Quiet(self.db):
            # each row's latest change in the page, by entity (a page may hold a row twice)
            by_entity: dict[str, dict[str, dict]] = {}
            for change in page.changes:
                latest = by_entity.get(change["entity"])
                if latest is None:
                    latest = by_entity[change["entity"]] = {}
                latest[change["id"]] = change
            for entity in [e for e in by_entity if e not in self.registry]:
                del by_entity[entity]
            for entity, latest in by_entity.items():
                self._apply_entity(entity, list(latest.values()), pending)
            self._keep_returned(by_entity)
            if resyncing:
                self.db.executemany("DELETE FROM _resync_unseen WHERE entity = ? AND id = ?",
                                    [(entity, row_id) for entity, latest in by_entity.items() for row_id in latest])
            self._set_state("cursor", page.cursor)

    def _apply_entity(self, entity: str, changes: list[dict], pending: set) -> None:
        """Apply one entity's changes of a page: a change older than the version held is skipped.

        A page of upserts of rows without pending edits, when the replica remembers no
        deleted row of the entity, goes in as one statement that keeps a newer row by
        itself (a new replica's snapshot is all such pages). Otherwise versions are looked
        up where that statement cannot decide alone: deletes and evictions, rows with
        pending edits (they are rebased), and every row when the replica remembers deleted
        rows of this entity (an older copy of a deleted row must stay out).
        """
        rebased = bool(pending) and any((entity, c["id"]) in pending for c in changes)
        remembers = self.rows.keeps_deleted(entity)
        if not rebased and not remembers and set(map(_OP, changes)) == {"upsert"}:
            self.rows.put_rows(entity, changes)
            return
        if remembers:
            asked = [c["id"] for c in changes]
        else:
            asked = [c["id"] for c in changes if c["op"] != "upsert" or (entity, c["id"]) in pending]
        known = self.rows.versions(entity, asked) if asked else {}
        # an eviction is about scope, not content: it always applies
        fresh = [c for c in changes if c["op"] == "evict" or c.get("version", 0) >= known.get(c["id"], 0)]
        self.rows.put_rows(entity, [c for c in fresh if c["op"] == "upsert"])
        gone = [c for c in fresh if c["op"] == "delete"]
        self.rows.delete_rows(entity, [c["id"] for c in gone])
        self.rows.keep_versions(entity, [(c["id"], c["version"]) for c in gone])
        evicts = [c["id"] for c in fresh if c["op"] == "evict"]
        evicted = [i for i in evicts if (entity, i) not in pending]
        self.rows.delete_rows(entity, evicted)
        self.rows.forget_versions((entity, i) for i in evicted)
        self.db.executemany("INSERT OR IGNORE INTO _evict_after_push (entity, id) VALUES (?, ?)",
                            [(entity, i) for i in evicts if (entity, i) in pending])
        for change in fresh:
            if (entity, change["id"]) in pending:
                self.rows.rebase(entity, change["id"])

    def _keep_returned(self, by_entity: dict[str, dict[str, dict]]) -> None:
        """A row noted for eviction once pushed that comes back into scope (its latest
        change an upsert, on this page or a later one than its eviction) stays: its note
        goes, or the push would delete a row the device holds by right — and when the push
        logs no new change of the row (an edit refused, or one that lost), no pull would
        bring it back."""
        if self.db.execute("SELECT NOT EXISTS (SELECT 1 FROM _evict_after_push)").fetchone()[0]:
            return
        self.db.executemany("DELETE FROM _evict_after_push WHERE entity = ? AND id = ?", [
            (entity, row_id) for entity, latest in by_entity.items()
            for row_id, change in latest.items() if change["op"] == "upsert"
        ])

    def _start_resync(self) -> None:
        """The server no longer has our place in its log: fetch the scope afresh."""
        with self._transaction():
            self.db.execute("DELETE FROM _resync_unseen")
            self.db.execute("INSERT INTO _resync_unseen (entity, id) SELECT entity, id FROM _row_version")
            for entity in self.registry:
                self.db.execute(f"INSERT OR IGNORE INTO _resync_unseen (entity, id) "
                                f"SELECT '{entity.name}', id FROM \"{entity.name}\" WHERE _version IS NOT NULL")
            self._set_state("cursor", None)
            self._set_state("resyncing", "1")

    def _finish_resync(self) -> None:
        """Rows the fresh snapshot did not bring have left the scope: drop them."""
        pending = self.rows.pending_rows()
        with self._transaction(), Quiet(self.db):
            for entity, row_id in self.db.execute("SELECT entity, id FROM _resync_unseen").fetchall():
                if (entity, row_id) not in pending and entity in self.registry:
                    self.rows.delete_rows(entity, [row_id])
                    self.rows.forget_versions([(entity, row_id)])
            self.db.execute("DELETE FROM _resync_unseen")
            self._set_state("resyncing", None)
