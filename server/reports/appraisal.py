"""Appraisal inputs per engineer per local month (001 §2.2, §4): what head office scores
an engineer's month from, each counted from the records.

* **Parts-ledger faults** (备件账务差错): consumptions the engineer held, made in the
  month, still open now (no current signature on their ticket, or a returnable part's
  old part not yet back at the depot: as :mod:`server.domain.writeoff` reads it, the
  ``open_consumption`` the database keeps) and
  older than ``consumption_max_age_days``; and parts written off lost or damaged in the
  month charged to the engineer (a write-off naming no old-part return).
* **Verified complaints** (有责投诉): complaints received in the month found to be the
  service's fault, against the engineer they name (else their ticket's assignee).
* **Late reports** (迟报): the days of the month whose records reached the server late,
  by the daily report's rule (:mod:`server.reports.daily`).
* **Repeat repairs** (返修): of the field tickets the engineer finished in the month,
  those whose equipment was reported faulty again within the window (as the quality
  figures count it, :mod:`server.reports.quality`), the rate, and the deduction band of
  the deployment's ``repeat_bands`` it falls in.
"""

from __future__ import annotations

import sqlalchemy as sa


from ..domain.config import DomainConfig
from ..tables import devices, entity_table, open_consumption, users
from . import daily
from .filters import Filters, engineers_of_depot
from .paging import after_key
from .quality import Context
from ..domain.moments import DAY_MS, day_number, moment, month_of_day, stamp_ms
from .table import Column
from .ticket_facts import agree_offset

__all__ = ["COLUMNS", "TAKES", "MAX_DAYS", "CURSOR", "report", "key_of", "band_of", "bands_of"]

TAKES = ("from", "to", "engineer", "depot", "limit", "cursor")
MAX_DAYS = 366
CURSOR = ("month", "id")

COLUMNS = [
    Column("month", "月份"),
    Column("engineer_id", "工程师编号"),
    Column("engineer_name", "工程师"),
    Column("overdue_consumptions", "超期未销账用件"),
    Column("lost_or_damaged", "丢失损坏核销"),
    Column("ledger_faults", "备件账务差错"),
    Column("verified_complaints", "有责投诉"),
    Column("late_reports", "迟报天数"),
    Column("repairs", "完成维修数"),
    Column("repeat_repairs", "返修数"),
    Column("repeat_rate", "返修率"),
    Column("repeat_band", "返修率区间"),
    Column("deduction", "扣分"),
]
_COUNTS = ("overdue", "lost", "complaints", "repairs", "repeats")


def _facts(filters: Filters, config: DomainConfig) -> sa.Subquery:
    """One row per counted record: its engineer, month, and which count it adds to."""
    offset = config.local_utc_offset_hours
    context = Context(filters, config)

    def month(ms):
        return month_of_day(day_number(ms, offset))

    def counts(**one) -> list:
        return [sa.literal(1 if name in one else 0).label(name) for name in _COUNTS]

    moves = entity_table("stock_movement")
    author = devices.alias("author")
    holder = sa.func.coalesce(moves.c.held_by, author.c.user_id)
    made = stamp_ms(sa.func.coalesce(moves.c.device_time, moves.c.created_at))
    made_during = sa.or_(filters.stamp_during(moves.c.device_time, offset),
                         sa.and_(moves.c.device_time.is_(None), filters.stamp_during(moves.c.created_at, offset)))
    age = int(round(float(config.report_setting("consumption_max_age_days")) * DAY_MS))
    overdue = (  # the open ones are stored, decided by the database as the records arrive
        sa.select(holder.label("engineer_id"), month(made).label("month"), *counts(overdue=1),
                  sa.cast(sa.null(), sa.BigInteger()).label("late_day"))
        .select_from(moves.join(open_consumption, open_consumption.c.movement_id == moves.c.id)
                     .outerjoin(author, author.c.id == moves.c.author_device))
        .where(made_during, made + age < filters.now_ms)
    )
    lost = (
        sa.select(holder, month(made), *counts(lost=1), sa.cast(sa.null(), sa.BigInteger()))
        .select_from(moves.outerjoin(author, author.c.id == moves.c.author_device))
        .where(moves.c.kind == "write_off", moves.c.deleted.is_(False), moves.c.return_id.is_(None), made_during)
    )

    complaints, tickets = entity_table("complaint"), entity_table("ticket")
    received = moment(complaints.c.received_at, complaints.c.device_time, offset)
    verified = (
        sa.select(sa.func.coalesce(complaints.c.engineer_id, tickets.c.assignee_id), month(received),
                  *counts(complaints=1), sa.cast(sa.null(), sa.BigInteger()))
        .select_from(complaints.outerjoin(tickets, tickets.c.id == complaints.c.ticket_id))
        .where(complaints.c.deleted.is_(False), complaints.c.service_fault.is_(True),
               filters.near(complaints.c.received_at, complaints.c.device_time, offset),
               filters.holds(received, offset))
    )

    reported = daily.days(filters, config, late_only=True)
    late = (
        sa.select(reported.c.engineer_id, month_of_day(reported.c.day), *counts(),
                  sa.case((reported.c.late_records > 0, reported.c.day), else_=sa.null()))
        .where(reported.c.late_records > 0)
    )

    finished = context.finished_repeats(context.tickets.c.assignee_id)
    # a year holds tens of thousands of repairs: summed per engineer and day (numbers) first
    finished_day = day_number(finished.c.at_ms, offset)
    per_day = (sa.select(finished.c.assignee_id, finished_day.label("day"), sa.func.count().label("repairs"),
                         sa.func.sum(finished.c.repeat).label("repeats"))
               .group_by(finished.c.assignee_id, finished_day).subquery("repairs_per_day"))
    repairs = sa.select(per_day.c.assignee_id, month_of_day(per_day.c.day), *counts()[:3], per_day.c.repairs,
                        per_day.c.repeats, sa.cast(sa.null(), sa.BigInteger()))
    return sa.union_all(overdue, lost, verified, late, repairs).subquery("facts")


def report(conn: sa.Connection, filters: Filters, config: DomainConfig) -> list[dict]:
    """The rows of the range by month then engineer: a page and one more when there is a next."""
    agree_offset(conn.engine, config.local_utc_offset_hours)
    facts = _facts(filters, config)
    grouped = (
        sa.select(facts.c.month, facts.c.engineer_id, *(sa.func.sum(facts.c[name]).label(name) for name in _COUNTS),
                  sa.func.count(sa.distinct(facts.c.late_day)).label("late_days"))
        .where(facts.c.engineer_id.is_not(None))
        .group_by(facts.c.month, facts.c.engineer_id)
    )
    if filters.engineer is not None:
        grouped = grouped.where(facts.c.engineer_id == filters.engineer)
    if filters.depot is not None:
        grouped = grouped.where(facts.c.engineer_id.in_(engineers_of_depot(filters.depot)))
    months = grouped.subquery("months")
    key = (months.c.month, months.c.engineer_id)
    query = (
        sa.select(months, users.c.name)
        .select_from(months.outerjoin(users, users.c.id == months.c.engineer_id))
        .where(after_key(key, filters.after))
        .order_by(*key).limit(filters.limit + 1)
    )
    bands = bands_of(config)
    return [_row(r, bands) for r in conn.execute(query).mappings()]


def bands_of(config: DomainConfig) -> list[dict]:
    """The repeat-repair bands as configured, lowest first, each with its range's label."""
    out, low = [], 0.0
    for band in sorted(config.report_setting("repeat_bands"), key=lambda b: float(b["up_to"])):
        top = float(band["up_to"])
        out.append({"from": low, "up_to": top, "deduction": band["deduction"],
                    "label": f"{low * 100:g}%–{top * 100:g}%"})
        low = top
    return out


def band_of(rate: float | None, bands: list[dict]) -> dict | None:
    """The band a rate falls in: the first whose top it does not pass (a band's top is its own)."""
    if rate is None:
        return None
    return next((band for band in bands if rate <= band["up_to"]), bands[-1] if bands else None)


def _row(r, bands: list[dict]) -> dict:
    repairs, repeats = int(r["repairs"] or 0), int(r["repeats"] or 0)
    overdue, lost = int(r["overdue"] or 0), int(r["lost"] or 0)
    rate = round(repeats / repairs, 4) if repairs else None
    band = band_of(rate, bands)
    return {
        "month": r["month"], "engineer_id": r["engineer_id"], "engineer_name": r["name"],
        "overdue_consumptions": overdue, "lost_or_damaged": lost, "ledger_faults": overdue + lost,
        "verified_complaints": int(r["complaints"] or 0), "late_reports": int(r["late_days"] or 0),
        "repairs": repairs, "repeat_repairs": repeats, "repeat_rate": rate,
        "repeat_band": band["label"] if band else None, "deduction": band["deduction"] if band else None,
    }


def key_of(row: dict) -> tuple:
    return (row["month"], row["engineer_id"])
