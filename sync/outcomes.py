"""What a sync tells the app: counts of what happened, and the writes the server refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

__all__ = ["SyncReport", "Parked", "utc_now"]


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


def utc_now() -> str:
    """When a note was kept, as the person's screen shows it."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
