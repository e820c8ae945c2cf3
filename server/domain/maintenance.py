"""Preventive maintenance: a contract's plan generates visits, each with its checklist.

002 §4.3.1: engineers inspect on the schedule, "point by point, unit by unit, item by
item, recording while checking". A contract's visit schedule (维护工作周期表) is its plan:
one source, not two (migration 0010_visit_schedule_plans). So each visit gets one ``inspection_item`` row per
item of the plan's checklist — filled one by one on site, offline, each merging on its
own — and a fault found becomes a ticket (``ticket.source_visit_id``).
"""

from __future__ import annotations

from datetime import MAXYEAR, date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import orjson
import sqlalchemy as sa

from sync.ids import new_id

from ..tables import entity_table

if TYPE_CHECKING:
    from ..apply import Batch

__all__ = ["generate_visits", "add_months", "mark_missed_visits", "after_visit", "MISSABLE"]

#: a visit in these statuses whose due date has passed was not done by its date
MISSABLE = ("planned",)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it is shorter);
    ``OverflowError`` past the year 9999."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    if year > MAXYEAR:
        raise OverflowError(f"{months} months after {day} is past the year {MAXYEAR}")
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - a month always has 28 days


def _due_dates(plan: dict, horizon: date) -> list[date]:
    start = date.fromisoformat(str(plan["first_visit_on"])[:10])
    every = max(1, int(plan.get("every_months") or 1))
    dates: list[date] = []
    while True:
        try:
            due = add_months(start, every * len(dates))
        except OverflowError:  # a plan whose visits run past the calendar's end
            return dates
        if due > horizon:
            return dates
        dates.append(due)


def generate_visits(batch: "Batch", horizon_days: int = 31, today: date | None = None) -> list[str]:
    """Create the visits (and their checklist items) due within the horizon; return their ids.

    Idempotent: a plan's visit for a due date is made once. "Today" is the deployment's
    local day, the one ``mark_missed_visits`` reads: on the UTC day, a job run between
    00:00 and 08:00 in Beijing would make yesterday's visit, to be marked missed at once.
    """
    today = today or _local_today(batch)
    horizon = today + timedelta(days=horizon_days)
    plans = entity_table("maintenance_plan")
    visits = entity_table("maintenance_visit")
    made = []
    for plan in batch.conn.execute(sa.select(plans).where(plans.c.deleted.is_(False))).mappings():
        if not plan["first_visit_on"]:
            continue
        existing = {
            str(r[0])[:10]
            for r in batch.conn.execute(sa.select(visits.c.due_on).where(visits.c.plan_id == plan["id"]))
        }
        for due in _due_dates(dict(plan), horizon):
            if due < today or due.isoformat() in existing:
                continue
            visit_id = new_id()
            batch.system_write("maintenance_visit", visit_id, {
                "plan_id": plan["id"], "contract_id": plan["contract_id"], "customer_id": plan["customer_id"],
                "engineer_id": plan["engineer_id"], "due_on": due.isoformat(), "status": "planned",
            }, op="insert")
            for item in _checklist(plan["checklist"]):
                batch.system_write("inspection_item", new_id(), {
                    "visit_id": visit_id, "area": item.get("area"), "item": item.get("item"),
                }, op="insert")
            made.append(visit_id)
    return made


def _checklist(raw) -> list[dict]:
    items = orjson.loads(raw) if isinstance(raw, (str, bytes)) else raw
    return [i for i in (items or []) if isinstance(i, dict)]


def _local_today(batch: "Batch") -> date:
    offset = timezone(timedelta(hours=batch.config.local_utc_offset_hours))
    return datetime.fromtimestamp(batch.now_ms / 1000, offset).date()


def mark_missed_visits(batch: "Batch", today: date | None = None) -> list[str]:
    """Mark ``missed`` every planned visit not done by its date (its due day, local time,
    is over and no visit was recorded); return their ids. Idempotent."""
    today = today or _local_today(batch)
    visits = entity_table("maintenance_visit")
    query = (sa.select(visits.c.id, visits.c.due_on)
             .where(visits.c.deleted.is_(False), visits.c.visited_at.is_(None), visits.c.due_on.is_not(None),
                    sa.or_(visits.c.status.is_(None), visits.c.status.in_(MISSABLE)))
             .order_by(visits.c.id))
    missed = [row_id for row_id, due_on in batch.conn.execute(query) if str(due_on)[:10] < today.isoformat()]
    for row_id in missed:
        batch.system_write("maintenance_visit", row_id, {"status": "missed"})
    return missed


def after_visit(batch: "Batch", row_id: str, merge, mutation) -> None:
    """A visit recorded on site (``visited_at``) is done, even when the record reaches the
    server after the visit was marked missed: the engineer was there, offline."""
    values = batch.states["maintenance_visit"][row_id].row.values
    if values.get("status") == "missed" and values.get("visited_at"):
        batch.system_write("maintenance_visit", row_id, {"status": "done"})
