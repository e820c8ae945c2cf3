"""Applying mutations to stored rows: the one path every write takes.

A :class:`Batch` lives inside one transaction. For each mutation, in order: order its
stamp on the server's time line (the device's clock corrected by the skew measured at
the push, :mod:`server.clocks`), check its values (type, size and form:
:func:`sync.changeset.check_values`) and the author's rights (:mod:`server.authz`),
merge by the entity's rule, keep conflict notes, run the domain's effects (numbers,
deadlines, stale signatures) and note it in the audit trail.
:meth:`Batch.finish` writes every changed row, the trail, and the log entries.
Pushes from devices and the server's own writes (office resolutions, escalations) both
go through here, so the same rules hold for both.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator

import sqlalchemy as sa

from sync import hlc
from sync.changeset import Mutation, Rejection, coerce_value
from sync.errors import PayloadTooLargeError, RefusedWriteError
from sync.ids import new_id
from sync.registry import Entity, Registry
from sync.rules import SYSTEM, Merge, MergeContext, Overwrite, StoredRow, rule_for
from sync.rules.lww import node_of

from . import audit, authz, changelog, clocks, driver, rows, scopes
from .changelog import LogEntry
from .domain import checks, effects
from .domain.config import DomainConfig
from .domain.numbering import NumberSeries
from .people import People

__all__ = ["Caller", "Batch", "SYSTEM_CALLER", "server_batch"]


@dataclass(frozen=True)
class Caller:
    user_id: str
    role: str
    device_id: str
    depot_id: str | None = None
    #: head office pushing a revoked device's work on its owner's behalf (server.recovery)
    recovered_by: str | None = None


SYSTEM_CALLER = Caller("server", SYSTEM, "server")


class Batch:
    def __init__(self, conn: sa.Connection, registry: Registry, config: DomainConfig, now_ms: int | None = None):
        self.conn = conn
        self.registry = registry
        self.config = config
        self.now_ms = now_ms or hlc.now_ms()
        self.states: dict[str, dict[str, rows.RowState]] = {}
        #: rows looked up and not stored (None), and each written row as it was stored
        self.before: dict[tuple[str, str], dict | None] = {}
        self.last_hlc: dict[tuple[str, str], str] = {}
        self.authors: dict[tuple[str, str], str] = {}
        #: the scope keys of the field devices that wrote each row (see _evictions)
        self.writers: dict[tuple[str, str], set[str]] = {}
        self.trail = audit.Trail()
        now = self.now_ms  # not ``self``: a batch in no reference cycle is freed the moment it ends
        self._server_clock = hlc.Clock("server", wall=lambda: now)
        #: who a device or a user id is, for authorization and conflict notes
        self.people = People(conn)
        #: per device node, the clock re-stamping its writes (see _restamp)
        self._restamps: dict[str, hlc.Clock] = {}
        #: the pushing device's clock as measured (None: not measured, see measure_clock)
        self.device_clock: clocks.DeviceClock | None = None
        #: the server's time of this batch as a stamp: when what it changes reached the log
        self._arrival = hlc.format_hlc(self.now_ms, 0, "server")
        self._found: dict[tuple[str, str, Any], list[str]] = {}
        self.numbers = NumberSeries(conn, config.local_utc_offset_hours)

    # -- rows ------------------------------------------------------------------------

    def load(self, entity_name: str, ids: list[str]) -> None:
        """Bring rows into the batch (one query per call), once each."""
        known = self.states.setdefault(entity_name, {})
        missing = [i for i in dict.fromkeys(ids) if i not in known and (entity_name, i) not in self.before]
        if not missing:
            return
        for row_id, row in rows.load(self.conn, self.registry.get(entity_name), missing).items():
            known[row_id] = rows.RowState(row, exists=True)
        for row_id in missing:
            if row_id not in known:
                self.before[(entity_name, row_id)] = None

    def _known_absent(self, entity_name: str, row_id: str) -> None:
        """A row the server is about to make under a new id: no query to learn it is not stored."""
        self.states.setdefault(entity_name, {})
        self.before[(entity_name, row_id)] = None

    def lookup(self, entity_name: str, row_id: str) -> StoredRow | None:
        """A row as it stands now in this batch, or ``None``."""
        if entity_name not in self.registry or not isinstance(row_id, str):
            return None
        found = self.lookup_any(entity_name, row_id)
        return found if found is not None and not found.deleted else None

    def find(self, entity_name: str, field: str, value: Any) -> dict[str, StoredRow]:
        """Live rows whose ``field`` equals ``value``, stored or made in this batch."""
        if (entity_name, field, value) not in self._found:
            self.prefetch(entity_name, field, [value])
        self.load(entity_name, self._found[(entity_name, field, value)])
        return {
            row_id: state.row
            for row_id, state in self.states.get(entity_name, {}).items()
            if not state.row.deleted and state.row.values.get(field) == value
        }

    def prefetch(self, entity_name: str, field: str, values: list) -> None:
        """Learn in one query which stored rows :meth:`find` will name for each value."""
        wanted = [v for v in dict.fromkeys(values) if (entity_name, field, v) not in self._found]
        table, column = driver.quote(self.conn, entity_name), driver.quote(self.conn, field)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            for value in chunk:
                self._found[(entity_name, field, value)] = []
            query = f"SELECT id, {column} FROM {table} WHERE {column} IN ({driver.marks(len(chunk))})"
            for row_id, value in driver.fetch(self.conn, query, chunk):
                self._found[(entity_name, field, value)].append(row_id)

    # -- mutations -------------------------------------------------------------------

    def measure_clock(self, device_id: str, sent_at_ms: int | None) -> None:
        """Measure the pushing device's clock (:mod:`server.clocks`): its writes are then
        ordered by their stamps corrected by its skew."""
        self.device_clock = clocks.measure(self.conn, device_id, sent_at_ms, self.now_ms,
                                           self.config.clock_tolerance_ms)

    def apply(self, mutation: Mutation, caller: Caller) -> dict:
        """Apply one mutation; return its result for the push answer."""
        sent = mutation.hlc
        device_wall = hlc.wall_of(sent)
        if caller.role != SYSTEM:
            mutation.hlc = self._order(sent, device_wall)
        made_ms, skew = self._made(device_wall, mutation.hlc)
        result = self._apply(mutation, caller, made_ms, skew)
        if result["status"] != "rejected" and sent != mutation.hlc:
            result["restamped_hlc"] = mutation.hlc
        if caller.role != SYSTEM:
            self.trail.note(caller, mutation, result, made_ms, skew if self.device_clock is not None else None,
                            datetime.fromtimestamp(self.now_ms / 1000, timezone.utc))
        return result

    def _order(self, stamp: str, device_wall: int) -> str:
        """The stamp a device's write is ordered by: corrected by the measured skew, or
        (a client that sends no sending time) its own unless too far ahead."""
        if self.device_clock is not None:
            return self.device_clock.order(stamp)
        if device_wall > self.now_ms + hlc.MAX_DRIFT_MS:
            return self._restamp(stamp)
        return stamp

    def _made(self, device_wall: int, ordered: str) -> tuple[int, int | None]:
        """When a write was made, for reports (the device time), and its device's skew:
        the corrected stamp and the measured skew, or the device's word and how far it
        was from the server's time on arrival (a client that sends no sending time)."""
        if self.device_clock is not None:
            return hlc.wall_of(ordered), self.device_clock.skew_ms
        return device_wall, device_wall - self.now_ms

    def _apply(self, mutation: Mutation, caller: Caller, made_ms: int, skew: int | None) -> dict:
        entity = self.registry.get(mutation.entity)
        stored = self.lookup_any(mutation.entity, mutation.id)
        refusal = self._refusal(entity, stored, mutation, caller)
        if refusal is not None:
            return self._rejected(mutation, refusal, entity, stored, caller)
        result: dict[str, Any] = {"mutation_id": mutation.mutation_id}
        version = (stored.version if stored else 0) + 1
        ctx = MergeContext(caller.role, self.lookup, by_author=lambda stamp: self._by_person(stamp, caller),
                           user_id=caller.user_id, arrival=self._arrival,
                           approvers=self.config.approvers_of(entity.name) if entity.approval else frozenset())
        merge = rule_for(entity.rule).merge(stored, mutation, version, ctx)
        if merge.refusal is not None:
            refused = Rejection(merge.refusal.code, merge.refusal.message, merge.refusal.field)
            return self._rejected(mutation, refused, entity, stored, caller)
        if merge.changed:
            self._keep(mutation, stored, merge, version, caller, made_ms, skew)
            effects.after_change(self, entity, mutation.id, merge, mutation, caller)
        result["status"] = merge.outcome
        current = self.states[mutation.entity].get(mutation.id)
        result["version"] = current.row.version if current else 0
        if merge.overwrites:
            result["conflicts"] = self.note_conflicts(entity.name, entity.rule, mutation, merge.overwrites)
            if current is not None and not authz.may_read(self, caller, entity, mutation.id, current.row):
                # the row left the author's scope: they hear that their value lost, not what it holds now
                result["conflicts"] = [_own_side(note) for note in result["conflicts"]]
                result["code"] = LEFT_YOUR_SCOPE
        if any(o.winner == "stored" for o in merge.overwrites):
            # The row kept a value over the author's, and need not change (so no pull would
            # tell): the device puts its copy back as the server holds it.
            result["server_row"] = self._server_row(entity, caller, mutation.id, current.row if current else None)
        return result

    def _restamp(self, stamp: str) -> str:
        """The server's time in place of a device clock too far ahead, ticking on per
        device: its writes keep the order it made them in (an edit stays later than its
        own earlier one, a signature later than the completion it follows)."""
        node = hlc.parse(stamp).node
        if node not in self._restamps:
            now = self.now_ms
            self._restamps[node] = hlc.Clock(node, wall=lambda: now)
        return str(self._restamps[node].tick())

    def system_write(self, entity_name: str, row_id: str, fields: dict, op: str = "update") -> dict:
        """The server's own write, stamped by its clock and merged like any other.

        The clock first moves past every stamp on the row: the server decides after
        seeing the row (a resolution, a number), so its write is the latest.
        """
        current = self.lookup_any(entity_name, row_id)
        if current is not None and current.clock:
            # past the latest stamp is past every one (fixed-width HLC text sorts as time)
            self._server_clock.observe(hlc.parse(max(clock.hlc for clock in current.clock.values())))
        mutation = Mutation(new_id(), entity_name, row_id, op, dict(fields), str(self._server_clock.tick()),
                            current.version if current else None)
        return self.apply(mutation, SYSTEM_CALLER)

    def chosen_write(self, entity_name: str, row_id: str, fields: dict, op: str = "update") -> dict:
        """A value a person at head office chose (settling a conflict), written as the
        server's own write — once it passes the checks a pushed value passes: its field's
        type, choices, length, form and size (``coerce_value``, as ``check_values`` does).
        Who owns the field
        does not matter: settling is the office's to do. The office never stores what no
        device could; a refusal (or the rule's own) raises ``RefusedWriteError``.
        """
        entity = self.registry.get(entity_name)
        checked = Mutation(new_id(), entity_name, row_id, op, dict(fields), "", None)
        for name, value in fields.items():
            spec = entity.field(name)
            if spec is None:
                raise RefusedWriteError(f"{entity_name} has no field {name[:60]!r}", code="unknown_field", field=name)
            try:
                checked.fields[name] = coerce_value(spec, value)
            except ValueError as exc:
                raise RefusedWriteError(f"{entity_name}.{name}: {exc}", field=name) from None
            except PayloadTooLargeError as exc:
                raise RefusedWriteError(f"{entity_name}.{name}: {exc.message}", code=exc.code, field=name) from None
        result = self.system_write(entity_name, row_id, checked.fields, op)
        if result["status"] == "rejected":
            raise RefusedWriteError(result["message"], code=result["code"], field=result.get("field"))
        return result

    def lookup_any(self, entity_name: str, row_id: str) -> StoredRow | None:
        """Like :meth:`lookup`, tombstones included."""
        state = self.states.get(entity_name, {}).get(row_id)
        if state is None and (entity_name, row_id) not in self.before:
            self.load(entity_name, [row_id])
            state = self.states[entity_name].get(row_id)
        return state.row if state is not None else None

    def _refusal(self, entity: Entity, stored: StoredRow | None, mutation: Mutation, caller: Caller) -> Rejection | None:
        if caller.role != SYSTEM:
            refusal = authz.check(self, caller, entity, stored, mutation)
            if refusal is not None:
                return refusal
        return checks.before_merge(self, caller, entity, stored, mutation)

    def _keep(self, mutation: Mutation, stored: StoredRow | None, merge: Merge, version: int,
              caller: Caller, made_ms: int, skew: int | None) -> None:
        states = self.states[mutation.entity]
        row_key = (mutation.entity, mutation.id)
        if stored is not None and not states[mutation.id].dirty and states[mutation.id].exists:
            # the row as stored, for its log entries: which scopes it leaves (taken before the
            # first write). A tombstone is in no scope: brought back, the row and what hangs on
            # it return to every key it has again (scopes.follow).
            self.before[row_key] = {} if stored.deleted else rows.public_data(self.registry.get(mutation.entity), stored)
        if stored is None:
            stored = StoredRow({}, {}, 0)
            states[mutation.id] = rows.RowState(stored, exists=False, meta={
                "device_time": datetime.fromtimestamp(made_ms / 1000, timezone.utc),
                "skew_ms": skew if skew is not None and abs(skew) > self.config.credible_skew_ms else None,
                "author_device": caller.device_id,
            })
        entity = self.registry.get(mutation.entity)
        # a row leaving someone is marked with the server's time: their device's work stamped
        # before it (corrected) is still theirs (server.authz)
        stored.clock.update(scopes.departures(entity, stored.values, merge.writes, self._arrival, version))
        stored.values.update(merge.writes)
        stored.clock.update(merge.clock)
        if merge.deleted_changed:
            stored.deleted = merge.deleted
        stored.version = version
        states[mutation.id].dirty = True
        self.last_hlc[row_key] = mutation.hlc
        self.authors[row_key] = caller.device_id
        if (key := authz.my_key(caller)) is not None:
            self.writers.setdefault(row_key, set()).add(key)

    def _rejected(self, mutation: Mutation, refusal: Rejection, entity: Entity, stored: StoredRow | None,
                  caller: Caller) -> dict:
        result = {"mutation_id": mutation.mutation_id, "status": "rejected", "code": refusal.code,
                  "message": refusal.message}
        if refusal.field:
            result["field"] = refusal.field
        result["server_row"] = self._server_row(entity, caller, mutation.id, stored)
        return result

    def _server_row(self, entity: Entity, caller: Caller, row_id: str, stored: StoredRow | None) -> dict | None:
        """The row as it stands, for the author to put back — if the author may see it."""
        if stored is None or stored.deleted or not authz.may_read(self, caller, entity, row_id, stored):
            return None
        return {"version": stored.version,
                "data": authz.visible_data(entity, rows.public_data(entity, stored), caller.role)}

    # -- conflicts -------------------------------------------------------------------

    def note_conflicts(self, entity_name: str, rule: str, mutation: Mutation, overwrites: list[Overwrite]) -> list[dict]:
        """Keep a conflict record per losing value; its author's devices pull it.

        A loser the row has left (a ticket reassigned) reads the record too, but not the
        row: what the row kept is then withheld from the fields they pull and kept for
        head office alone (``withheld``).
        """
        notes = []
        for o in overwrites:
            loser = node_of(o.lost_hlc) if o.lost_hlc else None
            notify_key = self.people.device_key(loser)
            fields = {
                "entity": entity_name, "row_id": mutation.id, "field": o.field, "rule": rule,
                "winner": o.winner, "kept_value": o.kept_value, "kept_hlc": o.kept_hlc,
                "lost_value": o.lost_value, "lost_hlc": o.lost_hlc, "mutation_id": mutation.mutation_id,
                "device_id": loser, "notify_key": notify_key, "status": "open",
            }
            row = self.lookup(entity_name, mutation.id)
            if row is not None and not authz.readable_by(self, notify_key, self.registry.get(entity_name),
                                                         mutation.id, row):
                fields.update(kept_value=None, kept_hlc=None,
                              withheld={"kept_value": o.kept_value, "kept_hlc": o.kept_hlc})
            conflict_id = new_id()
            self._known_absent("conflict", conflict_id)
            self.system_write("conflict", conflict_id, fields, op="insert")
            notes.append({"conflict_id": conflict_id, "field": o.field, "winner": o.winner,
                          "kept_value": o.kept_value, "lost_value": o.lost_value,
                          "kept_hlc": o.kept_hlc, "lost_hlc": o.lost_hlc})
        return notes

    def _by_person(self, stamp: str, caller: Caller) -> bool:
        """Did ``caller`` write the value stamped ``stamp``, from any of their devices?"""
        return caller.role != SYSTEM and self.people.device_user(node_of(stamp)) == caller.user_id

    # -- finish ----------------------------------------------------------------------

    def finish(self, last_seq: int) -> int:
        """Write every changed row and append the log; return the new log head."""
        when = datetime.fromtimestamp(self.now_ms / 1000, timezone.utc)
        for entity_name, states in self.states.items():
            rows.save(self.conn, self.registry.get(entity_name), states, when)
        self.numbers.save()
        self.trail.write(self.conn)
        if self.device_clock is not None:
            clocks.record(self.conn, self.device_clock)
        return changelog.append(self.conn, self._log_entries(), last_seq)

    def _log_entries(self) -> list[LogEntry]:
        entries: list[LogEntry] = []
        source = scopes.StoredRows(self.conn, self.registry)
        data: dict[tuple[str, str], dict] = {}
        for entity_name, states in self.states.items():
            entity = self.registry.get(entity_name)
            for row_id, state in states.items():
                # written by finish() already: the batch holds them as the database does
                source.know(entity_name, row_id, state.row)
                if state.dirty:
                    data[(entity_name, row_id)] = rows.public_data(entity, state.row)
        logged = frozenset(data)
        for entity_name, states in self.states.items():
            dirty = [(i, data[(entity_name, i)]) for i, st in states.items() if st.dirty]
            before = [(i, self.before[(entity_name, i)]) for i, _ in dirty if self.before.get((entity_name, i))]
            moved = [i for i, was in before
                     if scopes.scope_moved(self.registry, entity_name, was, data[(entity_name, i)])]
            source.warm(entity_name, dirty + before, moved)
        for entity_name, states in self.states.items():
            for row_id, state in states.items():
                if not state.dirty:
                    continue
                key = (entity_name, row_id)
                now = data[key]
                before = self.before.get(key)
                stamp, author = self.last_hlc.get(key), self.authors.get(key)
                if state.row.deleted:
                    keys = scopes.keys_of(source, self.registry, entity_name, row_id, before or now)
                    entries.append(LogEntry(entity_name, row_id, "delete", state.row.version, None, stamp, author, keys))
                    # a deleted row is in no scope: the rows it brought leave with it
                    entries.extend(scopes.follow(source, self.registry, entity_name, row_id, before, {}, logged))
                    continue
                keys = scopes.keys_of(source, self.registry, entity_name, row_id, now)
                entries.append(LogEntry(entity_name, row_id, "upsert", state.row.version, now, stamp, author, keys))
                entries.extend(scopes.follow(source, self.registry, entity_name, row_id, before, now, logged))
                entries.extend(self._evictions(entity_name, row_id, keys))
        return entries

    def _evictions(self, entity_name: str, row_id: str, keys: list[str]) -> list[LogEntry]:
        """A row its author wrote outside their own scope leaves their replica once pushed.

        Work on a ticket taken from them while offline is accepted (:mod:`server.authz`),
        and a row made before anything named it (a customer) belongs to nobody yet.
        """
        if scopes.CATALOG in keys:
            return []
        gone = sorted(self.writers.get((entity_name, row_id), set()) - set(keys))
        return [LogEntry(entity_name, row_id, "evict", 0, None, scope_keys=gone)] if gone else []


#: A conflict answer's code when the row has left the author's scope (see :func:`_own_side`).
LEFT_YOUR_SCOPE = "left_your_scope"


def _own_side(note: dict) -> dict:
    """A conflict note as told to an author the row has left: their own value and clock
    and the verdict, nothing of the other side (written, maybe, after it left them)."""
    other = "kept" if note["winner"] == "stored" else "lost"
    return {**note, f"{other}_value": None, f"{other}_hlc": None, "withheld": True}


@contextmanager
def server_batch(engine: sa.Engine, registry: Registry, config: DomainConfig, now_ms: int | None = None) -> Iterator[Batch]:
    """One transaction of the server's own writes, appended to the log like a push."""
    with engine.begin() as conn:
        last_seq = changelog.claim(conn)
        batch = Batch(conn, registry, config, now_ms)
        yield batch
        batch.finish(last_seq)
