"""The audit trail: who did what to which row, from which device, and when.

One entry per mutation a device pushes — applied, merged, in conflict or rejected —
with the person, their role, the device, the server's time and the device's own (its
clock corrected by the skew measured at the push, with that skew: :mod:`server.clocks`),
the row, the operation, the names of the fields written and, for a refusal, its code —
and, for a revoked device's work that head office pushed from its replica file
(:mod:`server.recovery`), who did. A refused write leaves no other trace, so an
id-guessing device shows up here. Values are not copied: an accepted one is in the
change log, a refused one is the device's alone.

A push collects its entries in a :class:`Trail` and writes them with one bulk insert in
its own transaction, so the trail and the data commit (or roll back) together. The
server's own writes (numbers, stale marks, resolutions) are not entries: they follow
from entries, or carry their author (a conflict's resolution).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import orjson
import sqlalchemy as sa

from sync.changeset import Mutation, shown_name

from . import driver
from .tables import audit

if TYPE_CHECKING:
    from .apply import Caller

__all__ = ["Trail", "read", "MAX_FIELDS", "MAX_PAGE"]

#: At most this many field names per entry, each cut to 80 characters: a refused
#: mutation may carry any junk.
MAX_FIELDS = 100
MAX_PAGE = 500


_COLUMNS = ("at", "device_time", "skew_ms", "user_id", "role", "device_id", "mutation_id", "entity", "row_id", "op",
            "fields", "status", "code", "version", "recovered_by")


@dataclass
class Trail:
    """The entries of one push, written together by :meth:`write`."""

    #: values in :data:`_COLUMNS` order
    entries: list[tuple] = field(default_factory=list)

    def note(self, caller: "Caller", mutation: Mutation, result: dict, device_time_ms: int, skew_ms: int | None,
             at: datetime) -> None:
        names = [shown_name(name) for name in list(mutation.fields)[:MAX_FIELDS]]
        self.entries.append((
            at, datetime.fromtimestamp(device_time_ms / 1000, timezone.utc), skew_ms,
            caller.user_id, caller.role, caller.device_id,
            mutation.mutation_id, mutation.entity, mutation.id, mutation.op, orjson.dumps(names).decode(),
            result.get("status", "rejected"), result.get("code"), result.get("version"), caller.recovered_by,
        ))

    def write(self, conn: sa.Connection) -> None:
        if self.entries:
            stamps: dict[datetime, object] = {}
            rows = [(stamps[at] if at in stamps else stamps.setdefault(at, driver.stamp(conn, at)),
                     driver.stamp(conn, device_time), *rest) for at, device_time, *rest in self.entries]
            driver.insert(conn, "audit", _COLUMNS, rows)
            self.entries = []


def read(conn: sa.Connection, *, entity: str | None = None, row_id: str | None = None,
         device_id: str | None = None, before: int | None = None, limit: int = MAX_PAGE) -> list[dict]:
    """Entries newest first, filtered by row and device; ``before`` pages back by id."""
    query = sa.select(audit).order_by(audit.c.id.desc()).limit(limit)
    for column, value in ((audit.c.entity, entity), (audit.c.row_id, row_id), (audit.c.device_id, device_id)):
        if value is not None:
            query = query.where(column == value)
    if before is not None:
        query = query.where(audit.c.id < before)
    return [_as_dict(r) for r in conn.execute(query).mappings()]


def _as_dict(row) -> dict:
    return {
        "id": row["id"], "at": _iso(row["at"]), "device_time": _iso(row["device_time"]), "skew_ms": row["skew_ms"],
        "user_id": row["user_id"], "role": row["role"], "device_id": row["device_id"],
        "mutation_id": row["mutation_id"], "entity": row["entity"], "row_id": row["row_id"], "op": row["op"],
        "fields": orjson.loads(row["fields"]), "status": row["status"], "code": row["code"],
        "version": row["version"], "recovered_by": row["recovered_by"],
    }


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
