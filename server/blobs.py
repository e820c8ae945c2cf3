"""Content-addressed blobs (signature images, receipt photos): resumable, deduplicated.

A blob's name is its SHA-256; the server accepts it only when the bytes hash to that
name, so a signature can never point at an image other than the one captured.

An upload in progress belongs to the device that started it: each device has its own
upload of a blob (``blob_uploads``), with its pieces kept as they came
(``blob_pieces``). Each piece must start where the device's upload stands — a piece at
0 too, once the upload holds bytes — and the owner starts again only by dropping its
upload (``DELETE /v1/blobs/<sha256>/upload``). No device can reset, extend or complete
another's upload, and nothing about another device's upload shows in an answer. The piece that completes an upload is
checked against the name and the blob moves to ``blobs``; the device becomes one of its
holders (``blob_holders``), which may read it back and whose quota it counts against.

Who may read a stored blob is :mod:`server.blob_access`'s question; this module stores.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from sync.errors import (
    ConflictError, HashMismatchError, NotFoundError, PayloadTooLargeError, QuotaExceededError, ValidationError,
)

from . import changelog
from .tables import blob_holders, blob_pieces, blob_uploads, blobs

__all__ = [
    "DEFAULT_MAX_BYTES", "DEFAULT_QUOTA_BYTES", "BlobLimits", "UploadState", "check_name", "stored", "upload_of",
    "put", "drop_upload", "get", "used_bytes", "drop_abandoned",
]

#: A photo from a current phone camera at full resolution, with room (docs/decisions.md).
DEFAULT_MAX_BYTES = 25 * 1024 * 1024
#: Years of a busy engineer's photos; a device past it is runaway or stolen (docs/decisions.md).
DEFAULT_QUOTA_BYTES = 10 * 1024 * 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class BlobLimits:
    """``BLOB_MAX_BYTES`` and ``BLOB_QUOTA_BYTES`` of the app's config."""

    max_bytes: int = DEFAULT_MAX_BYTES
    quota_bytes: int = DEFAULT_QUOTA_BYTES

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> "BlobLimits":
        return cls(int(config["BLOB_MAX_BYTES"]), int(config["BLOB_QUOTA_BYTES"]))


@dataclass(frozen=True)
class UploadState:
    sha256: str
    received: int
    total: int
    complete: bool
    content_type: str

    def to_dict(self) -> dict:
        return {"sha256": self.sha256, "received": self.received, "total": self.total, "complete": self.complete,
                "content_type": self.content_type}


def check_name(sha256: str) -> str:
    if not _SHA256.match(sha256):
        raise ValidationError("a blob is named by the lowercase hex SHA-256 of its bytes", field="sha256")
    return sha256


def stored(conn: sa.Connection, sha256: str) -> UploadState | None:
    """The stored blob, or ``None``: say so only to a device that may read it."""
    row = conn.execute(sa.select(blobs.c.size, blobs.c.content_type).where(blobs.c.sha256 == sha256)).first()
    return None if row is None else UploadState(sha256, row.size, row.size, True, row.content_type)


def upload_of(conn: sa.Connection, sha256: str, device_id: str) -> UploadState | None:
    """The device's own upload of the blob in progress, or ``None``."""
    row = conn.execute(sa.select(blob_uploads.c.received, blob_uploads.c.total, blob_uploads.c.content_type)
                       .where(blob_uploads.c.sha256 == sha256, blob_uploads.c.device_id == device_id)).first()
    return None if row is None else UploadState(sha256, row.received, row.total, False, row.content_type)


def put(conn: sa.Connection, sha256: str, data: bytes, content_type: str, device_id: str, now: datetime,
        limits: BlobLimits, start: int | None = None, total: int | None = None) -> UploadState:
    """Take a whole blob (``start`` None) or one piece of the device's own upload of it.

    The caller answers a device that may read the stored blob without calling this: to
    any other device, a stored blob is as if it were not there, so its upload runs
    as a new one would and its answers are the same. Raises ``PayloadTooLargeError``
    (over ``limits.max_bytes``), ``QuotaExceededError`` (the device's blobs and uploads
    would pass ``limits.quota_bytes``), ``ConflictError`` (the piece does not start where
    the device's upload stands, or names another total; ``details.received`` and
    ``details.total`` say where it stands) and ``HashMismatchError`` (the bytes do not
    hash to the name: :func:`drop_upload` it).

    A piece is taken only where the upload stands: a piece at 0 while the upload holds
    bytes is refused like any other misplaced piece, never a silent restart (a first
    piece sent again late would throw away what the server held). The owner starts
    again by dropping its upload (:func:`drop_upload`, ``DELETE …/upload``).
    """
    upload = upload_of(conn, sha256, device_id)
    if start is None:
        return _whole(conn, sha256, data, content_type, device_id, now, limits, upload)
    if total > limits.max_bytes:
        raise PayloadTooLargeError(f"a blob holds at most {limits.max_bytes} bytes, not {total}",
                                   details={"limit": limits.max_bytes})
    held = upload.received if upload else 0
    if start != held or (upload is not None and total != upload.total):
        raise ConflictError("this piece does not start where this device's upload stands",
                            details={"received": held, "total": upload.total if upload else None})
    if upload is None:  # the first piece: the upload's size and type are set now
        _check_quota(conn, sha256, device_id, total, limits)
        received = 0
    else:
        received, content_type = upload.received, upload.content_type
    received += len(data)
    if received < total:
        conn.execute(blob_pieces.insert().values(sha256=sha256, device_id=device_id, start=start, data=data))
        values = dict(total=total, received=received, content_type=content_type, updated_at=now)
        if upload is None:
            conn.execute(blob_uploads.insert().values(sha256=sha256, device_id=device_id, **values))
        else:
            conn.execute(blob_uploads.update().where(blob_uploads.c.sha256 == sha256,
                                                     blob_uploads.c.device_id == device_id).values(**values))
        return UploadState(sha256, received, total, False, content_type)
    return _complete(conn, sha256, _pieces(conn, sha256, device_id) + data, content_type, device_id, now)


def _whole(conn: sa.Connection, sha256: str, data: bytes, content_type: str, device_id: str, now: datetime,
           limits: BlobLimits, upload: UploadState | None) -> UploadState:
    """A blob in one body: it stands alone, whatever the device's upload in pieces holds,
    and replaces it once it is stored (the quota counts the blob once, not twice)."""
    if len(data) > limits.max_bytes:
        raise PayloadTooLargeError(f"a blob holds at most {limits.max_bytes} bytes, not {len(data)}",
                                   details={"limit": limits.max_bytes})
    _check_quota(conn, sha256, device_id, len(data), limits, upload.total if upload else 0)
    return _complete(conn, sha256, data, content_type, device_id, now)


def _complete(conn: sa.Connection, sha256: str, body: bytes, content_type: str, device_id: str,
              now: datetime) -> UploadState:
    if hashlib.sha256(body).hexdigest() != sha256:
        raise HashMismatchError("the bytes do not hash to the blob's name: upload it again from the start",
                                field="sha256")
    # An image arriving can close consumptions: the database decides them from the
    # signatures naming it (migration 0017_open_consumption). A push writing such a
    # signature at the same moment would decide without seeing the image, and this without
    # seeing the signature, and both would leave them open: the two take turns, as pushes do.
    changelog.claim(conn)
    drop_upload(conn, sha256, device_id)
    _insert_new(conn, blobs, sha256=sha256, size=len(body), content_type=content_type, data=body, created_at=now,
                device_id=device_id)
    _insert_new(conn, blob_holders, sha256=sha256, device_id=device_id, created_at=now)
    return stored(conn, sha256)


def _pieces(conn: sa.Connection, sha256: str, device_id: str) -> bytes:
    rows = conn.execute(sa.select(blob_pieces.c.data).where(blob_pieces.c.sha256 == sha256,
                                                            blob_pieces.c.device_id == device_id)
                        .order_by(blob_pieces.c.start)).scalars()
    return b"".join(bytes(piece) for piece in rows)


def _insert_new(conn: sa.Connection, table: sa.Table, **values) -> None:
    """Insert a row unless its key is there (two devices may complete one blob at once)."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    conn.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())


def _check_quota(conn: sa.Connection, sha256: str, device_id: str, total: int, limits: BlobLimits,
                 replaced: int = 0) -> None:
    """``replaced``: what of ``used`` the new bytes take the place of (an upload of the same blob)."""
    used = used_bytes(conn, device_id) - replaced
    if used + total > limits.quota_bytes:
        raise QuotaExceededError(
            f"this device's images would take {used + total} bytes, over its quota of {limits.quota_bytes}",
            details={"quota": limits.quota_bytes, "used": used, "needed": total},
        )


def used_bytes(conn: sa.Connection, device_id: str) -> int:
    """What counts against a device's quota: the complete blobs it uploaded, and the
    whole announced size of each of its uploads in progress."""
    held = sa.select(sa.func.coalesce(sa.func.sum(blobs.c.size), 0)).select_from(
        blob_holders.join(blobs, blobs.c.sha256 == blob_holders.c.sha256)).where(blob_holders.c.device_id == device_id)
    started = sa.select(sa.func.coalesce(sa.func.sum(blob_uploads.c.total), 0)).where(
        blob_uploads.c.device_id == device_id)
    return int(conn.execute(held).scalar_one()) + int(conn.execute(started).scalar_one())


def drop_upload(conn: sa.Connection, sha256: str, device_id: str) -> None:
    """Forget the device's upload of the blob in progress, pieces and all."""
    for table in (blob_pieces, blob_uploads):
        conn.execute(table.delete().where(table.c.sha256 == sha256, table.c.device_id == device_id))


def get(conn: sa.Connection, sha256: str) -> tuple[bytes, str]:
    row = conn.execute(sa.select(blobs.c.data, blobs.c.content_type).where(blobs.c.sha256 == sha256)).first()
    if row is None:
        raise NotFoundError("no such blob (it may not have been uploaded yet)")
    return bytes(row.data), row.content_type


def drop_abandoned(engine: sa.Engine, before: datetime) -> int:
    """Drop uploads in progress that no piece reached since ``before``; return how many.

    The device still holds the bytes: its next status answers 404 and it uploads the
    blob from the start.
    """
    with engine.begin() as conn:
        stale = conn.execute(sa.select(blob_uploads.c.sha256, blob_uploads.c.device_id)
                             .where(blob_uploads.c.updated_at < before)).all()
        for sha256, device_id in stale:
            drop_upload(conn, sha256, device_id)
    return len(stale)
