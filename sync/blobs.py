"""Images kept on the device until the server holds them whole (part of :class:`sync.client.Replica`).

An image the server will not take as it is — over its size limit, over the device's
quota, or bytes that no longer hash to the image's name because the file changed on the
device — is parked with its reason, as a refused mutation is: every other image, every
mutation and every pull still goes through. The rows naming it stay as they are until
the person captures it again; then they retry it or dismiss it.
"""

from __future__ import annotations

import hashlib

import orjson

from .errors import ConflictError, NotFoundError, PayloadTooLargeError, QuotaExceededError, ValidationError
from .outcomes import ParkedBlob, SyncReport, utc_now

__all__ = ["BlobUploads", "BLOB_CHUNK", "BLOB_REFUSALS"]

#: Blob uploads go in pieces of this size, so a dropped link resumes, not restarts.
BLOB_CHUNK = 256 * 1024
#: Blob names per status request (the server's most).
STATUS_BATCH = 100
#: The server's answers that park an image: sending it again as it is would not help.
BLOB_REFUSALS = (PayloadTooLargeError, QuotaExceededError, ValidationError)


class BlobUploads:
    """Needs ``self.db``, ``self.registry``, ``self.transport`` and ``self._transaction``
    (a :class:`sync.client.Replica`)."""

    def put_blob(self, data: bytes, content_type: str = "image/png") -> str:
        """Keep an image (a signature, a receipt) for upload; return its SHA-256 name.

        Keeping the same bytes again restores an image not yet uploaded whose file was
        changed on the device (then :meth:`retry_blob` it).
        """
        if not data:
            raise ValidationError("an image has at least one byte", field="data")
        sha256 = hashlib.sha256(data).hexdigest()
        self.db.execute(
            "INSERT INTO _blobs (sha256, data, content_type) VALUES (?, ?, ?) ON CONFLICT (sha256) DO UPDATE "
            "SET data = excluded.data, content_type = excluded.content_type WHERE _blobs.uploaded = 0",
            (sha256, data, content_type),
        )
        return sha256

    def upload_blobs(self, report: SyncReport | None = None) -> SyncReport:
        """Upload every image not yet on the server and not parked, resuming where each stopped."""
        report = report or SyncReport()
        pending = self.db.execute(
            "SELECT sha256 FROM _blobs WHERE uploaded = 0 AND sha256 NOT IN (SELECT sha256 FROM _parked_blobs) "
            "ORDER BY sha256"
        ).fetchall()
        known = self._statuses([sha256 for (sha256,) in pending])
        for (sha256,) in pending:
            data, content_type = self.db.execute("SELECT data, content_type FROM _blobs WHERE sha256 = ?",
                                                 (sha256,)).fetchone()
            if hashlib.sha256(data).hexdigest() != sha256:
                self._park_blob(sha256, "hash_mismatch",
                                "the image's bytes changed on this device after it was captured: capture it again")
                report.blobs_parked += 1
                continue
            try:
                self._upload(sha256, data, content_type, known.get(sha256))
            except BLOB_REFUSALS as exc:
                self._park_blob(sha256, exc.code, exc.message)
                report.blobs_parked += 1
                continue
            self.db.execute("UPDATE _blobs SET uploaded = 1 WHERE sha256 = ?", (sha256,))
            report.blobs_uploaded += 1
        return report

    def _statuses(self, names: list[str]) -> dict[str, dict]:
        """Where each blob stands, asked in one request per 100 when the transport's class
        defines ``blob_statuses``: a blob the answer does not know starts from byte 0.
        Empty when it does not; then each blob's status is asked on its own."""
        if not hasattr(type(self.transport), "blob_statuses") or not names:  # the class's own: see sync.push
            return {}
        ask = self.transport.blob_statuses
        known = {}
        for start in range(0, len(names), STATUS_BATCH):
            batch = names[start:start + STATUS_BATCH]
            answer = ask(batch)
            known.update({name: {"received": 0, "complete": False} for name in batch})
            known.update({state["sha256"]: state for state in answer.get("known", [])})
        return known

    def _upload(self, sha256: str, data: bytes, content_type: str, state: dict | None = None) -> None:
        """Send the pieces the server lacks from where ``state`` (asked now when not given)
        says this device stands; a 409 says where its upload stands."""
        if state is None:
            try:
                state = self.transport.blob_status(sha256)
            except NotFoundError:  # nothing of it here for this device yet
                state = {"received": 0, "complete": False}
        offset = int(state.get("received") or 0)
        while not state.get("complete"):
            piece = data[offset:offset + BLOB_CHUNK]
            try:
                state = self.transport.put_blob(sha256, piece, content_type, start=offset, total=len(data))
            except ConflictError as exc:
                held = int(exc.details.get("received") or 0)
                if held == offset:  # refused where the server stands: its upload has another total
                    self.transport.drop_blob_upload(sha256)
                    held = 0
                state = {"received": held, "complete": False}
            offset = int(state.get("received") or 0)

    def _park_blob(self, sha256: str, code: str, message: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO _parked_blobs (sha256, code, message, parked_at) VALUES (?, ?, ?, ?)",
            (sha256, code, message, utc_now()),
        )

    def parked_blobs(self) -> list[ParkedBlob]:
        """The images that will not upload as they are, each with its reason and the rows naming it."""
        rows = self.db.execute(
            "SELECT p.sha256, b.content_type, length(b.data), p.code, p.message, p.parked_at "
            "FROM _parked_blobs p JOIN _blobs b ON b.sha256 = p.sha256 ORDER BY p.parked_at, p.sha256"
        ).fetchall()
        return [ParkedBlob(sha, kind, size, code, message, at, self._rows_naming(sha))
                for sha, kind, size, code, message, at in rows]

    def _rows_naming(self, sha256: str) -> tuple[tuple[str, str], ...]:
        found = []
        for entity in self.registry:
            for f in entity.blob_fields:
                hits = self.db.execute(f'SELECT id, "{f.name}" FROM "{entity.name}" WHERE instr("{f.name}", ?) > 0',
                                       (sha256,))
                found += [(entity.name, row_id) for row_id, raw in hits
                          if sha256 in entity.blobs_named({f.name: orjson.loads(raw) if f.type == "json" else raw})]
        return tuple(dict.fromkeys(found))

    def retry_blob(self, sha256: str) -> None:
        """Upload a parked image again at the next sync (captured again, the limit or quota raised)."""
        with self._transaction():
            if self.db.execute("DELETE FROM _parked_blobs WHERE sha256 = ?", (sha256,)).rowcount == 0:
                raise NotFoundError(f"no parked image {sha256}")

    def dismiss_blob(self, sha256: str) -> None:
        """Give a parked image up: it is never uploaded, and its bytes leave the device.
        The rows naming it stay as they are (capture it again and name the new one)."""
        with self._transaction():
            if self.db.execute("DELETE FROM _parked_blobs WHERE sha256 = ?", (sha256,)).rowcount == 0:
                raise NotFoundError(f"no parked image {sha256}")
            self.db.execute("DELETE FROM _blobs WHERE sha256 = ?", (sha256,))
