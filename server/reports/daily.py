"""The technician daily report (技术员工作日报表, 004 §15): per engineer per local day.

One row per engineer and day with any record: the hours of work by category (A paid, B
contract, C free warranty, D internal work), the tickets worked on, the parts used, the
services that count (a ticket holding a current signature, 000: an incomplete report does
not count), and whether the day's records reached the server late.

* **Hours** are the ``work_log`` entries of the day (their ``at``, the device's time; the
  row's device time where ``at`` is empty), by the entry's category, else its ticket's.
  They count to the engineer the entry names (its author's owner where it names none):
  whoever did the work, whoever holds the ticket now.
* **Parts used**: the day's consumptions (``stock_movement`` ``consume``), by who held the
  part, on ``occurred_at`` (else the row's device time).
* **Signed services**: tickets completed that day (``completed_at``) by their assignee
  that hold a current signature now, as :func:`server.domain.signoff.current_signature`
  reads it: a signature gone stale stops counting until the customer signs again.
* **Late**: a record is late when the server received it more than the deployment's
  ``late_after_hours`` after the end of its day; the day is late with any late record.

Everything is read from the records when asked (docs/decisions.md): a record that
arrives late from a device that was offline changes its own day's row at once.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import sqlalchemy as sa

from sync.entities import CATEGORIES

from ..domain.config import DomainConfig
from ..domain.signoff import current_signature
from ..tables import devices, entity_table, users
from .filters import Filters, engineers_of_depot
from .paging import after_key
from .sqltime import DAY_MS, EPOCH, HOUR_MS, day_number, day_of, epoch_ms, stamp_ms
from .table import Column

__all__ = ["COLUMNS", "TAKES", "MAX_DAYS", "CURSOR", "facts", "report", "key_of"]

TAKES = ("from", "to", "engineer", "depot", "limit", "cursor")
#: days one answer covers
MAX_DAYS = 92
CURSOR = (int, str)
_FINISHED = ("completed", "signed", "closed")

COLUMNS = [
    Column("day", "日期"),
    Column("engineer_id", "工程师编号"),
    Column("engineer_name", "工程师"),
    Column("hours_a", "A类有费服务工时"),
    Column("hours_b", "B类合同服务工时"),
    Column("hours_c", "C类免费服务工时"),
    Column("hours_d", "D类行政工作工时"),
    Column("hours_total", "合计工时"),
    Column("tickets_worked", "服务单数"),
    Column("parts_used", "用件数量"),
    Column("consumptions", "用件笔数"),
    Column("signed_services", "签字完整服务数"),
    Column("records", "记录数"),
    Column("late_records", "迟报记录数"),
    Column("last_received_at", "最后接收时间"),
    Column("late", "迟报"),
]


def _late(received: sa.ColumnElement, day: sa.ColumnElement, config: DomainConfig) -> sa.ColumnElement:
    """SQL: 1 when a record of local ``day`` was received after the day's end plus the grace."""
    offset = int(config.local_utc_offset_hours) * HOUR_MS
    grace = int(round(float(config.report_setting("late_after_hours")) * HOUR_MS))
    return sa.case((received > (day + 1) * DAY_MS - offset + grace, 1), else_=0)


def facts(filters: Filters, config: DomainConfig) -> sa.Subquery:
    """One row per record of the range: its engineer, day, hours by category, ticket,
    parts, signed ticket, and when it was received."""
    offset = config.local_utc_offset_hours
    low, high = filters.bounds_ms(offset)
    logs, tickets, moves = entity_table("work_log"), entity_table("ticket"), entity_table("stock_movement")
    zero = sa.literal(0.0, sa.Float())
    none = sa.null()

    log_author = devices.alias("log_author")
    at = sa.func.coalesce(epoch_ms(logs.c.at, offset), stamp_ms(logs.c.device_time))
    category = sa.func.coalesce(logs.c.category, tickets.c.category)
    hours = sa.func.coalesce(logs.c.hours, 0.0)
    engineer = sa.func.coalesce(logs.c.engineer_id, log_author.c.user_id)
    received = stamp_ms(logs.c.created_at)
    worked = (
        sa.select(engineer.label("engineer_id"), day_number(at, offset).label("day"),
                  *(sa.case((category == c, hours), else_=zero).label(f"hours_{c.lower()}") for c in CATEGORIES),
                  hours.label("hours_total"), logs.c.ticket_id.label("ticket_id"), zero.label("qty"),
                  sa.literal(0).label("consumed"), none.label("signed_ticket"), received.label("received"),
                  _late(received, day_number(at, offset), config).label("late"), sa.literal(1).label("record"))
        .select_from(logs.outerjoin(tickets, tickets.c.id == logs.c.ticket_id)
                     .outerjoin(log_author, log_author.c.id == logs.c.author_device))
        .where(logs.c.deleted.is_(False), at >= low, at < high)
    )

    move_author = devices.alias("move_author")
    used_at = sa.func.coalesce(epoch_ms(moves.c.occurred_at, offset), stamp_ms(moves.c.device_time))
    holder = sa.func.coalesce(moves.c.held_by, move_author.c.user_id)
    move_received = stamp_ms(moves.c.created_at)
    used = (
        sa.select(holder, day_number(used_at, offset), *(zero for _ in CATEGORIES), zero, none,
                  sa.func.coalesce(moves.c.qty, 0.0), sa.literal(1), none, move_received,
                  _late(move_received, day_number(used_at, offset), config), sa.literal(1))
        .select_from(moves.outerjoin(move_author, move_author.c.id == moves.c.author_device))
        .where(moves.c.kind == "consume", moves.c.deleted.is_(False), used_at >= low, used_at < high)
    )

    done_at = epoch_ms(tickets.c.completed_at, offset)
    signed = (
        sa.select(tickets.c.assignee_id, day_number(done_at, offset), *(zero for _ in CATEGORIES), zero, none, zero,
                  sa.literal(0), tickets.c.id, none, sa.literal(0), sa.literal(0))
        .where(tickets.c.deleted.is_(False), tickets.c.status.in_(_FINISHED), tickets.c.assignee_id.is_not(None),
               done_at >= low, done_at < high, current_signature(tickets.c.id))
    )
    return sa.union_all(worked, used, signed).subquery("facts")


def report(conn: sa.Connection, filters: Filters, config: DomainConfig) -> list[dict]:
    """The rows of the range, by day then engineer: a page of ``filters.limit`` and one
    more when there is a next page."""
    records = facts(filters, config)
    grouped = (
        sa.select(records.c.engineer_id, records.c.day,
                  *(sa.func.sum(records.c[f"hours_{c.lower()}"]).label(f"hours_{c.lower()}") for c in CATEGORIES),
                  sa.func.sum(records.c.hours_total).label("hours_total"),
                  sa.func.count(sa.distinct(records.c.ticket_id)).label("tickets_worked"),
                  sa.func.sum(records.c.qty).label("parts_used"), sa.func.sum(records.c.consumed).label("consumptions"),
                  sa.func.count(sa.distinct(records.c.signed_ticket)).label("signed_services"),
                  sa.func.sum(records.c.record).label("records"), sa.func.sum(records.c.late).label("late_records"),
                  sa.func.max(records.c.received).label("last_received"))
        .where(records.c.engineer_id.is_not(None))
        .group_by(records.c.engineer_id, records.c.day)
    )
    if filters.engineer is not None:
        grouped = grouped.where(records.c.engineer_id == filters.engineer)
    if filters.depot is not None:
        grouped = grouped.where(records.c.engineer_id.in_(engineers_of_depot(filters.depot)))
    days = grouped.subquery("days")
    key = (days.c.day, days.c.engineer_id)
    query = (
        sa.select(days, users.c.name)
        .select_from(days.outerjoin(users, users.c.id == days.c.engineer_id))
        .where(after_key(key, filters.after))
        .order_by(*key).limit(filters.limit + 1)
    )
    return [_row(r) for r in conn.execute(query).mappings()]


def _hours(value) -> float:
    return round(float(value or 0), 2)


def _row(r) -> dict:
    day = day_of(r["day"])
    last = r["last_received"]
    return {
        "day": day.isoformat(), "engineer_id": r["engineer_id"], "engineer_name": r["name"],
        **{f"hours_{c.lower()}": _hours(r[f"hours_{c.lower()}"]) for c in CATEGORIES},
        "hours_total": _hours(r["hours_total"]), "tickets_worked": int(r["tickets_worked"]),
        "parts_used": _hours(r["parts_used"]), "consumptions": int(r["consumptions"] or 0),
        "signed_services": int(r["signed_services"]), "records": int(r["records"] or 0),
        "late_records": int(r["late_records"] or 0),
        "last_received_at": None if last is None else datetime.fromtimestamp(int(last) / 1000, timezone.utc).isoformat(),
        "late": bool(r["late_records"]),
    }


def key_of(row: dict) -> tuple:
    """The cursor key of a row: its day (days since 1970) and engineer."""
    return ((date.fromisoformat(row["day"]) - EPOCH).days, row["engineer_id"])
