"""Applying a pushed change-set: one transaction, exactly once.

1. claim the log (serialises appends, see :mod:`server.changelog`);
2. a change-set id already recorded is answered from its record, and nothing changes —
   when it names the same mutations; an id answered for other mutations is refused
   (409 ``changeset_reused``). A change-set refused whole (422, 413) is never recorded:
   its id may be sent again, with the named mutation taken out;
3. measure the device's clock from the change-set's sending time (:mod:`server.clocks`)
   and load every row the change-set touches, one query per entity;
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

from sync import gcpause
from sync.changeset import parse_changeset
from sync.errors import ChangesetReusedError, ForbiddenError
from sync.registry import Registry

from . import changelog, driver
from .apply import Batch, Caller
from .domain.config import DomainConfig

__all__ = ["Caller", "apply_push"]


def apply_push(engine: sa.Engine, registry: Registry, caller: Caller, payload: Any, *,
               config: DomainConfig | None = None, now_ms: int | None = None) -> dict:
    changeset = parse_changeset(payload, registry)
    if changeset.device_id != caller.device_id:
        raise ForbiddenError("device_id does not match the device of this token", field="device_id")
    with gcpause.paused(), engine.begin() as conn:
        last_seq = changelog.claim(conn)
        recorded = driver.fetch(conn, "SELECT response, device_id FROM changesets WHERE changeset_id = ?",
                                [changeset.changeset_id])
        if recorded:
            response, device_id = recorded[0]
            if device_id != caller.device_id:
                raise ForbiddenError("this change-set id belongs to another device", field="changeset_id")
            answer = orjson.loads(response)
            if {r["mutation_id"] for r in answer["results"]} != {m.mutation_id for m in changeset.mutations}:
                raise ChangesetReusedError(
                    "this change-set id was answered for other mutations: an id names one change-set; "
                    "send these under a new id", field="changeset_id")
            answer["replayed"] = True
            return answer
        batch = Batch(conn, registry, config or DomainConfig(), now_ms)
        batch.measure_clock(caller.device_id, changeset.sent_at_ms)
        wanted: dict[str, list[str]] = {}
        for m in changeset.mutations:
            wanted.setdefault(m.entity, []).append(m.id)
        for entity_name, ids in wanted.items():
            batch.load(entity_name, ids)
        batch.prefetch("signature", "ticket_id", wanted.get("ticket", []))
        # a consumption's old part has its id (server.domain.writeoff): one query, not one each
        batch.load("old_part_return", wanted.get("stock_movement", []))
        results = [batch.apply(m, caller) for m in changeset.mutations]
        batch.finish(last_seq)
        answer = {"changeset_id": changeset.changeset_id, "results": results, "server_time": batch.now_ms}
        driver.insert(conn, "changesets", ("changeset_id", "device_id", "received_at", "response"), [(
            changeset.changeset_id, caller.device_id, driver.stamp(conn, datetime.now(timezone.utc)),
            orjson.dumps(answer).decode(),
        )])
    return answer
