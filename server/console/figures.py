"""The managers' figures: monthly quality with its chart, the technician daily report,
appraisal inputs and contracts expiring, each a thin page over the office report module
the API answers with (:mod:`server.reports`), never figures worked out again here.

Every page's filters go through the reports' own parser
(:func:`server.reports.filters.parse`), so a page refuses what the API refuses; a
refusal is told in the page's language beside the form (422), never a 500. A page's
CSV and PDF are the report's own renderings (:func:`server.reports.table.answer`),
served here behind the console's sign-in (a browser holds no bearer token).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import render_template, request
from flask_babel import lazy_gettext as _

from sync.errors import ValidationError

from ..api.common import services
from ..reports import appraisal, contracts, daily, quality
from ..reports.filters import FIRST_DAY, LAST_DAY, Filters, parse, today_of
from ..reports.paging import split
from ..reports.table import answer
from ..tables import users
from . import blp, language
from .chart import line_chart
from .sessions import office_only

__all__ = ["FIGURE", "Month", "parse_month", "explain", "quality_page", "daily_page", "appraisal_page",
           "contracts_page", "export"]

#: the quality figures as the page names them, in the report's order
FIGURE = {
    "timeliness": _("Timeliness"), "satisfaction": _("Satisfaction"), "complaint_rate": _("Complaint rate"),
    "completion_7d": _("Completed within 7 days"), "repeat_repair": _("Repeat repairs"),
    "first_time_fix": _("First-time fix"),
}
#: months the quality chart covers, the chosen one last
CHART_MONTHS = 12
#: rows a page of the daily report, the appraisal inputs and the contracts lists
PAGE_ROWS = 100
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")
#: the reports a page downloads: the title its PDF is headed by, and its module
_EXPORTS = {
    "daily": ("技术员工作日报表", daily),
    "quality": ("服务质量月度指标", quality),
    "appraisal": ("工程师考核数据", appraisal),
}


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def back(self, months: int) -> "Month":
        index = self.year * 12 + self.month - 1 - months
        return Month(index // 12, index % 12 + 1)


def parse_month(raw: str | None, today: date) -> Month:
    """``YYYY-MM`` in ASCII digits, a real month from 1970-01 to 9999-12; absent: this month."""
    if raw is None or raw == "":
        return Month(today.year, today.month)
    if not (raw.isascii() and _MONTH.fullmatch(raw)):
        raise ValidationError("month is written 2026-11", field="month")
    year, month = int(raw[:4]), int(raw[5:])
    if not (1 <= month <= 12 and FIRST_DAY.year <= year <= LAST_DAY.year):
        raise ValidationError("month is a month from 1970-01 to 9999-12", field="month")
    return Month(year, month)


_FIELD = {"from": _("From"), "to": _("To")}


def explain(exc: ValidationError) -> str:
    """A filter's refusal as the person reads it, in the page's language."""
    if exc.code == "range_too_long":
        return language.gettext("This page covers at most %(days)d days at a time: choose a shorter range.",
                                days=exc.details.get("max_days", 0))
    name = exc.field or ""
    if "allowed" in exc.details:
        return language.gettext("This page has no setting %(name)s.", name=name[:40])
    if name == "month":
        return language.gettext("A month is written 2026-11: a year from 1970 to 9999 and a month from 01 to 12.")
    if name in ("from", "to") and "to" in exc.details:
        return language.gettext("The first day is after the last.")
    if name in ("from", "to"):
        return language.gettext("%(field)s is a day written 2026-11-23, from 1970-01-01 to 9999-12-31.",
                                field=_FIELD[name])
    if name == "engineer":
        return language.gettext("Choose an engineer from the list.")
    if name == "zone":
        return language.gettext("A zone is 1 to 50 characters.")
    if name == "days":
        return language.gettext("Look ahead 1 to %(days)d days.", days=contracts.MAX_DAYS)
    if name == "cursor":
        return language.gettext("This page's link no longer holds: start again from the first page.")
    if name == "format":
        return language.gettext("A download is CSV or PDF.")
    return language.gettext("This page has no setting %(name)s.", name=name[:40])


def _clean(values: dict) -> dict:
    """The filters given, as the reports' parser reads them (empty ones are not given)."""
    return {k: v for k, v in values.items() if v not in (None, "")}


def _today() -> date:
    svc = services()
    return today_of(svc.now_ms(), svc.config.local_utc_offset_hours)


def _filters(args: dict, module_takes, max_days: int | None, **kw) -> Filters:
    svc = services()
    now_ms = svc.now_ms()
    return parse(args, today=today_of(now_ms, svc.config.local_utc_offset_hours), now_ms=now_ms,
                 takes=module_takes, max_days=max_days, **kw)


def _engineers(conn: sa.Connection) -> list:
    return conn.execute(sa.select(users.c.id, users.c.name).where(users.c.role == "engineer")
                        .order_by(users.c.name)).all()


def _arg(name: str, limit: int = 100) -> str:
    """A query parameter as typed (cut to ``limit``: the parser refuses what is too long)."""
    return request.args.get(name, "")[: limit + 1].strip()


def _page(template: str, problem: str | None, **values):
    return render_template(f"console/{template}", problem=problem, **values), 422 if problem else 200


@blp.route("/quality")
@office_only
def quality_page():
    """The month's six figures against their targets, and each over the last twelve months."""
    typed = {"month": _arg("month"), "engineer": _arg("engineer"), "zone": _arg("zone")}
    svc = services()
    problem, rows, chosen = None, [], None
    try:
        chosen = parse_month(typed["month"] or None, _today())
        first = max(chosen.back(CHART_MONTHS - 1).first, FIRST_DAY)
        filters = _filters(_clean({"from": first.isoformat(), "to": chosen.last.isoformat(),
                                   "engineer": typed["engineer"], "zone": typed["zone"]}),
                           quality.TAKES, quality.MAX_DAYS)
    except ValidationError as exc:
        problem = explain(exc)
    with svc.engine.connect() as conn:
        if problem is None:
            rows = quality.report(conn, filters, svc.config)
        people = _engineers(conn)
    months = sorted({r["month"] for r in rows})
    by_figure = {name: [r for r in rows if r["figure"] == name] for name in quality.FIGURES}
    charts = {name: line_chart(found, found[0]["target"]) for name, found in by_figure.items() if found}
    grid = {month: {r["figure"]: r for r in rows if r["month"] == month} for month in months}
    current = [r for r in rows if r["month"] == str(chosen)] if chosen else []
    export = _clean({"from": months[0] + "-01", "to": chosen.last.isoformat(), "engineer": typed["engineer"],
                     "zone": typed["zone"]}) if months else {}
    return _page("quality.html", problem, typed=typed, chosen=chosen, current=current, months=months,
                 by_figure=by_figure, grid=grid, charts=charts, people=people, figures=FIGURE, export=export)


@blp.route("/daily")
@office_only
def daily_page():
    """The technician daily report: per engineer per day, a page at a time."""
    today = _today()
    typed = {"from": _arg("from") or today.isoformat(), "to": _arg("to") or today.isoformat(),
             "engineer": _arg("engineer"), "cursor": _arg("cursor", 600)}
    svc = services()
    problem, rows, following = None, [], None
    try:
        filters = _filters(_clean({**typed, "limit": str(PAGE_ROWS)}), daily.TAKES, daily.MAX_DAYS,
                           cursor_kinds=daily.CURSOR)
    except ValidationError as exc:
        problem = explain(exc)
    with svc.engine.connect() as conn:
        if problem is None:
            rows, following = split(daily.report(conn, filters, svc.config), PAGE_ROWS, daily.key_of)
        people = _engineers(conn)
    export = _clean({k: typed[k] for k in ("from", "to", "engineer")})
    return _page("daily.html", problem, typed=typed, rows=rows, following=following, people=people,
                 export=export, first_page=_clean({k: typed[k] for k in ("from", "to", "engineer")}))


@blp.route("/appraisal")
@office_only
def appraisal_page():
    """A month's appraisal inputs per engineer, each with the repeat-repair band and its deduction."""
    typed = {"month": _arg("month"), "engineer": _arg("engineer"), "cursor": _arg("cursor", 600)}
    svc = services()
    problem, rows, following, chosen = None, [], None, None
    try:
        chosen = parse_month(typed["month"] or None, _today())
        filters = _filters(_clean({"from": chosen.first.isoformat(), "to": chosen.last.isoformat(),
                                   "engineer": typed["engineer"], "cursor": typed["cursor"],
                                   "limit": str(PAGE_ROWS)}),
                           appraisal.TAKES, appraisal.MAX_DAYS, cursor_kinds=appraisal.CURSOR)
    except ValidationError as exc:
        problem = explain(exc)
    with svc.engine.connect() as conn:
        if problem is None:
            rows, following = split(appraisal.report(conn, filters, svc.config), PAGE_ROWS, appraisal.key_of)
        people = _engineers(conn)
    export = _clean({"from": chosen.first.isoformat(), "to": chosen.last.isoformat(),
                     "engineer": typed["engineer"]}) if chosen else {}
    return _page("appraisal.html", problem, typed=typed, chosen=chosen, rows=rows, following=following,
                 people=people, bands=appraisal.bands_of(svc.config), export=export,
                 first_page=_clean({"month": typed["month"], "engineer": typed["engineer"]}))


@blp.route("/contracts")
@office_only
def contracts_page():
    """Contracts ending within the coming days (30 unless asked), soonest first."""
    typed = {"days": _arg("days", 10), "zone": _arg("zone", 50), "cursor": _arg("cursor", 600)}
    svc = services()
    problem, rows, following = None, [], None
    try:
        filters = _filters(_clean({**typed, "limit": str(PAGE_ROWS)}), ("zone", "limit", "cursor"), None,
                           default_days=None, cursor_kinds=("text", "text", "text"),
                           days=(contracts.DAYS, 1, contracts.MAX_DAYS))
    except ValidationError as exc:
        problem = explain(exc)
    if problem is None:
        with svc.engine.connect() as conn:
            rows, following = contracts.expiring(conn, filters, svc.config)
    return _page("contracts.html", problem, typed=typed, rows=rows, following=following,
                 days=filters.days if problem is None else contracts.DAYS,
                 first_page=_clean({"days": typed["days"], "zone": typed["zone"]}))


@blp.route("/reports/<name>/export")
@office_only
def export(name: str):
    """A report's CSV or PDF (``format``), with the API's filters and its renderings."""
    found = _EXPORTS.get(name)
    if found is None:
        return render_template("console/error.html", status=404,
                               message=language.gettext("No such report.")), 404
    title, module = found
    if request.args.get("format") not in ("csv", "pdf"):
        return render_template("console/error.html", status=422, message=explain(
            ValidationError("format", field="format"))), 422
    svc = services()
    try:
        filters = _filters(request.args, module.TAKES, module.MAX_DAYS,
                           cursor_kinds=getattr(module, "CURSOR", ()))
    except ValidationError as exc:
        return render_template("console/error.html", status=422, message=explain(exc)), 422
    with svc.engine.connect() as conn:
        rows = module.report(conn, filters, svc.config)
    key_of = getattr(module, "key_of", None)
    page, following = split(rows, filters.limit, key_of) if key_of is not None else (rows, None)
    return answer(name, module.COLUMNS, page, next_cursor=following, title=title)
