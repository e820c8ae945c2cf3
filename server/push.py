"""Applying a pushed change-set: one transaction, exactly once.

The steps, all inside the transaction that appends to the log:

1. claim the log (serialises appends, see :mod:`server.changelog`);
2. a change-set id already recorded is answered from its record, and nothing changes;
3. load every row the change-set touches, in one query per entity;
4. for each mutation in order: check values and rights (a refusal rejects that
   mutation only), re-stamp a clock too far ahead, merge by the entity's rule;
5. write the dirty rows, append their log entries, keep conflict records, and record the
   answer under the change-set id.

If anything raises, the transaction rolls back whole and the device retries later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson
import sqlalchemy as sa

from sync import hlc
from sync.changeset import ChangeSet, Mutation, Rejection, check_values, parse_changeset
from sync.errors import ForbiddenError
from sync.ids import new_id
from sync.registry import Registry
from sync.rules import Merge, StoredRow, rule_for

from . import authz, changelog, rows, scopes
from .changelog import LogEntry
from .tables import changesets, conflicts

__all__ = ["Caller", "apply_push"]


@dataclass(frozen=True)
class Caller:
    user_id: str
    role: str
    device_id: str
    depot_id: str | None = None


def apply_push(engine: sa.Engine, registry: Registry, caller: Caller, payload: Any, *, now_ms: int | None = None) -> dict:
    changeset = parse_changeset(payload, registry)
    if changeset.device_id != caller.device_id:
        raise ForbiddenError("device_id does not match the device of this token", field="device_id")
    with engine.begin() as conn:
        last_seq = changelog.claim(conn)
        recorded = conn.execute(
            sa.select(changesets.c.response, changesets.c.device_id).where(changesets.c.changeset_id == changeset.changeset_id)
        ).first()
        if recorded is not None:
            if recorded.device_id != caller.device_id:
                raise ForbiddenError("this change-set id belongs to another device", field="changeset_id")
            answer = orjson.loads(recorded.response)
            answer["replayed"] = True
            return answer
        answer = _Apply(conn, registry, caller, now_ms or hlc.now_ms()).run(changeset, last_seq)
        conn.execute(
            changesets.insert().values(
                changeset_id=changeset.changeset_id,
                device_id=caller.device_id,
                received_at=datetime.now(timezone.utc),
                response=orjson.dumps(answer).decode(),
            )
        )
    return answer


class _Apply:
    def __init__(self, conn: sa.Connection, registry: Registry, caller: Caller, now_ms: int):
        self.conn = conn
        self.registry = registry
        self.caller = caller
        self.now_ms = now_ms
        self.states: dict[str, dict[str, rows.RowState]] = {}
        self.before: dict[tuple[str, str], dict | None] = {}
        self.conflict_rows: list[dict] = []
        self.last_hlc: dict[tuple[str, str], str] = {}

    def run(self, changeset: ChangeSet, last_seq: int) -> dict:
        self._load(changeset)
        results = [self._one(m) for m in changeset.mutations]
        for entity_name, states in self.states.items():
            rows.save(self.conn, self.registry.get(entity_name), states)
        entries = self._log_entries()
        changelog.append(self.conn, entries, last_seq)
        if self.conflict_rows:
            self.conn.execute(conflicts.insert(), self.conflict_rows)
        return {"changeset_id": changeset.changeset_id, "results": results, "server_time": self.now_ms}

    def _load(self, changeset: ChangeSet) -> None:
        wanted: dict[str, list[str]] = {}
        for m in changeset.mutations:
            wanted.setdefault(m.entity, []).append(m.id)
        for entity_name, ids in wanted.items():
            entity = self.registry.get(entity_name)
            found = rows.load(self.conn, entity, list(dict.fromkeys(ids)))
            self.states[entity_name] = {i: rows.RowState(r, exists=True) for i, r in found.items()}
            for i, r in found.items():
                self.before[(entity_name, i)] = None if r.deleted else rows.public_data(entity, r)

    def _one(self, mutation: Mutation) -> dict:
        entity = self.registry.get(mutation.entity)
        state = self.states[mutation.entity].get(mutation.id)
        stored = state.row if state and (state.exists or state.dirty) else None
        refusal = check_values(entity, mutation, self.caller.role) or authz.check_row(self.caller, entity, stored, mutation)
        if refusal is not None:
            return self._rejected(mutation, refusal, entity, stored)
        result: dict[str, Any] = {"mutation_id": mutation.mutation_id}
        stamp = hlc.parse(mutation.hlc)
        if stamp.wall > self.now_ms + hlc.MAX_DRIFT_MS:
            mutation.hlc = hlc.format_hlc(self.now_ms, stamp.counter, stamp.node)
            result["restamped_hlc"] = mutation.hlc
        version = (stored.version if stored else 0) + 1
        merge = rule_for(entity.rule).merge(stored, mutation, version)
        if merge.changed:
            self._keep(mutation, stored, merge, version)
        result["status"] = merge.outcome
        current = self.states[mutation.entity].get(mutation.id)
        result["version"] = current.row.version if current else 0
        if merge.overwrites:
            result["conflicts"] = self._conflicts(entity.rule, mutation, merge)
        return result

    def _keep(self, mutation: Mutation, stored: StoredRow | None, merge: Merge, version: int) -> None:
        if stored is None:
            stored = StoredRow({}, {}, 0)
            self.states[mutation.entity][mutation.id] = rows.RowState(stored, exists=False)
            self.before.setdefault((mutation.entity, mutation.id), None)
        stored.values.update(merge.writes)
        stored.clock.update(merge.clock)
        if merge.deleted_changed:
            stored.deleted = merge.deleted
        stored.version = version
        self.states[mutation.entity][mutation.id].dirty = True
        self.last_hlc[(mutation.entity, mutation.id)] = mutation.hlc

    def _rejected(self, mutation: Mutation, refusal: Rejection, entity, stored: StoredRow | None) -> dict:
        result = {"mutation_id": mutation.mutation_id, "status": "rejected", "code": refusal.code, "message": refusal.message}
        if refusal.field:
            result["field"] = refusal.field
        visible = stored is not None and not stored.deleted and authz.may_read(self.caller, entity, stored)
        result["server_row"] = {"version": stored.version, "data": rows.public_data(entity, stored)} if visible else None
        return result

    def _conflicts(self, rule: str, mutation: Mutation, merge: Merge) -> list[dict]:
        now = datetime.now(timezone.utc)
        out = []
        for o in merge.overwrites:
            record = {
                "id": new_id(),
                "entity": mutation.entity,
                "row_id": mutation.id,
                "field": o.field,
                "rule": rule,
                "winner": o.winner,
                "kept_value": orjson.dumps(o.kept_value).decode(),
                "kept_hlc": o.kept_hlc,
                "lost_value": orjson.dumps(o.lost_value).decode(),
                "lost_hlc": o.lost_hlc,
                "mutation_id": mutation.mutation_id,
                "device_id": self.caller.device_id,
                "created_at": now,
                "status": "open",
            }
            self.conflict_rows.append(record)
            out.append(
                {
                    "conflict_id": record["id"],
                    "field": o.field,
                    "winner": o.winner,
                    "kept_value": o.kept_value,
                    "lost_value": o.lost_value,
                    "kept_hlc": o.kept_hlc,
                    "lost_hlc": o.lost_hlc,
                }
            )
        return out

    def _log_entries(self) -> list[LogEntry]:
        entries: list[LogEntry] = []
        for entity_name, states in self.states.items():
            entity = self.registry.get(entity_name)
            for row_id, state in states.items():
                if not state.dirty:
                    continue
                data = rows.public_data(entity, state.row)
                if state.row.deleted:
                    keys = scopes.entry_keys(self.conn, entity_name, row_id, self.before.get((entity_name, row_id)) or data)
                    entries.append(LogEntry(entity_name, row_id, "delete", state.row.version, None,
                                            self.last_hlc.get((entity_name, row_id)), self.caller.device_id, keys))
                    continue
                keys = scopes.entry_keys(self.conn, entity_name, row_id, data)
                entries.append(LogEntry(entity_name, row_id, "upsert", state.row.version, data,
                                        self.last_hlc.get((entity_name, row_id)), self.caller.device_id, keys))
                if entity_name == "ticket":
                    entries.extend(scopes.follow_ticket(self.conn, self.registry, row_id, self.before.get((entity_name, row_id)), data))
        return entries
