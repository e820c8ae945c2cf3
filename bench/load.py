"""Loading a server for a benchmark without going through HTTP or the merge rules.

What a benchmark measures is sync, not how fast its fixtures were made, so bulk data
goes straight in: entity rows through :func:`server.rows.save` and log entries through
:func:`server.changelog.append`, the very writers a push uses, so the tables, the log,
its scope index and the log head are what ``server/push.py`` would have left. Only the
merge and the validation are skipped (the generator's values are valid by
construction). Scope keys come from :mod:`server.scopes`, so a row is logged where a
push would log it.
"""

from __future__ import annotations

from datetime import datetime, timezone

import orjson
import sqlalchemy as sa

from server import auth, changelog, rows, scopes
from server.changelog import LogEntry
from sync import hlc
from sync.registry import REGISTRY, Entity, Owner, ReferencedBy, Via
from sync.rules import FieldClock, StoredRow

from .dataset import Dataset, Rows

__all__ = ["add_people", "add_devices", "load_dataset", "LOADER_DEVICE"]

LOADER_DEVICE = "bench-loader"
_CHUNK = 5_000


def add_people(engine: sa.Engine, engineers: list[str], *, with_desk: bool = True) -> dict[str, str]:
    """Users with one device each; returns ``{user id: token}`` (token ``tok-<user id>``)."""
    tokens = {}
    with engine.begin() as conn:
        people = [(u, "engineer") for u in engineers] + ([("u-desk", "desk")] if with_desk else [])
        for user_id, role in people:
            auth.add_user(conn, user_id, role, user_id=user_id)
            auth.add_device(conn, user_id, "bench", device_id=f"d-{user_id}", token=f"tok-{user_id}")
            tokens[user_id] = f"tok-{user_id}"
    return tokens


def add_devices(engine: sa.Engine, user_id: str, count: int) -> list[tuple[str, str]]:
    """More devices for one person: ``[(device id, token)]``.

    A benchmark that syncs a new replica again and again gives each one its own device,
    as a real new phone would; one device doing it would soon meet the per-device rate
    limit, which is policy, not the cost being measured.
    """
    made = []
    with engine.begin() as conn:
        for k in range(count):
            device_id, token = f"d-{user_id}-{k}", f"tok-{user_id}-{k}"
            auth.add_device(conn, user_id, f"bench {k}", device_id=device_id, token=token)
            made.append((device_id, token))
    return made


def load_dataset(engine: sa.Engine, dataset: Dataset) -> int:
    """Write every row of ``dataset`` and its log entries; return the log head."""
    clock = hlc.Clock(LOADER_DEVICE)
    with engine.begin() as conn:
        stamps = [_save(conn, part, clock) for part in dataset.rows]
    head, memo = 0, {}
    for part, stamp in zip(dataset.rows, stamps):
        for start in range(0, len(part.ids), _CHUNK):
            with engine.begin() as conn:
                last = changelog.claim(conn)
                entries = [_entry(conn, part, i, stamp, memo) for i in range(start, min(start + _CHUNK, len(part.ids)))]
                head = changelog.append(conn, entries, last)
    return head


def _save(conn: sa.Connection, part: Rows, clock: hlc.Clock) -> str:
    """Insert the rows at version 1, every field stamped with one HLC; return it."""
    stamp = str(clock.tick())
    for start in range(0, len(part.ids), _CHUNK):
        states = {}
        for row_id, data in zip(part.ids[start : start + _CHUNK], part.data[start : start + _CHUNK]):
            field_clock = {name: FieldClock(stamp, 1) for name, value in data.items() if value is not None}
            states[row_id] = rows.RowState(StoredRow(dict(data), field_clock, 1), exists=False, dirty=True)
        rows.save(conn, part.entity, states, datetime.now(timezone.utc))
    return stamp


def _entry(conn: sa.Connection, part: Rows, index: int, stamp: str, memo: dict) -> LogEntry:
    row_id, data = part.ids[index], part.data[index]
    keys = _keys(conn, part.entity, row_id, data, memo)
    return LogEntry(part.entity.name, row_id, "upsert", 1, data, stamp, LOADER_DEVICE, keys)


def _keys(conn: sa.Connection, entity: Entity, row_id: str, data: dict, memo: dict) -> list[str]:
    """``server.scopes.entry_keys``, asked once per distinct scope-deciding values.

    ``Owner``, ``Via`` and ``Catalog`` keys follow from the row's own fields, so rows
    that agree on those fields share keys (50,000 movements of one van ask once per
    ticket); a ``ReferencedBy`` scope depends on the row itself and is always asked.
    """
    if any(isinstance(p, ReferencedBy) for p in entity.scope):
        return scopes.entry_keys(conn, REGISTRY, entity.name, row_id, data)
    # as JSON text: a scope field may hold a list (a stock location's crew)
    signature = (entity.name, *(orjson.dumps(data.get(p.field)) for p in entity.scope if isinstance(p, (Owner, Via))))
    if signature not in memo:
        memo[signature] = scopes.entry_keys(conn, REGISTRY, entity.name, row_id, data)
    return memo[signature]
