"""Monthly quality figures (001 §3.2.1, §2.2): each with its numerator, denominator,
value and target (the deployment's ``reports.targets``), per local month of the range.

Field work is every ticket but internal work (category D). Times are the devices':
a ticket's ``reported_at`` (else when the row was made), ``completed_at`` (else its last
change), a survey's ``surveyed_at``, a complaint's ``received_at``. A ticket is finished
once ``completed``, ``signed`` or ``closed``.

* **timeliness** (及时率, ≥ 90 %): of the field tickets reported in the month whose race
  is decided — reached (``met`` / ``missed``) or past the deadline unreached now — those
  reached by the deadline (``met``), as :mod:`server.domain.sla` stores it;
* **satisfaction** (满意率, ≥ 85 %): of the four follow-up items (attitude, skill,
  arrival time, follow-through; 004 §25) answered on the month's surveys, the answers at
  ``satisfied_level`` or above;
* **complaint_rate** (投诉率, < 3 %): complaints received in the month found to be the
  service's fault (``service_fault``), per field ticket finished in the month;
* **completion_7d** (7日完修率): of the field tickets reported in the month that are
  finished or whose ``completion_days`` have passed, those finished within them;
* **repeat_repair** (返修率): of the field tickets finished in the month, those whose
  equipment was reported faulty again within ``repeat_window_days`` after (so a month's
  figure may still rise for that long after it ends);
* **first_time_fix** (一次修复率): of the field tickets finished in the month, those
  fixed at the first visit: at most one logged arrival, not carried back.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from ..domain import sla
from ..domain.config import DomainConfig
from ..tables import entity_table
from .filters import Filters, engineers_of_depot, fenced
from ..domain.moments import DAY_MS, day_number, epoch_ms, moment, month_of_day
from .table import Column

__all__ = ["COLUMNS", "TAKES", "MAX_DAYS", "FIGURES", "Context", "report", "months_of", "targets_of"]

TAKES = ("from", "to", "engineer", "depot", "zone")
MAX_DAYS = 366
FINISHED = ("completed", "signed", "closed")
ITEMS = ("attitude", "skill", "arrival_time", "follow_through")
FIGURES = {
    "timeliness": "服务及时率",
    "satisfaction": "客户满意率",
    "complaint_rate": "有责投诉率",
    "completion_7d": "7日完修率",
    "repeat_repair": "返修率",
    "first_time_fix": "一次修复率",
}
_COMPARISONS = {"at_least": "≥", "below": "<"}

COLUMNS = [
    Column("month", "月份"),
    Column("figure", "指标代码"),
    Column("title", "指标"),
    Column("numerator", "分子"),
    Column("denominator", "分母"),
    Column("value", "数值"),
    Column("comparison", "比较"),
    Column("target", "目标"),
    Column("meets", "达标"),
]


class Context:
    """What every figure's query shares: the range as instants, the offset, the filters."""

    def __init__(self, filters: Filters, config: DomainConfig):
        self.filters, self.config = filters, config
        self.offset = config.local_utc_offset_hours
        self.tickets = entity_table("ticket")

    def month(self, ms: sa.ColumnElement) -> sa.ColumnElement:
        return month_of_day(day_number(ms, self.offset))

    def near(self, text: sa.ColumnElement, stamp: sa.ColumnElement | None) -> sa.ColumnElement:
        return self.filters.near(text, stamp, self.offset)

    def people(self, engineer: sa.ColumnElement) -> list[sa.ColumnElement]:
        where = []
        if self.filters.engineer is not None:
            where.append(engineer == self.filters.engineer)
        if self.filters.depot is not None:
            where.append(engineer.in_(engineers_of_depot(self.filters.depot)))
        return where

    def field_tickets(self, tickets) -> list[sa.ColumnElement]:
        """Live field tickets of the filters' engineer, depot and zone."""
        where = [tickets.c.deleted.is_(False), sa.func.coalesce(tickets.c.category, "") != "D",
                 *self.people(tickets.c.assignee_id)]
        if self.filters.zone is not None:
            where.append(tickets.c.zone == self.filters.zone)
        return where

    def reported(self, tickets) -> sa.ColumnElement:
        return moment(tickets.c.reported_at, tickets.c.device_time, self.offset)

    def reported_near(self, tickets) -> sa.ColumnElement:
        return self.near(tickets.c.reported_at, tickets.c.device_time)

    def completed(self, tickets) -> sa.ColumnElement:
        return moment(tickets.c.completed_at, tickets.c.updated_at, self.offset)

    def came_back(self) -> sa.ColumnElement:
        """SQL: the ticket's equipment was reported faulty again within the repeat window."""
        t, again = self.tickets, entity_table("ticket").alias("again")
        done = self.completed(t)
        window = int(round(float(self.config.report_setting("repeat_window_days")) * DAY_MS))
        # LIMIT 1: looked up per ticket by the equipment's index, never joined whole
        return sa.exists(sa.select(sa.literal(1)).where(
            again.c.equipment_id == t.c.equipment_id, again.c.id != t.c.id, again.c.deleted.is_(False),
            again.c.status.is_distinct_from("cancelled"), self.reported(again) > done,
            self.reported(again) <= done + window).limit(1))

    def finished(self) -> list[sa.ColumnElement]:
        """Field tickets finished, near the range (the exact test is on :meth:`completed`)."""
        t = self.tickets
        return [*self.field_tickets(t), t.c.status.in_(FINISHED), self.near(t.c.completed_at, t.c.updated_at)]


def _by_month(conn: sa.Connection, c: Context, at: sa.ColumnElement, numerator: sa.ColumnElement,
              denominator: sa.ColumnElement, where: list, select_from=None) -> dict[str, tuple[int, int]]:
    """Numerator and denominator summed per local month of ``at``, for the rows ``where``
    names (near the range) whose ``at`` falls in it: each row's time computed once."""
    rows = sa.select(at.label("at_ms"), numerator.label("numerator"), denominator.label("denominator")).where(*where)
    if select_from is not None:
        rows = rows.select_from(select_from)
    rows = fenced(rows, "figure_rows")
    month = c.month(rows.c.at_ms)
    query = (sa.select(month, sa.func.sum(rows.c.numerator), sa.func.sum(rows.c.denominator))
             .where(c.filters.holds(rows.c.at_ms, c.offset)).group_by(month))
    return {m: (int(n or 0), int(d or 0)) for m, n, d in conn.execute(query)}


def _one(condition: sa.ColumnElement) -> sa.ColumnElement:
    return sa.case((condition, 1), else_=0)


def _timeliness(conn, c: Context) -> dict:
    t = c.tickets
    reported = c.reported(t)
    overdue = sa.and_(t.c.sla_state.in_(sla.OPEN_STATES), epoch_ms(t.c.deadline, c.offset) <= c.filters.now_ms)
    decided = sa.or_(t.c.sla_state.in_(("met", "missed")), overdue)
    return _by_month(conn, c, reported, _one(t.c.sla_state == "met"), sa.literal(1),
                     [*c.field_tickets(t), c.reported_near(t), decided])


def _satisfaction(conn, c: Context) -> dict:
    surveys, t = entity_table("satisfaction_survey"), c.tickets
    at = moment(surveys.c.surveyed_at, surveys.c.device_time, c.offset)
    level = int(c.config.report_setting("satisfied_level"))
    satisfied = sum((_one(surveys.c[item] >= level) for item in ITEMS), sa.literal(0))
    answered = sum((_one(surveys.c[item].is_not(None)) for item in ITEMS), sa.literal(0))
    where = [surveys.c.deleted.is_(False), c.near(surveys.c.surveyed_at, surveys.c.device_time),
             *c.people(sa.func.coalesce(surveys.c.engineer_id, t.c.assignee_id))]
    if c.filters.zone is not None:
        where.append(t.c.zone == c.filters.zone)
    return _by_month(conn, c, at, satisfied, answered, where,
                     surveys.outerjoin(t, t.c.id == surveys.c.ticket_id))


def _complaint_rate(conn, c: Context) -> dict:
    complaints, t, customers = entity_table("complaint"), c.tickets, entity_table("customer")
    at = moment(complaints.c.received_at, complaints.c.device_time, c.offset)
    where = [complaints.c.deleted.is_(False), complaints.c.service_fault.is_(True),
             c.near(complaints.c.received_at, complaints.c.device_time),
             *c.people(sa.func.coalesce(complaints.c.engineer_id, t.c.assignee_id))]
    if c.filters.zone is not None:
        where.append(sa.func.coalesce(t.c.zone, customers.c.zone) == c.filters.zone)
    joined = (complaints.outerjoin(t, t.c.id == complaints.c.ticket_id)
              .outerjoin(customers, customers.c.id == complaints.c.customer_id))
    faults = _by_month(conn, c, at, sa.literal(1), sa.literal(0), where, joined)
    services = _by_month(conn, c, c.completed(t), sa.literal(0), sa.literal(1), c.finished())
    return {m: (faults.get(m, (0, 0))[0], services.get(m, (0, 0))[1]) for m in set(faults) | set(services)}


def _completion(conn, c: Context) -> dict:
    t = c.tickets
    reported = c.reported(t)
    within = int(c.config.report_setting("completion_days")) * DAY_MS
    finished = t.c.status.in_(FINISHED)
    in_time = sa.and_(finished, c.completed(t) - reported <= within)
    counted = sa.or_(finished, reported + within < c.filters.now_ms)
    return _by_month(conn, c, reported, _one(in_time), sa.literal(1),
                     [*c.field_tickets(t), t.c.status.is_distinct_from("cancelled"), c.reported_near(t), counted])


def _repeat(conn, c: Context) -> dict:
    t = c.tickets
    return _by_month(conn, c, c.completed(t), _one(c.came_back()), sa.literal(1),
                     [*c.finished(), t.c.equipment_id.is_not(None)])


def _first_time_fix(conn, c: Context) -> dict:
    t, logs = c.tickets, entity_table("work_log")
    # a second arrival (OFFSET 1), looked up per ticket by the work log's index, never joined whole
    second_visit = sa.exists(sa.select(logs.c.id).where(
        logs.c.ticket_id == t.c.id, logs.c.event == "arrived", logs.c.deleted.is_(False)).limit(1).offset(1))
    fixed = sa.and_(~second_visit, t.c.carried_back.is_not(True))
    return _by_month(conn, c, c.completed(t), _one(fixed), sa.literal(1), c.finished())


_QUERIES = {
    "timeliness": _timeliness, "satisfaction": _satisfaction, "complaint_rate": _complaint_rate,
    "completion_7d": _completion, "repeat_repair": _repeat, "first_time_fix": _first_time_fix,
}


def months_of(first: date, last: date) -> list[str]:
    """Every ``YYYY-MM`` from ``first``'s month to ``last``'s."""
    out, (year, month) = [], (first.year, first.month)
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def report(conn: sa.Connection, filters: Filters, config: DomainConfig) -> list[dict]:
    """One row per month of the range and figure, months in order, figures as listed."""
    context = Context(filters, config)
    targets = config.report_setting("targets")
    found = {name: query(conn, context) for name, query in _QUERIES.items()}
    rows = []
    for month in months_of(filters.date_from, filters.date_to):
        for name, title in FIGURES.items():
            numerator, denominator = found[name].get(month, (0, 0))
            rule, target = next(iter(dict(targets[name]).items()))
            value = round(numerator / denominator, 4) if denominator else None
            meets = None if value is None else (value >= target if rule == "at_least" else value < target)
            rows.append({"month": month, "figure": name, "title": title, "numerator": numerator,
                         "denominator": denominator, "value": value, "comparison": _COMPARISONS[rule],
                         "target": target, "meets": meets})
    return rows


def targets_of(config: DomainConfig) -> dict:
    """The figures' targets as configured, for the answer's ``targets``."""
    return {name: dict(rule) for name, rule in config.report_setting("targets").items()}
