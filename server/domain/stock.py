"""Stock is the sum of its movements (kept per bin as they move: ``stock_balance``);
reconciliation shows what does not add up.

Nothing here refuses a movement: a part that was physically used is recorded, and a
shelf that went negative, or an old part still out, shows up here for the depot keeper.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from ..tables import entity_table, stock_balance

__all__ = ["levels", "level_query", "outstanding_old_parts", "outstanding_query", "depot_locations"]


def depot_locations(conn: sa.Connection, depot_id: str) -> list[str]:
    """The stock locations of one depot (its shelves and service stations)."""
    locations = entity_table("stock_location")
    return [r[0] for r in conn.execute(
        sa.select(locations.c.id).where(locations.c.depot_id == depot_id, locations.c.deleted.is_(False)))]


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


def levels(conn: sa.Connection, only: list[str] | None = None) -> list[dict]:
    """Ledger quantity per location, part and condition (new / old); ``only`` some locations."""
    query = level_query(only).subquery()
    return [
        {"location_id": r.location_id, "part_id": r.part_id, "condition": r.condition, "qty": float(r.qty),
         "negative": r.qty < 0}
        for r in conn.execute(sa.select(query).order_by(query.c.location_id, query.c.part_id, query.c.condition))
    ]


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
                          now: datetime | None = None) -> list[dict]:
    """Old parts expected or collected but not yet received, oldest first; ``only`` bound
    for some depot locations."""
    now = now or datetime.now(timezone.utc)
    query = outstanding_query(only).subquery()
    out = []
    for r in conn.execute(sa.select(query).order_by(query.c.created_at)):
        created = r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=timezone.utc)
        out.append({"return_id": r.id, "engineer_id": r.engineer_id, "ticket_id": r.ticket_id, "part_id": r.part_id,
                    "qty": r.qty, "status": r.status, "age_days": round((now - created).total_seconds() / 86400, 1)})
    return out
