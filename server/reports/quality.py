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
from ..tables import entity_table, ticket_facts
from .filters import Filters, engineers_of_depot, fenced
from ..domain.moments import DAY_MS, day_number, day_of, epoch_ms, moment
from .table import Column
from .ticket_facts import agree_offset

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
    """What every figure's query shares: the range as instants, the offset, the filters,
    and the tickets as the figures read them: ``ticket_facts``, the columns they need and
    each ticket's live arrivals, kept by the database beside the tickets (a narrow table a
    year of which stays in memory, where the tickets' own rows do not)."""

    def __init__(self, filters: Filters, config: DomainConfig):
        self.filters, self.config = filters, config
        self.offset = config.local_utc_offset_hours
        self.tickets = ticket_facts

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
        return tickets.c.reported_ms

    def reported_near(self, tickets) -> sa.ColumnElement:
        return self.filters.holds(tickets.c.reported_ms, self.offset)

    def completed(self, tickets) -> sa.ColumnElement:
        return tickets.c.completed_ms

    def finished_repeats(self, *columns: sa.ColumnElement) -> sa.Subquery:
        """The field tickets finished in the range, one row each: ``columns``, ``id``,
        ``equipment_id``, ``at_ms`` (the completion) and ``repeat`` — 1 when another live,
        not cancelled ticket reported the same equipment faulty after the completion and
        within the repeat window (``repeat_window_days``), else 0: its first such report
        is ``next_report_ms``, which the database keeps (:mod:`.ticket_facts`)."""
        t = self.tickets
        window = int(round(float(self.config.report_setting("repeat_window_days")) * DAY_MS))
        repeat = sa.case((t.c.next_report_ms <= t.c.completed_ms + window, 1), else_=0)
        return (sa.select(*columns, t.c.id, t.c.equipment_id, t.c.completed_ms.label("at_ms"), repeat.label("repeat"))
                .where(*self.finished()).subquery("finished_repeats"))

    def finished(self) -> list[sa.ColumnElement]:
        """Field tickets finished in the range."""
        t = self.tickets
        return [*self.field_tickets(t), t.c.status.in_(FINISHED), self.filters.holds(t.c.completed_ms, self.offset)]


def _by_month(conn: sa.Connection, c: Context, at: sa.ColumnElement, figures: dict[str, tuple], where: list,
              select_from=None) -> dict[str, dict[str, tuple[int, int]]]:
    """Each figure's numerator and denominator (``figures``: name → the pair, SQL per
    row) summed per local month of ``at``, for the rows ``where`` names (near the range)
    whose ``at`` falls in it: one pass over the rows for every figure they give, each
    row's time computed once. The database sums per local day (a number: hashed, not a
    text sorted per row) and the days are added up into months here."""
    pairs = {name: (numerator, denominator) for name, (numerator, denominator) in figures.items()}
    rows = sa.select(at.label("at_ms"), *(value.label(f"{name}_{k}") for name, pair in pairs.items()
                                          for k, value in zip("nd", pair))).where(*where)
    if select_from is not None:
        rows = rows.select_from(select_from)
    rows = fenced(rows, "figure_rows")
    day = day_number(rows.c.at_ms, c.offset)
    sums = [sa.func.sum(rows.c[f"{name}_{k}"]) for name in pairs for k in "nd"]
    query = sa.select(day, *sums).where(c.filters.holds(rows.c.at_ms, c.offset)).group_by(day)
    found: dict[str, dict[str, tuple[int, int]]] = {name: {} for name in pairs}
    for number, *values in conn.execute(query):
        month = day_of(number).strftime("%Y-%m")
        for k, name in enumerate(pairs):
            numerator, denominator = found[name].get(month, (0, 0))
            found[name][month] = (numerator + int(values[2 * k] or 0), denominator + int(values[2 * k + 1] or 0))
    return found


def _one(condition: sa.ColumnElement) -> sa.ColumnElement:
    return sa.case((condition, 1), else_=0)


def _reported_figures(conn, c: Context) -> dict:
    """Timeliness and 7-day completion: both of the field tickets reported in the month,
    in one pass."""
    t = c.tickets
    reported = c.reported(t)
    overdue = sa.and_(t.c.sla_state.in_(sla.OPEN_STATES), epoch_ms(t.c.deadline, c.offset) <= c.filters.now_ms)
    decided = sa.or_(t.c.sla_state.in_(("met", "missed")), overdue)
    within = int(c.config.report_setting("completion_days")) * DAY_MS
    finished = t.c.status.in_(FINISHED)
    in_time = sa.and_(finished, c.completed(t) - reported <= within)
    counted = sa.and_(t.c.status.is_distinct_from("cancelled"), sa.or_(finished, reported + within < c.filters.now_ms))
    return _by_month(conn, c, reported, {
        "timeliness": (_one(sa.and_(decided, t.c.sla_state == "met")), _one(decided)),
        "completion_7d": (_one(sa.and_(counted, in_time)), _one(counted)),
    }, [*c.field_tickets(t), c.reported_near(t)])


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
    return _by_month(conn, c, at, {"satisfaction": (satisfied, answered)}, where,
                     surveys.outerjoin(t, t.c.id == surveys.c.ticket_id))["satisfaction"]


def _faults(conn, c: Context) -> dict:
    """Complaints of the service's fault received in the month (the complaint rate's numerator)."""
    complaints, t, customers = entity_table("complaint"), c.tickets, entity_table("customer")
    at = moment(complaints.c.received_at, complaints.c.device_time, c.offset)
    where = [complaints.c.deleted.is_(False), complaints.c.service_fault.is_(True),
             c.near(complaints.c.received_at, complaints.c.device_time),
             *c.people(sa.func.coalesce(complaints.c.engineer_id, t.c.assignee_id))]
    if c.filters.zone is not None:
        where.append(sa.func.coalesce(t.c.zone, customers.c.zone) == c.filters.zone)
    joined = (complaints.outerjoin(t, t.c.id == complaints.c.ticket_id)
              .outerjoin(customers, customers.c.id == complaints.c.customer_id))
    return _by_month(conn, c, at, {"faults": (sa.literal(1), sa.literal(0))}, where, joined)["faults"]


def _finished_figures(conn, c: Context) -> dict:
    """Of the field tickets finished in the month, in one pass: how many (the complaint
    rate's denominator), repeat repairs (of those with equipment) and first-time fixes
    (at most one live arrival, as ``ticket_facts`` counts them, and not carried back)."""
    finished = c.finished_repeats(c.tickets.c.carried_back, c.tickets.c.arrivals)
    fixed = _one(sa.and_(finished.c.arrivals <= 1, finished.c.carried_back.is_not(True)))
    with_equipment = finished.c.equipment_id.is_not(None)
    return _by_month(conn, c, finished.c.at_ms, {
        "services": (sa.literal(0), sa.literal(1)),
        "repeat_repair": (sa.case((with_equipment, finished.c.repeat), else_=0), _one(with_equipment)),
        "first_time_fix": (fixed, sa.literal(1)),
    }, [], finished)


def _figures(conn, c: Context) -> dict[str, dict[str, tuple[int, int]]]:
    """Every figure's ``{month: (numerator, denominator)}``."""
    found = {**_reported_figures(conn, c), "satisfaction": _satisfaction(conn, c)}
    faults, finished = _faults(conn, c), _finished_figures(conn, c)
    services = finished.pop("services")
    found["complaint_rate"] = {m: (faults.get(m, (0, 0))[0], services.get(m, (0, 0))[1])
                               for m in set(faults) | set(services)}
    return {**found, **finished}


def months_of(first: date, last: date) -> list[str]:
    """Every ``YYYY-MM`` from ``first``'s month to ``last``'s."""
    out, (year, month) = [], (first.year, first.month)
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def report(conn: sa.Connection, filters: Filters, config: DomainConfig) -> list[dict]:
    """One row per month of the range and figure, months in order, figures as listed."""
    agree_offset(conn.engine, config.local_utc_offset_hours)
    context = Context(filters, config)
    targets = config.report_setting("targets")
    found = _figures(conn, context)
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
