"""Content-addressed blobs (signature images, receipt photos): resumable, deduplicated.

A blob's name is its SHA-256; the server accepts it only when the bytes hash to that
name, so a signature can never point at an image other than the one captured. An
upload may come in pieces (``Content-Range``): each piece must start where the
previous stopped, and the piece that completes it is checked and moved into ``blobs``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa

from sync.errors import ConflictError, NotFoundError, PayloadTooLargeError, ValidationError

from .tables import blob_uploads, blobs

__all__ = ["MAX_BLOB_BYTES", "UploadState", "check_name", "status", "put", "get"]

MAX_BLOB_BYTES = 5 * 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class UploadState:
    sha256: str
    received: int
    total: int | None
    complete: bool

    def to_dict(self) -> dict:
        return {"sha256": self.sha256, "received": self.received, "total": self.total, "complete": self.complete}


def check_name(sha256: str) -> str:
    if not _SHA256.match(sha256):
        raise ValidationError("a blob is named by the lowercase hex SHA-256 of its bytes", field="sha256")
    return sha256


def status(conn: sa.Connection, sha256: str) -> UploadState:
    size = conn.execute(sa.select(blobs.c.size).where(blobs.c.sha256 == sha256)).scalar()
    if size is not None:
        return UploadState(sha256, size, size, True)
    partial = conn.execute(
        sa.select(sa.func.length(blob_uploads.c.received), blob_uploads.c.total).where(blob_uploads.c.sha256 == sha256)
    ).first()
    if partial is None:
        return UploadState(sha256, 0, None, False)
    return UploadState(sha256, partial[0] or 0, partial[1], False)


def put(conn: sa.Connection, sha256: str, data: bytes, content_type: str, device_id: str,
        start: int | None = None, total: int | None = None) -> UploadState:
    """Store a whole blob (``start`` None) or one piece of it; idempotent once complete."""
    current = status(conn, sha256)
    if current.complete:
        return current
    if start is None:
        start, total = 0, len(data)
    if total is None or total > MAX_BLOB_BYTES or start + len(data) > total:
        raise PayloadTooLargeError(f"a blob holds at most {MAX_BLOB_BYTES} bytes", details={"limit": MAX_BLOB_BYTES})
    if start not in (0, current.received):
        raise ConflictError("this piece does not start where the upload stands", details={"received": current.received})
    so_far = b"" if start == 0 else _partial(conn, sha256)
    body = so_far + data
    now = datetime.now(timezone.utc)
    conn.execute(blob_uploads.delete().where(blob_uploads.c.sha256 == sha256))
    if len(body) < total:
        conn.execute(blob_uploads.insert().values(sha256=sha256, total=total, received=body,
                                                  content_type=content_type, updated_at=now))
        return UploadState(sha256, len(body), total, False)
    if hashlib.sha256(body).hexdigest() != sha256:
        raise ValidationError("the bytes do not hash to the blob's name: upload it again", field="sha256")
    conn.execute(blobs.insert().values(sha256=sha256, size=len(body), content_type=content_type, data=body,
                                       created_at=now, device_id=device_id))
    return UploadState(sha256, len(body), len(body), True)


def _partial(conn: sa.Connection, sha256: str) -> bytes:
    return conn.execute(sa.select(blob_uploads.c.received).where(blob_uploads.c.sha256 == sha256)).scalar() or b""


def get(conn: sa.Connection, sha256: str) -> tuple[bytes, str]:
    row = conn.execute(sa.select(blobs.c.data, blobs.c.content_type).where(blobs.c.sha256 == sha256)).first()
    if row is None:
        raise NotFoundError("no such blob (it may not have been uploaded yet)")
    return bytes(row.data), row.content_type
