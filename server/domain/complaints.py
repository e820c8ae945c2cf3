"""Complaints past their deadline are escalated (004: 13 days at home, 17 abroad)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..tables import entity_table
from .moments import epoch_ms

if TYPE_CHECKING:
    from ..apply import Batch

__all__ = ["escalate_overdue", "overdue"]


def overdue(table: sa.Table, now: datetime) -> sa.ColumnElement:
    """SQL: the complaint is open and past its deadline at ``now`` (the overdue report too).

    The deadline is read as :func:`server.domain.sla.parse_time` reads it (a date alone:
    that day's start in UTC, offset 0) and compared to the millisecond."""
    now_ms = round((now if now.tzinfo else now.replace(tzinfo=timezone.utc)).timestamp() * 1000)
    return sa.and_(table.c.deleted.is_(False), table.c.status.is_distinct_from("resolved"),
                   table.c.deadline.is_not(None), epoch_ms(table.c.deadline, 0) < now_ms)


def escalate_overdue(batch: "Batch", now: datetime | None = None) -> list[str]:
    """Mark every open complaint past its deadline escalated; return their ids."""
    now = now or datetime.fromtimestamp(batch.now_ms / 1000, timezone.utc)
    table = entity_table("complaint")
    overdue_ids = [row_id for (row_id,) in batch.conn.execute(
        sa.select(table.c.id).where(overdue(table, now), table.c.escalated.is_not(True))
        .order_by(table.c.id))]
    for row_id in overdue_ids:
        batch.system_write("complaint", row_id, {"escalated": True})
    return overdue_ids
