"""``/v1/office/reports``: parts reconciliation, contracts expiring, overdue complaints
and the carry-back register, each as JSON or CSV (:mod:`server.reports.table`).

Head office (desk, manager) reads every report. A depot keeper reads the reconciliation
of his own depot (no ``depot``: his; another depot: 403); engineers read none.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from flask import Response, g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from sync.errors import ForbiddenError

from ..reports import carry_back, complaints, contracts, reconciliation
from ..reports.filters import Filters, params, parse, today_of
from ..reports.session import report_connection
from ..reports.table import FORMAT_ANSWERS, FORMAT_PARAM, Column, answer, wants_csv
from .common import authenticated, error_answers, services

blp = Blueprint("reports_stock", __name__, url_prefix="/v1/office/reports",
                description="Head office reports: parts reconciliation, contracts expiring, overdue complaints, "
                            "carry-back register (JSON or CSV)")

_OFFICE = {"desk", "manager"}
_PAGED = ("limit", "cursor")
#: rows a page holds unless ``limit`` says otherwise
_DEFAULT_LIMIT = 100
#: what the shared filters mean to these reports
_DESCRIBED = {"depot": "only this depot's locations (a depot keeper: his own, the default)",
              "engineer": "only this engineer's", "zone": "only this zone's",
              "limit": f"rows a page ({_DEFAULT_LIMIT} unless given)"}
_DAYS = {"schema": {"type": "integer", "minimum": 1, "maximum": contracts.MAX_DAYS, "default": contracts.DAYS},
         "description": "look this many days ahead (004 §20: 30)"}


def _schema(name: str, columns: list[Column], extra: dict | None = None) -> type[Schema]:
    """The JSON answer of a report: its columns, its rows (keyed as the columns), ``next``."""
    row = Schema.from_dict({c.key: fields.Raw(allow_none=True, metadata={"description": c.title}) for c in columns},
                           name=f"{name}Row")
    column = Schema.from_dict({"key": fields.String(required=True), "title": fields.String(required=True)},
                              name=f"{name}Column")
    return Schema.from_dict({
        "columns": fields.List(fields.Nested(column), required=True),
        "rows": fields.List(fields.Nested(row), required=True),
        "next": fields.String(allow_none=True, required=True,
                              metadata={"description": "send it back as `cursor` for the next page; null on the last"}),
        **(extra or {}),
    }, name=name)


def _filters(names: tuple[str, ...], kinds: tuple[str, ...], **kw) -> Filters:
    """The report's filters; a side of the range not given is open (these reports list
    what stands now, not a period's figures)."""
    svc = services()
    now_ms = svc.now_ms()
    return parse(request.args, today=today_of(now_ms, svc.config.local_utc_offset_hours), now_ms=now_ms,
                 takes=names, default_days=None, cursor_kinds=kinds, default_limit=_DEFAULT_LIMIT, **kw)


def _office_only() -> None:
    if g.user["role"] not in _OFFICE:
        raise ForbiddenError("head office only")


def _depot_filters(names: tuple[str, ...], kinds: tuple[str, ...]) -> Filters:
    """Head office: as asked. A depot keeper: his own depot, never another's. Who may
    read is settled before the filters are read."""
    own = g.user.get("depot_id")
    if g.user["role"] not in _OFFICE and (g.user["role"] != "depot" or not own):
        raise ForbiddenError("a depot keeper reads his own depot's reconciliation; head office every depot")
    filters = _filters(names, kinds)
    if g.user["role"] in _OFFICE:
        return filters
    if filters.depot not in (None, own):
        raise ForbiddenError("a depot keeper reads his own depot's reconciliation, not another's")
    return replace(filters, depot=own)


def _run(name: str, columns: list[Column], report: Callable, filters: Filters, extra: Callable | None = None
         ) -> Response:
    """Run a report and answer it; a format it cannot answer in is refused before the query runs."""
    wants_csv()
    svc = services()
    with report_connection(svc.engine) as conn:
        rows, following = report(conn, filters, svc.config)
        more = extra(conn, filters, svc.config) if extra else None
    return answer(name, columns, rows, next_cursor=following, extra=more)


def _route(path: str, operation: str, schema: type[Schema], names: tuple[str, ...], **kw):
    """A report's GET: authenticated, its filters and format documented, JSON or CSV."""
    def decorate(view):
        view = authenticated(view)
        view = error_answers(blp, 403, 422)(view)
        view = blp.response(200, schema, content_type="application/json")(view)
        view = blp.doc(operationId=operation, parameters=params(names, described=_DESCRIBED, **kw) + [FORMAT_PARAM],
                       responses=FORMAT_ANSWERS)(view)
        return blp.route(path, methods=["GET"])(view)
    return decorate


_BALANCES = ("depot", "engineer") + _PAGED
_HELD = ("from", "to", "engineer", "depot") + _PAGED


@_route("/reconciliation", "reportReconciliation", _schema("ReconciliationReport", reconciliation.BALANCE_COLUMNS),
        _BALANCES)
def reconciliation_balances():
    """Per location, part and condition: the ledger now, the last approved count there
    (what it counted, when) and what moved since; negative stock flagged. ``engineer``:
    the locations (vans) he holds."""
    filters = _depot_filters(_BALANCES, ("text", "text", "text"))
    return _run("reconciliation", reconciliation.BALANCE_COLUMNS, reconciliation.balances, filters)


@_route("/reconciliation/open-consumptions", "reportOpenConsumptions",
        _schema("OpenConsumptionReport", reconciliation.CONSUMPTION_COLUMNS), _HELD)
def reconciliation_open_consumptions():
    """Per engineer who held the parts: consumptions not yet written off (no current
    signature on the ticket, or a returnable part's old part not received), what they
    wait for, how many are older than 7 and 30 days. ``from``/``to``: when consumed."""
    filters = _depot_filters(_HELD, ("text",))
    return _run("open-consumptions", reconciliation.CONSUMPTION_COLUMNS, reconciliation.open_consumptions, filters)


@_route("/reconciliation/old-parts", "reportOldParts", _schema("OldPartReport", reconciliation.OLD_PART_COLUMNS),
        _HELD)
def reconciliation_old_parts():
    """Per engineer and age band (0-7, 8-30, 30+ days): old parts expected or collected
    but not yet received at the depot. ``from``/``to``: when the return was expected."""
    filters = _depot_filters(_HELD, ("text", "number"))
    return _run("old-parts", reconciliation.OLD_PART_COLUMNS, reconciliation.old_parts, filters)


_OUTCOME = Schema.from_dict({"claims": fields.Integer(required=True), "qty": fields.Float(required=True)},
                            name="ClaimOutcome")


@_route("/reconciliation/supplier-claims", "reportSupplierClaims",
        _schema("SupplierClaimReport", reconciliation.CLAIM_COLUMNS,
                {"outcomes": fields.Dict(keys=fields.String(), values=fields.Nested(_OUTCOME), required=True,
                                         metadata={"description": "claims and quantity per outcome, every page"})}),
        _HELD)
def reconciliation_supplier_claims():
    """Old parts claimed from their supplier (二次索赔) and the supplier's answer
    (``pending`` until it comes); ``outcomes`` counts them per answer. ``from``/``to``:
    when disposed of. The CSV carries the claims."""
    filters = _depot_filters(_HELD, ("text",))
    return _run("supplier-claims", reconciliation.CLAIM_COLUMNS, reconciliation.supplier_claims, filters,
                lambda conn, f, config: {"outcomes": reconciliation.claim_outcomes(conn, f, config)})


_CONTRACTS = ("zone",) + _PAGED


@_route("/contracts-expiring", "reportContractsExpiring", _schema("ContractsExpiringReport", contracts.COLUMNS),
        _CONTRACTS, days=_DAYS)
def contracts_expiring():
    """Contracts ending from today to ``days`` ahead (local days), soonest first, one
    row per piece of equipment each covers, with the customer. ``zone``: the customer's."""
    _office_only()
    filters = _filters(_CONTRACTS, ("text", "text", "text"), days=(contracts.DAYS, 1, contracts.MAX_DAYS))
    return _run("contracts-expiring", contracts.COLUMNS, contracts.expiring, filters)


_COMPLAINTS = ("from", "to", "engineer", "zone") + _PAGED


@_route("/overdue-complaints", "reportOverdueComplaints", _schema("OverdueComplaintsReport", complaints.COLUMNS),
        _COMPLAINTS)
def overdue_complaints():
    """Open complaints past their deadline now, with the deadline, days over and whether
    escalated. ``from``/``to``: when received; ``zone``: the customer's."""
    _office_only()
    filters = _filters(_COMPLAINTS, ("text", "text"))
    return _run("overdue-complaints", complaints.COLUMNS, complaints.overdue_complaints, filters)


_CARRY_BACK = ("from", "to", "engineer", "zone") + _PAGED


@_route("/carry-back", "reportCarryBack", _schema("CarryBackReport", carry_back.COLUMNS), _CARRY_BACK)
def carry_back_register():
    """Products carried back to the workshop and not yet returned: since when (device
    time of the carry-back's record), the receipt number, the customer, the assignee.
    ``from``/``to``: carried back then; ``engineer``: the assignee; ``zone``: the ticket's."""
    _office_only()
    return _run("carry-back", carry_back.COLUMNS, carry_back.register, _filters(_CARRY_BACK, ("text",)))
