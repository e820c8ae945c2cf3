"""Complaints past their deadline are escalated (004: 13 days at home, 17 abroad)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..tables import entity_table

if TYPE_CHECKING:
    from ..apply import Batch

__all__ = ["escalate_overdue"]


def escalate_overdue(batch: "Batch", now: datetime | None = None) -> list[str]:
    """Mark every open complaint past its deadline escalated; return their ids."""
    now = now or datetime.fromtimestamp(batch.now_ms / 1000, timezone.utc)
    table = entity_table("complaint")
    open_ones = batch.conn.execute(
        sa.select(table.c.id, table.c.deadline).where(
            table.c.deleted.is_(False), table.c.status.is_distinct_from("resolved"),
            table.c.escalated.is_not(True), table.c.deadline.is_not(None))
    )
    overdue = []
    for row_id, deadline in open_ones:
        due = datetime.fromisoformat(deadline)
        if (due if due.tzinfo else due.replace(tzinfo=timezone.utc)) < now:
            overdue.append(row_id)
    for row_id in overdue:
        batch.system_write("complaint", row_id, {"escalated": True})
    return overdue
