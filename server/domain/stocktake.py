"""Stocktakes: a count sheet against the ledger as of its time, settled once approved.

A count (``stock_count``) records one location's shelf, part by part, by whom and
when. Its time on the server's line (``as_of``) is ``counted_at`` corrected by the
counting device's measured skew, as every movement's device time is, so the two compare.

* The difference of a line is the counted quantity less the ledger there as of the
  count: the movements made (device time) up to ``as_of``, plus the adjustments of the
  counts approved before it (each counts at its own count's time). Until the count is
  approved the differences are only listed (:func:`open_counts`).
* Approving a count (the roles of ``stocktake_approvers``, the manager by default)
  posts, for each line, the adjustment that makes the ledger as of the count match the
  shelf (``stocktake_adjustment`` movements naming the count). Settling computes what
  is missing from what the count already posted, so it posts once however often it
  runs: approving twice posts nothing more.
* A movement made before an approved count that arrives after it (an engineer offline
  all week) changes the ledger as of the count: the count, and every later approved
  count of the location, is settled again — a compensating adjustment, never an edit.
  ``stock_location.counted_as_of`` (the latest approved count) tells a movement's
  effects whether to look, without reading the counts on every push.
* An approved count is closed: its location, lines, time and approval never change.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Iterable

import orjson
import sqlalchemy as sa

from sync import hlc
from sync.changeset import Mutation, Rejection
from sync.ids import new_id
from sync.rules import SYSTEM, StoredRow

from ..keyset import after_key
from ..tables import entity_table
from .moments import stored_text

if TYPE_CHECKING:
    from ..apply import Batch, Caller

__all__ = ["check_count", "after_count", "after_movement", "open_counts", "count_key", "as_of_text"]

#: what an approval closes
_FROZEN = ("location_id", "counted_by", "counted_at", "lines", "approved", "approved_by", "approved_at")
_NEEDED = ("location_id", "counted_by", "counted_at")
_CONDITIONS = ("new", "old")
_NOTHING = 1e-9

Bin = tuple[str, str]  # (part id, condition)


def as_of_text(moment: datetime) -> str:
    """A moment as ``as_of`` holds it (:func:`.moments.stored_text`)."""
    return stored_text(moment)


def _moment(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


# -- checks -------------------------------------------------------------------------------


def check_count(batch: "Batch", caller: "Caller", stored: StoredRow | None, mutation: Mutation) -> Rejection | None:
    f = mutation.fields
    was = stored.values if stored is not None else {}
    if was.get("approved"):
        changed = [name for name in _FROZEN if name in f and f[name] != was.get(name)]
        if changed:
            return Rejection("count_approved", "an approved count is closed and its differences posted: count again",
                             changed[0])
        return None
    values = {**was, **f}
    for name in _NEEDED:
        if not values.get(name):
            return Rejection("incomplete_count", "a count names its location, who counted and when", name)
    if "lines" in f and (why := _bad_lines(f["lines"])):
        return Rejection("invalid_value", f"stock_count.lines: {why}", "lines")
    if f.get("approved"):
        if caller.role != SYSTEM and caller.role not in batch.config.stocktake_approvers:
            return Rejection("count_approval_not_allowed",
                             f"a count is approved by {' or '.join(batch.config.stocktake_approvers)}", "approved")
        if caller.role != SYSTEM and not values.get("approved_by"):
            f["approved_by"] = caller.user_id
        if not values.get("approved_at"):
            f["approved_at"] = as_of_text(datetime.fromtimestamp(hlc.wall_of(mutation.hlc) / 1000, timezone.utc))
    return None


def _bad_lines(lines) -> str | None:
    if lines is None:
        return None
    if not isinstance(lines, list):
        return "a list of {part_id, condition, qty}"
    seen = set()
    for line in lines:
        if not isinstance(line, dict) or not isinstance(line.get("part_id"), str) or not line["part_id"]:
            return "each line names its part_id"
        qty = line.get("qty")
        if isinstance(qty, bool) or not isinstance(qty, (int, float)) or not 0 <= qty < 1e12:
            return "each line counts a quantity of zero or more"
        if line.get("condition", "new") not in _CONDITIONS:
            return "a line's condition is new or old"
        bin_ = (line["part_id"], line.get("condition", "new"))
        if bin_ in seen:
            return "each part and condition once"
        seen.add(bin_)
    return None


def _lines(values: dict) -> dict[Bin, float]:
    return {(line["part_id"], line.get("condition", "new")): float(line["qty"]) for line in values.get("lines") or []}


# -- effects ------------------------------------------------------------------------------


def after_count(batch: "Batch", count_id: str, writes: dict) -> None:
    """A count's time put on the server's line; an approval settled."""
    count = batch.states["stock_count"][count_id].row.values
    if "counted_at" in writes:
        correction = batch.device_clock.correction_ms if batch.device_clock is not None else 0
        moment = min(_moment(count["counted_at"]) - timedelta(milliseconds=correction),
                     datetime.fromtimestamp(batch.now_ms / 1000, timezone.utc))
        batch.system_write("stock_count", count_id, {"as_of": as_of_text(moment)})
    if writes.get("approved"):
        location_id, as_of = count["location_id"], count["as_of"]  # as_of just written, in place
        _settle_from(batch, location_id, as_of, None)
        location = batch.lookup("stock_location", location_id)
        if location is not None and (location.values.get("counted_as_of") or "") < as_of:
            batch.system_write("stock_location", location_id, {"counted_as_of": as_of})


def after_movement(batch: "Batch", movement_id: str) -> None:
    """A movement made before an approved count of its location, arriving after it:
    settle that count and the later ones again."""
    state = batch.states["stock_movement"][movement_id]
    movement = state.row.values
    if movement.get("count_id"):
        return  # the server's own adjustment, posted at its count's time
    made = as_of_text(state.meta["device_time"])
    bin_ = (movement.get("part_id"), movement.get("condition") or "new")
    for end in ("from_location_id", "to_location_id"):
        location = batch.lookup("stock_location", movement.get(end) or "")
        if location is not None and made <= (location.values.get("counted_as_of") or ""):
            _settle_from(batch, movement[end], made, {bin_})


def _settle_from(batch: "Batch", location_id: str, since: str, only: set[Bin] | None) -> None:
    """Settle the approved counts of a location from ``since`` on, oldest first: each
    later count's ledger holds the earlier ones' adjustments."""
    counts = sorted((row.values["as_of"], count_id)
                    for count_id, row in batch.find("stock_count", "location_id", location_id).items()
                    if row.values.get("approved") and row.values.get("as_of") and row.values["as_of"] >= since)
    for _, count_id in counts:
        _settle(batch, count_id, only)


def _settle(batch: "Batch", count_id: str, only: set[Bin] | None) -> None:
    count = batch.lookup("stock_count", count_id).values
    counted = {b: q for b, q in _lines(count).items() if only is None or b in only}
    if not counted:
        return
    location_id = count["location_id"]

    def time_of(other: str) -> str | None:
        found = batch.lookup_any("stock_count", other)
        return found.values.get("as_of") if found is not None else None

    as_of = count["as_of"]
    rows = _sums(batch.conn, location_id, counted, as_of) + _unsaved(batch, location_id, counted, as_of)
    ledger, posted = _position(rows, count_id, as_of, time_of)
    for (part_id, condition), qty in sorted(counted.items()):
        missing = qty - ledger.get((part_id, condition), 0.0) - posted.get((part_id, condition), 0.0)
        if abs(missing) > _NOTHING:
            batch.system_write("stock_movement", new_id(), {
                "kind": "stocktake_adjustment", "part_id": part_id, "condition": condition, "qty": round(missing, 9),
                "to_location_id": location_id, "count_id": count_id, "occurred_at": as_of,
            }, op="insert")


# -- the ledger as of a count ------------------------------------------------------------

Sum = tuple[str, str, str | None, float]  # part, condition, count id (None: not an adjustment), qty


def _sums(conn: sa.Connection, location_id: str, bins: Iterable[Bin], as_of: str) -> list[Sum]:
    """The stored movements in and out of a location for these parts: those made up to
    ``as_of`` summed, and every count's adjustments summed per count."""
    moves = entity_table("stock_movement")
    condition = sa.func.coalesce(moves.c.condition, "new")
    signed = (sa.case((moves.c.to_location_id == location_id, moves.c.qty), else_=0.0)
              - sa.case((moves.c.from_location_id == location_id, moves.c.qty), else_=0.0))
    made = sa.func.coalesce(moves.c.device_time, moves.c.created_at)
    query = (
        sa.select(moves.c.part_id, condition.label("condition"), moves.c.count_id, sa.func.sum(signed))
        .where(moves.c.deleted.is_(False),
               sa.or_(moves.c.to_location_id == location_id, moves.c.from_location_id == location_id),
               moves.c.part_id.in_(sorted({part for part, _ in bins})),
               sa.or_(moves.c.count_id.is_not(None), made <= _moment(as_of)))
        .group_by(moves.c.part_id, condition, moves.c.count_id)
    )
    return [(part, cond, count_id, float(qty or 0)) for part, cond, count_id, qty in conn.execute(query)]


def _unsaved(batch: "Batch", location_id: str, bins: Iterable[Bin], as_of: str) -> list[Sum]:
    """The same for the movements this push made, not written yet."""
    wanted, out = set(bins), []
    for state in batch.states.get("stock_movement", {}).values():
        m = state.row.values
        if state.exists or state.row.deleted or (m.get("part_id"), m.get("condition") or "new") not in wanted:
            continue
        if m.get("count_id") is None and as_of_text(state.meta["device_time"]) > as_of:
            continue
        qty = float(m.get("qty") or 0)
        signed = (qty if m.get("to_location_id") == location_id else 0.0) - (
            qty if m.get("from_location_id") == location_id else 0.0)
        if signed:
            out.append((m["part_id"], m.get("condition") or "new", m.get("count_id"), signed))
    return out


def _position(rows: list[Sum], count_id: str, as_of: str,
              time_of: Callable[[str], str | None]) -> tuple[dict[Bin, float], dict[Bin, float]]:
    """``(the ledger as of the count, what the count itself posted)`` per bin."""
    ledger: dict[Bin, float] = {}
    posted: dict[Bin, float] = {}
    for part, condition, other, qty in rows:
        if other == count_id:
            posted[(part, condition)] = posted.get((part, condition), 0.0) + qty
        elif other is None or ((time_of(other) or ""), other) < (as_of, count_id):
            ledger[(part, condition)] = ledger.get((part, condition), 0.0) + qty
    return ledger, posted


# -- reconciliation -------------------------------------------------------------------------


def open_counts(conn: sa.Connection, only: list[str] | None, after: tuple | None = None,
                limit: int | None = None) -> list[dict]:
    """Counts awaiting approval, oldest first (``as_of``, then id), each with its
    differences (counted less the ledger as of the count) for the lines that differ;
    ``after`` a count's :func:`count_key`, at most ``limit`` (a page)."""
    counts = entity_table("stock_count")
    query = (sa.select(counts.c.id, counts.c.location_id, counts.c.counted_by, counts.c.counted_at, counts.c.as_of,
                       counts.c.lines, counts.c.note)
             .where(counts.c.deleted.is_(False), sa.or_(counts.c.approved.is_(None), counts.c.approved.is_(False)),
                    counts.c.as_of.is_not(None), after_key([counts.c.as_of, counts.c.id], after))
             .order_by(counts.c.as_of, counts.c.id).limit(limit))
    if only is not None:
        query = query.where(counts.c.location_id.in_(only))
    pending = conn.execute(query).all()
    times = _count_times(conn, {r.location_id for r in pending})
    out = []
    for r in pending:
        counted = _lines({"lines": orjson.loads(r.lines) if r.lines else None})
        ledger, _ = _position(_sums(conn, r.location_id, counted, r.as_of) if counted else [], r.id, r.as_of,
                              times.get)
        differences = [
            {"part_id": part, "condition": condition, "counted": qty, "ledger": ledger.get((part, condition), 0.0),
             "difference": round(qty - ledger.get((part, condition), 0.0), 9)}
            for (part, condition), qty in sorted(counted.items())
            if abs(qty - ledger.get((part, condition), 0.0)) > _NOTHING
        ]
        out.append({"count_id": r.id, "location_id": r.location_id, "counted_by": r.counted_by,
                    "counted_at": r.counted_at, "as_of": r.as_of, "note": r.note, "differences": differences})
    return out


def count_key(count: dict) -> tuple:
    """An open count's place in :func:`open_counts`' order."""
    return count["as_of"], count["count_id"]


def _count_times(conn: sa.Connection, locations: set[str]) -> dict[str, str]:
    """The time of every count at these locations (only approved ones have adjustments)."""
    if not locations:
        return {}
    counts = entity_table("stock_count")
    query = sa.select(counts.c.id, counts.c.as_of).where(counts.c.location_id.in_(sorted(locations)))
    return {count_id: as_of for count_id, as_of in conn.execute(query)}
