"""``/v1/office/reports``: head office's service figures, as JSON or as CSV (desk and manager).

Each report is a module of :mod:`server.reports` (``report(conn, filters, config)``); this
blueprint reads its filters, runs it on one connection, and answers it with
:func:`server.reports.table.answer`. Filters are refused before any SQL runs
(:mod:`server.reports.filters`: 422 ``invalid_filter`` or ``range_too_long``).
"""

from __future__ import annotations

from types import ModuleType

from flask import Response, g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from sync.errors import ForbiddenError

from ..reports import appraisal, daily, quality, sla_board
from ..reports.filters import FIRST_DAY, LAST_DAY, params, parse, today_of
from ..reports.paging import split
from ..reports.session import report_connection
from ..reports.table import FORMAT_ANSWERS, FORMAT_PARAM, answer
from .common import authenticated, error_answers, services

blp = Blueprint("reports", __name__, url_prefix="/v1/office/reports",
                description="Head office's figures: daily report, SLA board, quality, appraisal (JSON or CSV)")

_OFFICE = {"desk", "manager"}


class ColumnSchema(Schema):
    key = fields.String(required=True)
    title = fields.String(required=True, metadata={"description": "the column's title as the office reads it (the "
                                                                  "CSV's header)"})


class ReportSchema(Schema):
    columns = fields.List(fields.Nested(ColumnSchema), required=True)
    rows = fields.List(fields.Dict(), required=True, metadata={"description": "one object per row, by column key"})
    next = fields.String(allow_none=True, required=True,
                         metadata={"description": "send it back as `cursor` (same filters) for the next page; null on "
                                                  "the last (a CSV answer gives it in a Link header)"})


class QualityReportSchema(ReportSchema):
    targets = fields.Dict(required=True, metadata={"description": "each figure's target as configured"})


class AppraisalReportSchema(ReportSchema):
    bands = fields.List(fields.Dict(), required=True,
                        metadata={"description": "the repeat-repair deduction bands as configured"})


#: what the shared filters mean to these reports
_DESCRIBED = {
    "to": f"the last day, included; absent: today (a local day; from {FIRST_DAY} to {LAST_DAY})",
    "engineer": "one engineer's figures (a user id)",
    "depot": "the engineers of one depot: their own, or the depot of a van or station they hold",
    "zone": "tickets of one zone",
}
_ERRORS = {403: "not head office (desk or manager)",
           422: "a filter it cannot take: `invalid_filter` (a bad value, an unknown parameter, from after to, a "
                "cursor not its own) or `range_too_long` (details.max_days)"}


def _params(module: ModuleType) -> list[dict]:
    return params(module.TAKES, described=_DESCRIBED) + [FORMAT_PARAM]


def _run(name: str, module: ModuleType, **extra) -> Response:
    """Read the module's filters, run it, and answer its page as JSON or CSV."""
    if g.user["role"] not in _OFFICE:
        raise ForbiddenError("head office only")
    svc = services()
    now_ms = svc.now_ms()
    offset = svc.config.local_utc_offset_hours
    filters = parse(request.args, today=today_of(now_ms, offset), now_ms=now_ms, takes=module.TAKES,
                    max_days=module.MAX_DAYS, cursor_kinds=getattr(module, "CURSOR", ()),
                    default_limit=getattr(module, "DEFAULT_LIMIT", 1000))
    with report_connection(svc.engine) as conn:
        rows = module.report(conn, filters, svc.config)
    key_of = getattr(module, "key_of", None)
    page, following = split(rows, filters.limit, key_of) if key_of is not None else (rows, None)
    return answer(name, module.COLUMNS, page, next_cursor=following, extra=extra)


@blp.route("/daily", methods=["GET"])
@blp.doc(operationId="reportDaily", parameters=_params(daily), responses=FORMAT_ANSWERS)
@blp.response(200, ReportSchema)
@error_answers(blp, described=_ERRORS)
@authenticated
def daily_report():
    """Technician daily report (004 §15), per engineer per local day.

    Hours by category A/B/C/D (to whoever logged the work), tickets worked, parts used,
    services completed that day holding a current customer signature, and whether the
    day's records reached the server late (after the day's end plus `late_after_hours`).
    """
    return _run("daily", daily)


@blp.route("/sla-board", methods=["GET"])
@blp.doc(operationId="reportSlaBoard", parameters=_params(sla_board), responses=FORMAT_ANSWERS)
@blp.response(200, ReportSchema)
@error_answers(blp, described=_ERRORS)
@authenticated
def sla_board_report():
    """SLA board: open tickets racing their deadline, late first then by deadline.

    Each with its deadline, the minutes left as of the server's now (negative past it),
    its state then (on time, at risk, late), assignee and zone; a page at a time.
    """
    return _run("sla-board", sla_board)


@blp.route("/quality", methods=["GET"])
@blp.doc(operationId="reportQuality", parameters=_params(quality), responses=FORMAT_ANSWERS)
@blp.response(200, QualityReportSchema)
@error_answers(blp, described=_ERRORS)
@authenticated
def quality_report():
    """Monthly quality figures (001 §3.2.1, §2.2), each with numerator, denominator and target.

    Per local month of the range: timeliness, satisfaction from the four follow-up items,
    complaints of the service's fault per finished service, 7-day completion, repeat
    repairs of the same equipment within the window, first-time fix.
    """
    return _run("quality", quality, targets=quality.targets_of(services().config))


@blp.route("/appraisal", methods=["GET"])
@blp.doc(operationId="reportAppraisal", parameters=_params(appraisal), responses=FORMAT_ANSWERS)
@blp.response(200, AppraisalReportSchema)
@error_answers(blp, described=_ERRORS)
@authenticated
def appraisal_report():
    """Appraisal inputs per engineer per month (001 §4).

    Parts-ledger faults (consumptions still open past their age, parts written off lost or
    damaged), verified complaints, days reported late, and the repeat-repair rate with the
    deduction band it falls in.
    """
    return _run("appraisal", appraisal, bands=appraisal.bands_of(services().config))
