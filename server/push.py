"""Applying a pushed change-set: one transaction, exactly once.

1. claim the log (serialises appends, see :mod:`server.changelog`);
2. a change-set id already recorded is answered from its record, and nothing changes;
3. load every row the change-set touches, one query per entity;
4. apply each mutation in order (:class:`server.apply.Batch`): a refusal rejects that
   mutation only;
5. write the rows, append the log and record the answer under the change-set id.

If anything raises, the transaction rolls back whole and the device retries later.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson
import sqlalchemy as sa

from sync.changeset import parse_changeset
from sync.errors import ForbiddenError
from sync.registry import Registry

from . import changelog
from .apply import Batch, Caller
from .domain.config import DomainConfig
from .tables import changesets

__all__ = ["Caller", "apply_push"]


def apply_push(engine: sa.Engine, registry: Registry, caller: Caller, payload: Any, *,
               config: DomainConfig | None = None, now_ms: int | None = None) -> dict:
    changeset = parse_changeset(payload, registry)
    if changeset.device_id != caller.device_id:
        raise ForbiddenError("device_id does not match the device of this token", field="device_id")
    with engine.begin() as conn:
        last_seq = changelog.claim(conn)
        recorded = conn.execute(
            sa.select(changesets.c.response, changesets.c.device_id)
            .where(changesets.c.changeset_id == changeset.changeset_id)
        ).first()
        if recorded is not None:
            if recorded.device_id != caller.device_id:
                raise ForbiddenError("this change-set id belongs to another device", field="changeset_id")
            answer = orjson.loads(recorded.response)
            answer["replayed"] = True
            return answer
        batch = Batch(conn, registry, config or DomainConfig(), now_ms)
        wanted: dict[str, list[str]] = {}
        for m in changeset.mutations:
            wanted.setdefault(m.entity, []).append(m.id)
        for entity_name, ids in wanted.items():
            batch.load(entity_name, ids)
        batch.prefetch("signature", "ticket_id", wanted.get("ticket", []))
        results = [batch.apply(m, caller) for m in changeset.mutations]
        batch.finish(last_seq)
        answer = {"changeset_id": changeset.changeset_id, "results": results, "server_time": batch.now_ms}
        conn.execute(changesets.insert().values(
            changeset_id=changeset.changeset_id, device_id=caller.device_id,
            received_at=datetime.now(timezone.utc), response=orjson.dumps(answer).decode(),
        ))
    return answer
