"""What a sync tells the app: counts of what happened, and the writes and images the
server refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

__all__ = ["SyncReport", "Parked", "ParkedBlob", "utc_now"]


@dataclass
class SyncReport:
    pushed: int = 0
    conflicts: int = 0
    rejected: int = 0
    pulled: int = 0
    resynced: bool = False
    blobs_uploaded: int = 0
    blobs_parked: int = 0


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
    #: the row as the server held it when it refused the write ({data, version}), or None
    server_row: dict | None = None
    parked_at: str | None = None
    #: refused unread (413 too_large, 422 malformed): how the server holds the row is not
    #: known (``server_row`` is None for that reason, not because the server holds none)
    server_row_unknown: bool = False


@dataclass(frozen=True)
class ParkedBlob:
    """An image that will not upload as it is, kept for the person who captured it."""

    sha256: str
    content_type: str
    size: int
    #: too_large, quota_exceeded, hash_mismatch (the bytes changed on the device), ...
    code: str
    message: str
    parked_at: str
    #: (entity, row id) of each row on the device that names the image
    named_by: tuple[tuple[str, str], ...]


def utc_now() -> str:
    """When a note was kept, as the person's screen shows it."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
