"""Requisitions drive issues: parts leave a depot for a van only as far as an approved
requisition allows, and what was issued is worked out from the issues themselves.

An issue (a ``stock_movement`` of kind ``issue``) names its requisition, goes from the
requisition's depot location to its van, and moves a part its lines list. Judged at push:

* within the approval in force now (approved quantity less every issue recorded): taken;
* beyond it, but within the approval in force when the issue was made, counting what had
  reached the server by then — issues that arrived later from other devices, a void or
  refusal that arrived later, were news its device could not have had: taken, because
  the part physically moved and the ledger keeps physical truth. The excess shows in the
  depot's view of its vans (``over``) and a conflict note (rule ``over_issue``) tells
  the approver, who approves more or has the part brought back;
* otherwise refused, with the depot keeper at the counter (the depot is online):
  ``requisition_not_approved`` (no approval in force, now or then), ``over_issue``
  (more than the approval leaves), ``issue_not_as_requested`` (a part it does not list,
  another depot or van).

"Made" is the issue's stamp, corrected by its device's measured skew (server.clocks);
a device always knows its own earlier issues. A requisition's ``issued`` is true once
every line is issued in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import orjson
import sqlalchemy as sa

from sync import hlc
from sync.changeset import Mutation, Rejection
from sync.rules import Overwrite
from sync.rules.approval import APPROVED, status_of
from sync.rules.lww import node_of

from ..tables import entity_table
from . import stock

if TYPE_CHECKING:
    from ..apply import Batch

__all__ = ["check_issue", "check_lines", "after_issue", "update_issued", "vans", "balances"]

#: quantities are reals: a sum of them may miss the approved figure by a rounding error
_EPSILON = 1e-9


@dataclass(frozen=True)
class Issued:
    """One issue of a requisition, and when and from where it reached the server."""

    part_id: str
    qty: float
    arrived_ms: int
    device: str | None


def check_lines(lines) -> str | None:
    """Why a requisition's ``lines`` are malformed, or ``None``."""
    if lines is None:
        return None
    if not isinstance(lines, list) or not all(
            isinstance(line, dict) and isinstance(line.get("part_id"), str) and line["part_id"]
            and type(line.get("qty")) in (int, float) and line["qty"] > 0 for line in lines):
        return 'lines are a list of {"part_id": "...", "qty": a positive number}'
    return None


def _quantities(lines) -> dict[str, float]:
    """Part → quantity a requisition's lines ask for (a part listed twice, added up)."""
    out: dict[str, float] = {}
    for line in (lines or ()) if check_lines(lines) is None else ():  # none yet: nothing asked
        out[line["part_id"]] = out.get(line["part_id"], 0.0) + float(line["qty"])
    return out


def _ms(when: datetime) -> int:
    return int((when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp() * 1000)


def _issues(batch: "Batch", requisition_id: str) -> list[Issued]:
    """Every issue of the requisition: stored ones, and those made earlier in this push."""
    moves = entity_table("stock_movement")
    found = {
        r.id: Issued(r.part_id, float(r.qty or 0), _ms(r.created_at), r.author_device)
        for r in batch.conn.execute(
            sa.select(moves.c.id, moves.c.part_id, moves.c.qty, moves.c.created_at, moves.c.author_device)
            .where(moves.c.requisition_id == requisition_id, moves.c.kind == "issue", moves.c.deleted.is_(False)))
    }
    for row_id, state in batch.states.get("stock_movement", {}).items():
        values = state.row.values
        if not state.exists and values.get("kind") == "issue" and values.get("requisition_id") == requisition_id:
            found[row_id] = Issued(values.get("part_id"), float(values.get("qty") or 0), batch.now_ms,
                                   batch.authors.get(("stock_movement", row_id)))
    return list(found.values())


def _in_force_then(values: dict, made_ms: int) -> dict | None:
    """The approval in force at ``made_ms`` by what had reached the server, or ``None``."""
    last = None
    for entry in values.get("approval_history") or ():
        if entry.get("arrived") and hlc.wall_of(entry["arrived"]) <= made_ms:
            last = entry
    return last if last is not None and last.get("event") == APPROVED else None


def check_issue(batch: "Batch", mutation: Mutation) -> Rejection | None:
    f = mutation.fields
    requisition = batch.lookup("requisition", f.get("requisition_id") or "")
    if requisition is None:
        return Rejection("requisition_not_approved", "parts are issued against an approved requisition",
                         "requisition_id")
    asked = requisition.values
    for field, named in (("from_location_id", "depot_location_id"), ("to_location_id", "van_location_id")):
        if asked.get(named) and f.get(field) != asked[named]:
            return Rejection("issue_not_as_requested", "an issue goes from its requisition's depot to its van", field)
    part, qty = f["part_id"], f["qty"]
    issues = [i for i in _issues(batch, f["requisition_id"]) if i.part_id == part]
    now = _quantities(asked.get("lines")) if status_of(asked) == APPROVED else None
    if now is not None and part in now and sum(i.qty for i in issues) + qty <= now[part] + _EPSILON:
        return None
    made, device = hlc.wall_of(mutation.hlc), node_of(mutation.hlc)
    in_force = _in_force_then(asked, made)
    then = _quantities(in_force["covers"].get("lines")) if in_force is not None else None
    if then is not None and part in then:
        known = sum(i.qty for i in issues if i.arrived_ms <= made or i.device == device)
        if known + qty <= then[part] + _EPSILON:
            return None  # made before the news that makes it too much: kept, and shown (after_issue)
    if now is None and then is None:
        return Rejection("requisition_not_approved", "parts are issued against an approved requisition",
                         "requisition_id")
    approved = (now or {}).get(part, (then or {}).get(part))
    if approved is None:
        return Rejection("issue_not_as_requested", "the approved requisition does not list this part", "part_id")
    issued = sum(i.qty for i in issues)
    return Rejection("over_issue", f"the requisition's approval covers {approved:g} of this part and {issued:g} "
                     f"were issued: {qty:g} more is over it", "qty")


def after_issue(batch: "Batch", movement_id: str, mutation: Mutation) -> None:
    """Note an issue kept beyond the approval in force, and keep ``issued`` up to date."""
    values = batch.states["stock_movement"][movement_id].row.values
    requisition_id, part = values["requisition_id"], values["part_id"]
    requisition = batch.lookup("requisition", requisition_id)
    if requisition is None:
        return
    asked, issues = requisition.values, _issues(batch, requisition_id)
    approved = _quantities(asked.get("lines")).get(part, 0.0) if status_of(asked) == APPROVED else 0.0
    issued = sum(i.qty for i in issues if i.part_id == part)
    if issued > approved + _EPSILON:
        approvals = [e for e in asked.get("approval_history") or () if e.get("event") == APPROVED]
        left = max(approved - (issued - values["qty"]), 0.0)
        batch.note_conflicts("stock_movement", "over_issue", mutation, [Overwrite(
            "qty", values["qty"], mutation.hlc, left, approvals[-1]["at"] if approvals else "", "incoming")])
    _keep_issued(batch, requisition_id, asked, issues)


def update_issued(batch: "Batch", requisition_id: str) -> None:
    """``issued`` after the requisition's lines changed."""
    requisition = batch.lookup("requisition", requisition_id)
    if requisition is not None:
        _keep_issued(batch, requisition_id, requisition.values, _issues(batch, requisition_id))


def _keep_issued(batch: "Batch", requisition_id: str, asked: dict, issues: list[Issued]) -> None:
    """``issued``: every line of the requisition issued in full."""
    wanted = _quantities(asked.get("lines"))
    given: dict[str, float] = {}
    for issue in issues:
        given[issue.part_id] = given.get(issue.part_id, 0.0) + issue.qty
    done = bool(wanted) and all(given.get(part, 0.0) + _EPSILON >= qty for part, qty in wanted.items())
    if done != bool(asked.get("issued")):
        batch.system_write("requisition", requisition_id, {"issued": done})


def vans(conn: sa.Connection, depot_locations: list[str] | None, after: str | None = None,
         limit: int | None = None) -> list[dict]:
    """The vans a depot issues to, each with its stock and its requisitions on the depot:
    per part, what the approval in force covers, what was issued, what is left and what
    went over it. ``depot_locations`` None: every depot (head office). By van id: those
    ``after`` this one, at most ``limit`` (a page)."""
    locations, requisitions = entity_table("stock_location"), entity_table("requisition")
    van_ids = _van_ids(conn, depot_locations, after, limit)
    mine = (requisitions.c.depot_location_id.in_(depot_locations) if depot_locations is not None else sa.true())
    asked = conn.execute(sa.select(requisitions).where(requisitions.c.deleted.is_(False), mine,
                                                       requisitions.c.van_location_id.in_(van_ids))
                         .order_by(requisitions.c.id)).mappings().all()
    issued = _issued(conn, [r["id"] for r in asked])
    found = {r.id: r for r in conn.execute(sa.select(locations).where(locations.c.id.in_(van_ids)))}
    # grouped once by van and by requisition: a hundred vans never scan every level and line each
    stock_of: dict[str, list[dict]] = {}
    for level in stock.levels(conn, van_ids):
        stock_of.setdefault(level["location_id"], []).append(level)
    asked_of: dict[str, list] = {}
    for r in asked:
        asked_of.setdefault(r["van_location_id"], []).append(r)
    issued_of: dict[str, dict[tuple[str, str], float]] = {}
    for (requisition_id, part), qty in issued.items():
        issued_of.setdefault(requisition_id, {})[(requisition_id, part)] = qty
    out = []
    for van_id in van_ids:
        van = found.get(van_id)
        out.append({
            "location_id": van_id,
            "name": van.name if van is not None else None,
            "engineer_id": van.engineer_id if van is not None else None,
            "stock": stock_of.get(van_id, []),
            "requisitions": [_balance(r, issued_of.get(r["id"], {})) for r in asked_of.get(van_id, [])],
        })
    return out


def _van_ids(conn: sa.Connection, depot_locations: list[str] | None, after: str | None,
             limit: int | None) -> list[str]:
    """The vans the depot issued to or that its requisitions name, by id: ``after`` this
    one, at most ``limit``. Each kind read in id order up to the limit, so a page reads
    as many vans as it shows, not every issue of the year."""
    requisitions, moves = entity_table("requisition"), entity_table("stock_movement")
    issued_from = moves.c.from_location_id.in_(depot_locations) if depot_locations is not None else sa.true()
    mine = requisitions.c.depot_location_id.in_(depot_locations) if depot_locations is not None else sa.true()
    reached = (sa.select(moves.c.to_location_id).distinct()
               .where(moves.c.kind == "issue", moves.c.deleted.is_(False), issued_from,
                      moves.c.to_location_id.is_not(None),
                      moves.c.to_location_id > after if after is not None else sa.true())
               .order_by(moves.c.to_location_id).limit(limit))
    named = (sa.select(requisitions.c.van_location_id).distinct()
             .where(requisitions.c.deleted.is_(False), mine, requisitions.c.van_location_id.is_not(None),
                    requisitions.c.van_location_id > after if after is not None else sa.true())
             .order_by(requisitions.c.van_location_id).limit(limit))
    both = sa.union(sa.select(reached.subquery()), sa.select(named.subquery())).subquery()
    return [r[0] for r in conn.execute(sa.select(both.c[0]).order_by(both.c[0]).limit(limit))]


def balances(conn: sa.Connection, asked: list) -> list[dict]:
    """Each of these requisition rows (mappings of the table) with its lines: per part,
    what the approval in force covers, what was issued, what is left and what went over."""
    issued = _issued(conn, [r["id"] for r in asked])
    return [_balance(r, issued) for r in asked]


def _issued(conn: sa.Connection, requisition_ids: list[str]) -> dict[tuple[str, str], float]:
    """(requisition, part) → quantity issued, summed in SQL."""
    moves = entity_table("stock_movement")
    issued: dict[tuple[str, str], float] = {}
    for r in conn.execute(sa.select(moves.c.requisition_id, moves.c.part_id, sa.func.sum(moves.c.qty))
                          .where(moves.c.kind == "issue", moves.c.deleted.is_(False),
                                 moves.c.requisition_id.in_(requisition_ids))
                          .group_by(moves.c.requisition_id, moves.c.part_id)):
        issued[(r[0], r[1])] = float(r[2])
    return issued


def _balance(requisition, issued: dict[tuple[str, str], float]) -> dict:
    lines = requisition["lines"]
    wanted = _quantities(orjson.loads(lines) if lines else None)
    approved = requisition["status"] == APPROVED
    # the lines in the order the engineer wrote them, then any part issued off the lines
    parts = [*wanted, *sorted(part for (req, part) in issued if req == requisition["id"] and part not in wanted)]
    balance = []
    for part in parts:
        covered = wanted.get(part, 0.0) if approved else 0.0
        given = issued.get((requisition["id"], part), 0.0)
        balance.append({"part_id": part, "asked": wanted.get(part, 0.0), "approved": covered, "issued": given,
                        "left": max(covered - given, 0.0), "over": max(given - covered, 0.0)})
    return {"requisition_id": requisition["id"], "engineer_id": requisition["engineer_id"],
            "status": requisition["status"] or "submitted", "lines": balance}
