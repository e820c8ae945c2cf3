"""The technician daily report (技术员工作日报表, 004 §15): per engineer per local day.

One row per engineer and day with any record: the hours of work by category (A paid, B
contract, C free warranty, D internal work), the tickets worked on, the parts used, the
services that count (a ticket holding a current signature, 000: an incomplete report does
not count), and whether the day's records reached the server late.

* **Hours** are the ``work_log`` entries of the day (their ``at``, the device's time; the
  row's device time where ``at`` is empty), by the entry's category, else its ticket's.
  They count to the engineer the entry names (its author's owner where it names none):
  whoever did the work, not whoever holds the ticket now.
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
from .filters import Filters, engineers_of_depot, fenced
from .paging import after_key
from ..domain.moments import DAY_MS, EPOCH, HOUR_MS, day_number, day_of, receipt_lag, stamp_ms, stored_epoch_ms, \
    stored_moment
from .table import Column

__all__ = ["COLUMNS", "TAKES", "MAX_DAYS", "CURSOR", "days", "report", "key_of"]

TAKES = ("from", "to", "engineer", "depot", "limit", "cursor")
#: days one answer covers
MAX_DAYS = 92
CURSOR = ("number", "id")
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


def _only_late(late_only: bool, table: sa.Table, received: sa.ColumnElement, at: sa.ColumnElement,
               config: DomainConfig) -> list[sa.ColumnElement]:
    """The condition that keeps only late records, when ``late_only``: tested on the
    record's own columns, before its author is looked up (most records are on time).

    The rule (:func:`_late`) is tested as it is, on the few records an index finds first:
    those whose receipt lag (:func:`server.domain.moments.receipt_lag`, ``created_at``
    minus the stored instant of the record's time, else its device time) passes a bound
    every late record passes. A record of local day *d* is late when received after
    end(*d*) + grace, and end(*d*), the start of the next local day, is after the record's
    own time as the report reads it, *t* (ms, integers: end(*d*) >= *t* + 1). A time with a
    clock time (or the device time) is read as the instant stored, so its lag is received
    − *t* > grace. A date alone is read as the start of its local day, *t* = stored − offset,
    and end(*d*) = *t* + 24 h, so its lag is received − stored > grace + 24 h − offset.
    Hence every late record has lag > grace − max(0, offset − 24 h): the grace itself for
    any real offset (|offset| <= 14 h), and no tighter than the rule at the edge of a day.
    """
    if not late_only:
        return []
    offset = int(config.local_utc_offset_hours) * HOUR_MS
    grace = int(round(float(config.report_setting("late_after_hours")) * HOUR_MS))
    return [receipt_lag(table) > grace - max(0, offset - DAY_MS),
            _late(received, day_number(at, config.local_utc_offset_hours), config) == 1]


def _people(filters: Filters, engineer: sa.ColumnElement) -> list[sa.ColumnElement]:
    where = [engineer.is_not(None)]
    if filters.engineer is not None:
        where.append(engineer == filters.engineer)
    if filters.depot is not None:
        where.append(engineer.in_(engineers_of_depot(filters.depot)))
    return where


def _per_day(rows: sa.Subquery, at: sa.ColumnElement, filters: Filters, config: DomainConfig, *where,
             **sums) -> sa.Select:
    """``rows`` (one per record, each time computed once; ``where``: only those) summed per
    engineer and day; every figure the source does not give is 0."""
    offset = config.local_utc_offset_hours
    day = day_number(at, offset)
    nothing = {"last_received": sa.cast(sa.null(), sa.BigInteger())}
    figures = {name: sums.get(name, nothing.get(name, sa.literal(0))).label(name) for name in _FIGURES}
    return (sa.select(rows.c.engineer_id, day.label("day"), *figures.values())
            .where(filters.holds(at, offset), *where).group_by(rows.c.engineer_id, day))


#: the figures a day's row sums, in the order the sources give them
_FIGURES = (*(f"hours_{c.lower()}" for c in CATEGORIES), "hours_total", "tickets_worked", "parts_used",
            "consumptions", "signed_services", "records", "late_records", "last_received")


def days(filters: Filters, config: DomainConfig, *, late_only: bool = False) -> sa.Subquery:
    """One row per engineer and local day of the range with any record: the day's figures.

    Each source (work logs, consumptions, signed services) reads its rows by an index on
    its time field, computes each row's time once, sums per engineer and day, and the
    three are added up. ``late_only``: the days with a late record, summing only the late
    records and no signed services (0), for a caller that reads only which days were
    late (the appraisal's late days): most records are on time, and are not grouped.
    """
    offset = config.local_utc_offset_hours
    logs, tickets, moves = entity_table("work_log"), entity_table("ticket"), entity_table("stock_movement")

    log_author = devices.alias("log_author")
    engineer = sa.func.coalesce(logs.c.engineer_id, log_author.c.user_id)
    # read only for an entry without its own category
    ticket_category = sa.select(tickets.c.category).where(tickets.c.id == logs.c.ticket_id).scalar_subquery()
    log_at, log_received = stored_moment(logs, "at", logs.c.device_time, offset), stamp_ms(logs.c.created_at)
    log_rows = fenced(
        sa.select(engineer.label("engineer_id"), log_at.label("at_ms"),
                  sa.func.coalesce(logs.c.category, ticket_category).label("category"),
                  sa.func.coalesce(logs.c.hours, 0.0).label("hours"), logs.c.ticket_id, log_received.label("received"))
        .select_from(logs.outerjoin(log_author, log_author.c.id == logs.c.author_device))
        .where(logs.c.deleted.is_(False), filters.near(logs.c.at, logs.c.device_time, offset),
               *_only_late(late_only, logs, log_received, log_at, config), *_people(filters, engineer)), "log_rows")
    log_day = day_number(log_rows.c.at_ms, offset)
    log_late = _late(log_rows.c.received, log_day, config)
    worked = _per_day(
        log_rows, log_rows.c.at_ms, filters, config,
        **{f"hours_{c.lower()}": sa.func.sum(sa.case((log_rows.c.category == c, log_rows.c.hours), else_=0.0))
           for c in CATEGORIES},
        hours_total=sa.func.sum(log_rows.c.hours), tickets_worked=sa.func.count(sa.distinct(log_rows.c.ticket_id)),
        records=sa.func.count(), late_records=sa.func.sum(log_late),
        last_received=sa.func.max(log_rows.c.received))

    move_author = devices.alias("move_author")
    holder = sa.func.coalesce(moves.c.held_by, move_author.c.user_id)
    move_at = stored_moment(moves, "occurred_at", moves.c.device_time, offset)
    move_received = stamp_ms(moves.c.created_at)
    move_rows = fenced(
        sa.select(holder.label("engineer_id"), move_at.label("at_ms"),
                  sa.func.coalesce(moves.c.qty, 0.0).label("qty"), move_received.label("received"))
        .select_from(moves.outerjoin(move_author, move_author.c.id == moves.c.author_device))
        .where(moves.c.kind == "consume", moves.c.deleted.is_(False),
               filters.near(moves.c.occurred_at, moves.c.device_time, offset),
               *_only_late(late_only, moves, move_received, move_at, config), *_people(filters, holder)),
        "move_rows")
    move_late = _late(move_rows.c.received, day_number(move_rows.c.at_ms, offset), config)
    used = _per_day(
        move_rows, move_rows.c.at_ms, filters, config,
        parts_used=sa.func.sum(move_rows.c.qty), consumptions=sa.func.count(), records=sa.func.count(),
        late_records=sa.func.sum(move_late),
        last_received=sa.func.max(move_rows.c.received))

    if late_only:
        return _summed(sa.union_all(worked, used))
    signed_rows = fenced(
        sa.select(tickets.c.assignee_id.label("engineer_id"),
                  stored_epoch_ms(tickets, "completed_at", offset).label("at_ms"),
                  tickets.c.id)
        .where(tickets.c.deleted.is_(False), tickets.c.status.in_(_FINISHED),
               filters.near(tickets.c.completed_at, None, offset), *_people(filters, tickets.c.assignee_id),
               current_signature(tickets.c.id)), "signed_rows")
    services = _per_day(signed_rows, signed_rows.c.at_ms, filters, config,
                        signed_services=sa.func.count(sa.distinct(signed_rows.c.id)))
    return _summed(sa.union_all(worked, used, services))


def _summed(sources: sa.CompoundSelect) -> sa.Subquery:
    """The sources' rows added up per engineer and day."""
    each = sources.subquery("each_source")
    return (
        sa.select(each.c.engineer_id, each.c.day,
                  *(sa.func.sum(each.c[name]).label(name) for name in _FIGURES if name != "last_received"),
                  sa.func.max(each.c.last_received).label("last_received"))
        .group_by(each.c.engineer_id, each.c.day)
    ).subquery("days")


def report(conn: sa.Connection, filters: Filters, config: DomainConfig) -> list[dict]:
    """The rows of the range, by day then engineer: a page of ``filters.limit`` and one
    more when there is a next page."""
    grouped = days(filters, config)
    key = (grouped.c.day, grouped.c.engineer_id)
    query = (
        sa.select(grouped, users.c.name)
        .select_from(grouped.outerjoin(users, users.c.id == grouped.c.engineer_id))
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
