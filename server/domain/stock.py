"""Stock is the sum of its movements (kept per bin as they move: ``stock_balance``);
reconciliation shows what does not add up.

Nothing here refuses a movement: a part that was physically used is recorded, and a
shelf that went negative, or an old part still out, shows up here for the depot keeper.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from ..keyset import after_key
from ..tables import entity_table, stock_balance

__all__ = ["levels", "level_key", "level_query", "outstanding_old_parts", "outstanding_key", "outstanding_query",
           "depot_locations"]


def depot_locations(conn: sa.Connection, depot_id: str) -> list[str]:
    """The stock locations of one depot (its shelves, service stations and vans), retired
    ones too: what is still booked to a location the desk deleted is the depot's to find."""
    locations = entity_table("stock_location")
    return [r[0] for r in conn.execute(sa.select(locations.c.id).where(locations.c.depot_id == depot_id))]


def level_query(only: list[str] | None = None) -> sa.Select:
    """SQL: ledger quantity per location, part and condition (new / old); ``only`` some
    locations. The balance the database keeps of the live movements (``stock_balance``,
    migration 0014): what summing them gives, read per bin instead of summed per request.
    The reconciliation report aggregates over it too."""
    return (
        sa.select(stock_balance.c.location_id, sa.func.nullif(stock_balance.c.part_id, "").label("part_id"),
                  stock_balance.c.condition, stock_balance.c.qty)
        .where(stock_balance.c.movements > 0,
               stock_balance.c.location_id.in_(only) if only is not None else sa.true())
    )


def levels(conn: sa.Connection, only: list[str] | None = None, after: tuple | None = None,
           limit: int | None = None) -> list[dict]:
    """Ledger quantity per location, part and condition (new / old); ``only`` some locations.
    In :func:`level_key` order: ``after`` a level's key, at most ``limit`` (a page)."""
    keys = [stock_balance.c.location_id, stock_balance.c.part_id, stock_balance.c.condition]
    query = level_query(only).where(after_key(keys, after)).order_by(*keys).limit(limit)
    return [
        {"location_id": r.location_id, "part_id": r.part_id, "condition": r.condition, "qty": float(r.qty),
         "negative": r.qty < 0}
        for r in conn.execute(query)
    ]


def level_key(level: dict) -> tuple:
    """A level's place in :func:`levels`' order: location, part (``''`` for none), condition."""
    return level["location_id"], level["part_id"] or "", level["condition"]


def outstanding_query(only: list[str] | None = None) -> sa.Select:
    """SQL: old parts expected or collected but not yet received; ``only`` bound for some
    depot locations. The reconciliation report groups them by engineer and age."""
    returns = entity_table("old_part_return")
    return (
        sa.select(returns.c.id, returns.c.engineer_id, returns.c.ticket_id, returns.c.part_id, returns.c.qty,
                  returns.c.status, returns.c.created_at)
        .where(returns.c.deleted.is_(False), returns.c.status.in_(["expected", "collected"]),
               returns.c.depot_location_id.in_(only) if only is not None else sa.true())
    )


def outstanding_old_parts(conn: sa.Connection, only: list[str] | None = None,
                          now: datetime | None = None, after: tuple | None = None,
                          limit: int | None = None) -> list[dict]:
    """Old parts expected or collected but not yet received, oldest first (``expected_at``:
    when the server made the return; then its id); ``only`` bound for some depot locations;
    ``after`` a return's :func:`outstanding_key`, at most ``limit`` (a page)."""
    now = now or datetime.now(timezone.utc)
    query = outstanding_query(only).subquery()
    keys = [query.c.created_at, query.c.id]
    key = None if after is None else (datetime.fromisoformat(after[0]), after[1])
    out = []
    for r in conn.execute(sa.select(query).where(after_key(keys, key)).order_by(*keys).limit(limit)):
        created = r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=timezone.utc)
        out.append({"return_id": r.id, "engineer_id": r.engineer_id, "ticket_id": r.ticket_id, "part_id": r.part_id,
                    "qty": r.qty, "status": r.status, "age_days": round((now - created).total_seconds() / 86400, 1),
                    "expected_at": created.isoformat()})
    return out


def outstanding_key(row: dict) -> tuple:
    """An outstanding return's place in :func:`outstanding_old_parts`' order."""
    return row["expected_at"], row["return_id"]
