"""Parts are written off against the signed report and the old part (001 §3.7.4).

A consumption stays *open* — still the engineer's to account for — until its ticket
holds a current signature (:mod:`server.domain.signoff`) and, for a returnable part,
its old part has been received at the depot. Which are open is kept by the database
from the rows as they are written (``open_consumption``, migration
0017_open_consumption), so it closes whichever of the two arrives last, from whichever
device, and opens again if the report changes after signing.

* Consuming a returnable part expects its old part back: the server makes the
  ``old_part_return`` whose id is the consumption's own id, stamped with the
  consumption, unless a device made it first. A device that records the old part
  offline uses that id too, so there is one return per consumption whatever arrives
  first (docs/protocol.md).
* An old part is disposed of only once the depot booked it received, and always with
  a disposition; a supplier claim's outcome starts ``pending``.
* A part lost or damaged is written off only by a depot keeper or a manager, with the
  reason and the person who held it. A write-off naming an old-part return is the
  scrapping of that old part: its disposition is its reason.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

import sqlalchemy as sa

from sync.changeset import Mutation, Rejection
from sync.entities import RETURN_STEPS
from sync.ids import new_id
from sync.rules import SYSTEM, StoredRow
from sync.rules.lifecycle import STEP_ROLES

from ..keyset import after_key
from ..tables import blobs, devices, entity_table, open_consumption

if TYPE_CHECKING:
    from ..apply import Batch, Caller

__all__ = [
    "WRITE_OFF_ROLES", "check_movement", "check_return", "expect_old_part", "claim_pending",
    "age_days", "open_consumptions", "open_consumption_query", "consumption_key", "waits_for_old_part", "write_offs",
    "write_off_key",
]

#: who writes off a part lost or damaged (001 table 4.1)
WRITE_OFF_ROLES = frozenset({"depot", "manager", SYSTEM})
_RANK = {step: rank for rank, step in enumerate(RETURN_STEPS)}
_BACK = ("received", "disposed")
_CONSOLE = "console-"


def check_movement(caller: "Caller", mutation: Mutation) -> Rejection | None:
    f = mutation.fields
    if f.get("kind") != "write_off":
        return None
    if caller.role not in WRITE_OFF_ROLES:
        return Rejection("write_off_not_allowed", "parts are written off by a depot keeper or a manager", "kind")
    if f.get("return_id"):
        return None
    if not str(f.get("note") or "").strip():
        return Rejection("reason_required", "a part lost or damaged is written off with the reason (note)", "note")
    if not f.get("held_by"):
        return Rejection("holder_required", "a part lost or damaged is written off naming who held it", "held_by")
    return None


def check_return(batch: "Batch", caller: "Caller", stored: StoredRow | None, mutation: Mutation) -> Rejection | None:
    if caller.role != SYSTEM and caller.role not in STEP_ROLES["disposed"]:
        return None  # not theirs to dispose of: the lifecycle rule says so (step_not_owned)
    was = stored.values if stored is not None else {}
    step = mutation.fields.get("status")
    if step == "disposed" and was.get("status") not in _BACK:
        return Rejection("old_part_not_received",
                         "an old part is disposed of only once the depot has booked it received", "status")
    ranked = [s for s in (was.get("status"), step) if s in _RANK]
    status = max(ranked, key=_RANK.__getitem__) if ranked else None
    disposition = mutation.fields["disposition"] if "disposition" in mutation.fields else was.get("disposition")
    if status == "disposed" and not disposition:
        return Rejection("disposition_required",
                         "a disposed old part says what became of it: repair, scrap or supplier_claim", "disposition")
    return None


def expect_old_part(batch: "Batch", movement_id: str, consumption: Mutation) -> None:
    """A returnable part consumed: its old part is expected back, as the consumption's own
    return (same id, same stamp), made unless a device made it first."""
    from ..apply import SYSTEM_CALLER  # the batch's module imports the domain's: import late

    movement = batch.states["stock_movement"][movement_id].row.values
    part = batch.lookup("part", movement.get("part_id") or "")
    if part is None or not part.values.get("returnable") or batch.lookup_any("old_part_return", movement_id):
        return
    fields = {"ticket_id": movement.get("ticket_id"), "part_id": movement.get("part_id"), "qty": movement.get("qty"),
              "engineer_id": movement.get("held_by"),
              "depot_location_id": _home_depot(batch, movement.get("from_location_id")), "status": "expected"}
    made = Mutation(new_id(), "old_part_return", movement_id, "insert",
                    {k: v for k, v in fields.items() if v is not None}, consumption.hlc)
    batch.apply(made, SYSTEM_CALLER)


def _home_depot(batch: "Batch", location_id: str | None) -> str | None:
    """Where an old part goes back to: the depot it was drawn from, or the van's depot."""
    location = batch.lookup("stock_location", location_id or "")
    if location is None:
        return None
    if location.values.get("kind") == "depot":
        return location_id
    depot_id = location.values.get("depot_id")
    shelves = sorted(i for i, row in batch.find("stock_location", "depot_id", depot_id).items()
                     if row.values.get("kind") == "depot") if depot_id else []
    return shelves[0] if shelves else None


def claim_pending(batch: "Batch", return_id: str) -> None:
    """A supplier claim with no outcome yet is pending (二次索赔: the supplier answers later)."""
    row = batch.states["old_part_return"][return_id].row.values
    if row.get("status") == "disposed" and row.get("disposition") == "supplier_claim" and not row.get("claim_outcome"):
        batch.system_write("old_part_return", return_id, {"claim_outcome": "pending"})


# -- reconciliation ---------------------------------------------------------------------


def age_days(at: datetime, now: datetime) -> float:
    return round((now - _utc(at)).total_seconds() / 86400, 1)


def open_consumption_query(only: list[str] | None) -> sa.Select:
    """SQL: consumptions not yet written off, with ``signed``, ``returnable`` and
    ``old_part_status`` saying what each waits for; ``only`` some locations: those drawn
    from there, or whose old part goes back there. The reconciliation report groups it.

    Which are open is stored (``open_consumption``, kept by the database as the records
    arrive: migration 0017_open_consumption), so this reads those few, not the year's."""
    moves, returns, parts = entity_table("stock_movement"), entity_table("old_part_return"), entity_table("part")
    signatures = entity_table("signature")
    signed = (sa.exists().where(signatures.c.ticket_id == moves.c.ticket_id, signatures.c.deleted.is_(False),
                                sa.or_(signatures.c.stale.is_(None), signatures.c.stale.is_(False)),
                                blobs.c.sha256 == signatures.c.blob_sha256))
    at = sa.func.coalesce(moves.c.device_time, moves.c.created_at)
    query = (
        sa.select(moves.c.id, moves.c.held_by, moves.c.ticket_id, moves.c.part_id, moves.c.qty,
                  moves.c.from_location_id, returns.c.status.label("old_part_status"),
                  parts.c.returnable.is_(True).label("returnable"), signed.label("signed"), at.label("at"))
        .select_from(open_consumption.join(moves, moves.c.id == open_consumption.c.movement_id)
                     .outerjoin(parts, parts.c.id == moves.c.part_id)
                     .outerjoin(returns, sa.and_(returns.c.id == moves.c.id, returns.c.deleted.is_(False))))
    )
    if only is not None:
        query = query.where(sa.or_(moves.c.from_location_id.in_(only), returns.c.depot_location_id.in_(only)))
    return query


def waits_for_old_part(returnable: sa.ColumnElement, old_part_status: sa.ColumnElement) -> sa.ColumnElement:
    """SQL over :func:`open_consumption_query`'s columns: does it wait for its old part?"""
    return sa.and_(returnable, sa.or_(old_part_status.is_(None), old_part_status.not_in(_BACK)))


def open_consumptions(conn: sa.Connection, only: list[str] | None, now: datetime, after: tuple | None = None,
                      limit: int | None = None) -> list[dict]:
    """Consumptions not yet written off, by the engineer who held the part, oldest first
    (``at``: device time), then by id: each says what it waits for (``signature``,
    ``old_part``). ``only`` some locations: those drawn from there, or whose old part goes
    back there. ``after`` a consumption's :func:`consumption_key`, at most ``limit`` (a page)."""
    query = open_consumption_query(only).subquery()
    keys = [sa.func.coalesce(query.c.held_by, ""), query.c.at, query.c.id]
    key = None if after is None else (after[0], datetime.fromisoformat(after[1]), after[2])
    out = []
    for r in conn.execute(sa.select(query).where(after_key(keys, key)).order_by(*keys).limit(limit)):
        waiting = ([] if r.signed else ["signature"]) + (
            ["old_part"] if r.returnable and r.old_part_status not in _BACK else [])
        out.append({"movement_id": r.id, "engineer_id": r.held_by, "ticket_id": r.ticket_id, "part_id": r.part_id,
                    "qty": r.qty, "from_location_id": r.from_location_id, "old_part_status": r.old_part_status,
                    "waiting_for": waiting, "age_days": age_days(r.at, now), "at": _utc(r.at).isoformat()})
    return out


def consumption_key(row: dict) -> tuple:
    """An open consumption's place in :func:`open_consumptions`' order."""
    return row["engineer_id"] or "", row["at"], row["movement_id"]


def write_offs(conn: sa.Connection, only: list[str] | None, limit: int | None = None,
               after: tuple | None = None) -> list[dict]:
    """Parts written off, newest first (``at``: device time), then by id: lost or damaged
    (with the reason and who held them) and old parts scrapped (naming their return); who
    wrote each off. ``limit``: the newest that many; ``after``: past a write-off's
    :func:`write_off_key` (a page)."""
    moves = entity_table("stock_movement")
    at = sa.func.coalesce(moves.c.device_time, moves.c.created_at)
    # the console's writes carry the office's own device, ``console-<user id>``, which has no
    # row in ``devices`` (server.console.accounts.console_device)
    console = sa.case((moves.c.author_device.like(f"{_CONSOLE}%"),
                       sa.func.substr(moves.c.author_device, len(_CONSOLE) + 1)), else_=None)
    key = None if after is None else (datetime.fromisoformat(after[0]), after[1])
    query = (
        sa.select(moves.c.id, moves.c.part_id, moves.c.qty, moves.c.condition, moves.c.from_location_id,
                  moves.c.held_by, moves.c.note, moves.c.return_id, moves.c.ticket_id,
                  sa.func.coalesce(devices.c.user_id, console).label("user_id"),
                  at.label("at"))
        .select_from(moves.outerjoin(devices, devices.c.id == moves.c.author_device))
        .where(moves.c.kind == "write_off", moves.c.deleted.is_(False),
               after_key([at, moves.c.id], key, descending=(True,)))
        .order_by(at.desc(), moves.c.id)
    )
    if only is not None:
        query = query.where(moves.c.from_location_id.in_(only))
    if limit is not None:
        query = query.limit(limit)
    return [
        {"movement_id": r.id, "part_id": r.part_id, "qty": r.qty, "condition": r.condition or "new",
         "from_location_id": r.from_location_id, "held_by": r.held_by, "reason": r.note, "return_id": r.return_id,
         "ticket_id": r.ticket_id, "written_off_by": r.user_id, "at": _utc(r.at).isoformat()}
        for r in conn.execute(query)
    ]


def write_off_key(row: dict) -> tuple:
    """A write-off's place in :func:`write_offs`' order."""
    return row["at"], row["movement_id"]


def _utc(at: datetime) -> datetime:
    """A stored time as an aware UTC time (SQLite gives it back without its zone)."""
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)
