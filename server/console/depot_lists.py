"""What the depot keeper's pages read: the domain's own queries, bounded to his depot,
with the names a person reads (engineer, part, ticket number), a page at a time in SQL.

``only`` is the depot's stock locations (:func:`server.domain.stock.depot_locations`)
for a depot keeper, ``None`` for head office (every depot), as ``/v1/depot`` bounds its
answers. Which old parts are out, which consumptions are open and what a count differs
by are the domain's to say (:mod:`server.domain.stock`, :mod:`server.domain.writeoff`,
:mod:`server.domain.stocktake`, :mod:`server.domain.requisitions`); this module only
names, pages and counts their rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import orjson
import sqlalchemy as sa
from sync.rules.approval import APPROVED

from ..domain import requisitions, stock, stocktake, writeoff
from ..tables import entity_table, users

__all__ = ["PAGE_SIZE", "Page", "old_parts_out", "old_parts_back", "one_return", "open_requisitions",
           "one_requisition", "counts", "consumptions", "write_offs", "parts_named", "engineer_van"]

PAGE_SIZE = 50
#: write-offs listed, newest first
WRITE_OFFS_SHOWN = 100
#: approved counts listed under the open ones, newest first
APPROVED_COUNTS_SHOWN = 20


@dataclass(frozen=True)
class Page:
    rows: list[dict]
    total: int
    page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def _age(at: datetime | None, now: datetime) -> float | None:
    return writeoff.age_days(at, now) if at is not None else None


def _in(column: sa.ColumnElement, only: list[str] | None) -> sa.ColumnElement:
    return column.in_(only) if only is not None else sa.true()


def parts_named(conn: sa.Connection, part_ids) -> dict[str, dict]:
    """part id → its code, name and unit (parts no longer in the catalog are left out)."""
    parts = entity_table("part")
    wanted = sorted({p for p in part_ids if p})
    if not wanted:
        return {}
    return {r.id: {"code": r.code, "name": r.name, "unit": r.unit, "returnable": r.returnable}
            for r in conn.execute(sa.select(parts.c.id, parts.c.code, parts.c.name, parts.c.unit, parts.c.returnable)
                                  .where(parts.c.id.in_(wanted)))}


# -- old parts ----------------------------------------------------------------------------


def old_parts_out(conn: sa.Connection, only: list[str] | None, engineer: str, page: int, now: datetime
                  ) -> tuple[Page, list[dict]]:
    """Old parts expected or collected, not yet received (the domain's list), oldest
    first; and per engineer how many and since when, for every engineer with any."""
    out = stock.outstanding_query(only).subquery()
    returns, parts, tickets = entity_table("old_part_return"), entity_table("part"), entity_table("ticket")
    who = users.alias("engineer")
    where = [out.c.engineer_id == engineer] if engineer else []
    total = conn.execute(sa.select(sa.func.count()).select_from(out).where(*where)).scalar_one()
    query = (
        sa.select(out, returns.c.version, returns.c.collected_at, who.c.name.label("engineer_name"),
                  parts.c.code.label("part_code"), parts.c.name.label("part_name"), parts.c.unit,
                  tickets.c.number.label("ticket_number"))
        .select_from(out.join(returns, returns.c.id == out.c.id)
                     .outerjoin(who, who.c.id == out.c.engineer_id)
                     .outerjoin(parts, parts.c.id == out.c.part_id)
                     .outerjoin(tickets, tickets.c.id == out.c.ticket_id))
        .where(*where).order_by(out.c.created_at, out.c.id)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    )
    rows = [{**row, "age_days": _age(row["created_at"], now)} for row in map(dict, conn.execute(query).mappings())]
    grouped = (
        sa.select(out.c.engineer_id, who.c.name.label("engineer_name"), sa.func.count().label("returns"),
                  sa.func.sum(out.c.qty).label("qty"), sa.func.min(out.c.created_at).label("oldest"))
        .select_from(out.outerjoin(who, who.c.id == out.c.engineer_id))
        .group_by(out.c.engineer_id, who.c.name).order_by(sa.func.min(out.c.created_at))
    )
    by_engineer = [{**row, "oldest_days": _age(row["oldest"], now)}
                   for row in map(dict, conn.execute(grouped).mappings())]
    return Page(rows, total, page), by_engineer


def old_parts_back(conn: sa.Connection, only: list[str] | None, now: datetime) -> list[dict]:
    """Old parts received and not yet disposed of, oldest first (at most a page)."""
    returns, parts = entity_table("old_part_return"), entity_table("part")
    who = users.alias("engineer")
    query = (
        sa.select(returns.c.id, returns.c.version, returns.c.qty, returns.c.part_id, returns.c.engineer_id,
                  returns.c.received_at, returns.c.created_at, who.c.name.label("engineer_name"),
                  parts.c.code.label("part_code"), parts.c.name.label("part_name"), parts.c.unit)
        .select_from(returns.outerjoin(who, who.c.id == returns.c.engineer_id)
                     .outerjoin(parts, parts.c.id == returns.c.part_id))
        .where(returns.c.deleted.is_(False), returns.c.status == "received",
               _in(returns.c.depot_location_id, only))
        .order_by(returns.c.updated_at, returns.c.id).limit(PAGE_SIZE)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def one_return(conn: sa.Connection, only: list[str] | None, return_id: str) -> dict | None:
    """An old-part return bound for the depot, or ``None`` (another depot's is not found)."""
    returns = entity_table("old_part_return")
    found = conn.execute(sa.select(returns).where(returns.c.id == return_id, returns.c.deleted.is_(False),
                                                  _in(returns.c.depot_location_id, only))).mappings().first()
    return dict(found) if found else None


def engineer_van(conn: sa.Connection, back: dict) -> str | None:
    """Where an old part comes in from: the van its collection was booked into, else the
    van its engineer drives (a van of the depot it goes back to first)."""
    moves, locations = entity_table("stock_movement"), entity_table("stock_location")
    collected = conn.execute(
        sa.select(moves.c.to_location_id).where(moves.c.return_id == back["id"], moves.c.deleted.is_(False),
                                                moves.c.kind == "old_part_collected")
        .order_by(moves.c.created_at).limit(1)).scalar()
    if collected:
        return collected
    if not back.get("engineer_id"):
        return None
    depot = conn.execute(sa.select(locations.c.depot_id).where(
        locations.c.id == back.get("depot_location_id"))).scalar()
    vans = conn.execute(
        sa.select(locations.c.id, locations.c.depot_id)
        .where(locations.c.deleted.is_(False), locations.c.kind == "van",
               locations.c.engineer_id == back["engineer_id"])
        .order_by(locations.c.id)).all()
    vans.sort(key=lambda van: van.depot_id != depot)
    return vans[0].id if vans else None


# -- requisitions -------------------------------------------------------------------------


def _requisition_query(only: list[str] | None) -> sa.Select:
    asked, locations = entity_table("requisition"), entity_table("stock_location")
    who = users.alias("engineer")
    return (sa.select(asked, who.c.name.label("engineer_name"), locations.c.name.label("van_name"))
            .select_from(asked.outerjoin(who, who.c.id == asked.c.engineer_id)
                         .outerjoin(locations, locations.c.id == asked.c.van_location_id))
            .where(asked.c.deleted.is_(False), _in(asked.c.depot_location_id, only)))


def _with_lines(conn: sa.Connection, rows: list[dict]) -> list[dict]:
    lines = {b["requisition_id"]: b for b in requisitions.balances(conn, rows)}
    named = parts_named(conn, [line["part_id"] for b in lines.values() for line in b["lines"]])
    for row in rows:
        row["balance"] = lines[row["id"]]
        for line in row["balance"]["lines"]:
            line["part"] = named.get(line["part_id"], {})
        row["left"] = sum(line["left"] for line in row["balance"]["lines"])
    return rows


def open_requisitions(conn: sa.Connection, only: list[str] | None, page: int) -> Page:
    """Approved requisitions on the depot not yet issued in full, oldest first, each with
    its lines (the domain's balance: approved, issued, left)."""
    asked = entity_table("requisition")
    query = _requisition_query(only).where(asked.c.status == APPROVED,
                                           sa.or_(asked.c.issued.is_(None), asked.c.issued.is_(False)))
    total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    rows = [dict(r) for r in conn.execute(query.order_by(asked.c.created_at, asked.c.id)
                                          .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).mappings()]
    return Page(_with_lines(conn, rows), total, page)


def one_requisition(conn: sa.Connection, only: list[str] | None, requisition_id: str) -> dict | None:
    asked = entity_table("requisition")
    found = conn.execute(_requisition_query(only).where(asked.c.id == requisition_id)).mappings().first()
    return _with_lines(conn, [dict(found)])[0] if found else None


# -- count sheets -------------------------------------------------------------------------


def counts(conn: sa.Connection, only: list[str] | None) -> tuple[list[dict], list[dict]]:
    """Count sheets awaiting approval with their differences against the ledger as of the
    count (the domain's), and the latest approved ones with who approved them."""
    pending = stocktake.open_counts(conn, only)
    table, locations = entity_table("stock_count"), entity_table("stock_location")
    counter, approver = users.alias("counter"), users.alias("approver")
    approved = [dict(r) for r in conn.execute(
        sa.select(table.c.id, table.c.location_id, table.c.counted_at, table.c.as_of, table.c.lines,
                  table.c.approved_at, counter.c.name.label("counted_by_name"),
                  approver.c.name.label("approved_by_name"), locations.c.name.label("location_name"))
        .select_from(table.outerjoin(counter, counter.c.id == table.c.counted_by)
                     .outerjoin(approver, approver.c.id == table.c.approved_by)
                     .outerjoin(locations, locations.c.id == table.c.location_id))
        .where(table.c.deleted.is_(False), table.c.approved.is_(True), _in(table.c.location_id, only))
        .order_by(table.c.as_of.desc(), table.c.id).limit(APPROVED_COUNTS_SHOWN)).mappings()]
    for row in approved:
        row["line_count"] = len(orjson.loads(row.pop("lines") or "null") or [])
    names = dict(conn.execute(sa.select(users.c.id, users.c.name).where(
        users.c.id.in_(sorted({c["counted_by"] for c in pending if c["counted_by"]})))).all())
    places = dict(conn.execute(sa.select(locations.c.id, locations.c.name).where(
        locations.c.id.in_(sorted({c["location_id"] for c in pending})))).all())
    named = parts_named(conn, [d["part_id"] for c in pending for d in c["differences"]])
    for count in pending:
        count["counted_by_name"] = names.get(count["counted_by"])
        count["location_name"] = places.get(count["location_id"])
        for line in count["differences"]:
            line["part"] = named.get(line["part_id"], {})
    return pending, approved


# -- consumptions and write-offs ----------------------------------------------------------


def consumptions(conn: sa.Connection, only: list[str] | None, engineer: str, page: int, now: datetime
                 ) -> tuple[Page, list[dict]]:
    """Consumptions not yet written off (the domain's list: no current signature, or a
    returnable part's old part not back), by engineer and age; and per engineer how many."""
    opened = writeoff.open_consumption_query(only).subquery()
    parts, tickets = entity_table("part"), entity_table("ticket")
    who = users.alias("engineer")
    where = [opened.c.held_by == engineer] if engineer else []
    total = conn.execute(sa.select(sa.func.count()).select_from(opened).where(*where)).scalar_one()
    query = (
        sa.select(opened, who.c.name.label("engineer_name"), parts.c.code.label("part_code"),
                  parts.c.name.label("part_name"), parts.c.unit, tickets.c.number.label("ticket_number"))
        .select_from(opened.outerjoin(who, who.c.id == opened.c.held_by)
                     .outerjoin(parts, parts.c.id == opened.c.part_id)
                     .outerjoin(tickets, tickets.c.id == opened.c.ticket_id))
        .where(*where).order_by(opened.c.held_by, opened.c.at, opened.c.id)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    )
    rows = []
    for row in map(dict, conn.execute(query).mappings()):
        row["waiting_signature"] = not row["signed"]
        row["waiting_old_part"] = bool(row["returnable"]) and row["old_part_status"] not in ("received", "disposed")
        row["age_days"] = _age(row["at"], now)
        rows.append(row)
    grouped = (
        sa.select(opened.c.held_by.label("engineer_id"), who.c.name.label("engineer_name"),
                  sa.func.count().label("open"), sa.func.sum(opened.c.qty).label("qty"),
                  sa.func.min(opened.c.at).label("oldest"))
        .select_from(opened.outerjoin(who, who.c.id == opened.c.held_by))
        .group_by(opened.c.held_by, who.c.name).order_by(sa.func.min(opened.c.at))
    )
    by_engineer = [{**row, "oldest_days": _age(row["oldest"], now)}
                   for row in map(dict, conn.execute(grouped).mappings())]
    return Page(rows, total, page), by_engineer


def write_offs(conn: sa.Connection, only: list[str] | None, offset_hours: int) -> list[dict]:
    """Parts written off (the domain's list), newest first, with names; ``at`` in local time."""
    rows = writeoff.write_offs(conn, only, limit=WRITE_OFFS_SHOWN)
    local = timezone(timedelta(hours=offset_hours))
    named = parts_named(conn, [r["part_id"] for r in rows])
    people = dict(conn.execute(sa.select(users.c.id, users.c.name).where(
        users.c.id.in_(sorted({r["held_by"] for r in rows if r["held_by"]})))).all())
    for row in rows:
        row["part"] = named.get(row["part_id"], {})
        row["held_by_name"] = people.get(row["held_by"])
        row["at"] = datetime.fromisoformat(row["at"]).astimezone(local).isoformat()
    return rows
