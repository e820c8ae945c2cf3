"""Images kept on the device until the server holds them whole (part of :class:`sync.client.Replica`)."""

from __future__ import annotations

import hashlib

__all__ = ["BlobUploads", "BLOB_CHUNK"]

#: Blob uploads go in pieces of this size, so a dropped link resumes, not restarts.
BLOB_CHUNK = 256 * 1024


class BlobUploads:
    """Needs ``self.db`` and ``self.transport`` (a :class:`sync.client.Replica`)."""

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
