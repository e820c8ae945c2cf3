"""``/v1/depot``: parts reconciliation, ledger against what was drawn, used, returned,
written off and counted, and the vans a depot issues to with what their requisitions allow.

Both are paged as the office reports are (:mod:`server.reports.paging`): ``limit`` and
``cursor`` in, ``next`` out, refused with the reports' codes (``invalid_filter``). A
depot of a year's records answers tens of megabytes unpaged.
"""

from __future__ import annotations


from flask import g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from sync.errors import ForbiddenError

from ..domain import requisitions, stock, stocktake, writeoff
from ..reports.filters import Filters, encode_cursor, params, parse, today_of
from ..reports.paging import walk
from .common import authenticated, error_answers, json_response, services

blp = Blueprint("depot", __name__, url_prefix="/v1/depot", description="Depot: stock reconciliation, vans issued to")


class LevelSchema(Schema):
    location_id = fields.String(required=True)
    part_id = fields.String(allow_none=True, required=True)
    condition = fields.String(required=True)
    qty = fields.Float(required=True)
    negative = fields.Boolean(required=True)


class OutstandingSchema(Schema):
    return_id = fields.String(required=True)
    engineer_id = fields.String(allow_none=True)
    ticket_id = fields.String(allow_none=True)
    part_id = fields.String(allow_none=True)
    qty = fields.Float(allow_none=True)
    status = fields.String(required=True)
    age_days = fields.Float(required=True)
    expected_at = fields.String(required=True, metadata={"description": "when the server made the return"})


class OpenConsumptionSchema(Schema):
    movement_id = fields.String(required=True)
    engineer_id = fields.String(allow_none=True, required=True,
                                metadata={"description": "who held the part (the movement's held_by)"})
    ticket_id = fields.String(allow_none=True, required=True)
    part_id = fields.String(allow_none=True, required=True)
    qty = fields.Float(allow_none=True, required=True)
    from_location_id = fields.String(allow_none=True, required=True)
    old_part_status = fields.String(allow_none=True, required=True,
                                    metadata={"description": "the step of its old-part return (same id), if any"})
    waiting_for = fields.List(fields.String(validate=validate.OneOf(["signature", "old_part"])), required=True)
    age_days = fields.Float(required=True)
    at = fields.String(required=True, metadata={"description": "when it was consumed (device time)"})


class WriteOffSchema(Schema):
    movement_id = fields.String(required=True)
    part_id = fields.String(allow_none=True, required=True)
    qty = fields.Float(allow_none=True, required=True)
    condition = fields.String(required=True)
    from_location_id = fields.String(allow_none=True, required=True)
    held_by = fields.String(allow_none=True, required=True)
    reason = fields.String(allow_none=True, required=True)
    return_id = fields.String(allow_none=True, required=True,
                              metadata={"description": "set when an old part was scrapped"})
    ticket_id = fields.String(allow_none=True, required=True)
    written_off_by = fields.String(allow_none=True, required=True)
    at = fields.String(required=True)


class DifferenceSchema(Schema):
    part_id = fields.String(required=True)
    condition = fields.String(required=True)
    counted = fields.Float(required=True)
    ledger = fields.Float(required=True, metadata={"description": "the ledger there as of the count"})
    difference = fields.Float(required=True, metadata={"description": "counted less ledger"})


class OpenCountSchema(Schema):
    count_id = fields.String(required=True)
    location_id = fields.String(required=True)
    counted_by = fields.String(required=True)
    counted_at = fields.String(required=True)
    as_of = fields.String(required=True)
    note = fields.String(allow_none=True, required=True)
    differences = fields.List(fields.Nested(DifferenceSchema), required=True)


_NEXT = fields.String(allow_none=True, required=True,
                      metadata={"description": "send it back as `cursor` for the next page; null on the last"})
#: what a page of each answer holds unless ``limit`` says otherwise
RECONCILIATION_LIMIT = 1000
VANS_LIMIT = 3
#: open counts a reconciliation page holds at most, whatever the limit: each is the
#: ledger summed as of its count (~30 ms on a year of a big depot's movements)
OPEN_COUNTS_A_PAGE = 5
_PAGED = ("limit", "cursor")


class ReconciliationSchema(Schema):
    levels = fields.List(fields.Nested(LevelSchema), required=True)
    negative = fields.List(fields.Nested(LevelSchema), required=True,
                           metadata={"description": "the page's levels that went negative"})
    outstanding_old_parts = fields.List(fields.Nested(OutstandingSchema), required=True)
    open_consumptions = fields.List(fields.Nested(OpenConsumptionSchema), required=True)
    write_offs = fields.List(fields.Nested(WriteOffSchema), required=True)
    open_counts = fields.List(fields.Nested(OpenCountSchema), required=True)
    next = _NEXT


def _depot_only(conn) -> list[str] | None:
    """The locations the caller reads: a depot keeper his depot's, head office every one."""
    if g.user["role"] not in {"depot", "desk", "manager"}:
        raise ForbiddenError("for depot keepers and head office")
    return stock.depot_locations(conn, g.user["depot_id"]) if g.user["role"] == "depot" else None


def _page(default_limit: int, cursor_kinds) -> Filters:
    """``limit`` and ``cursor`` as the office reports read them (nothing else is taken)."""
    svc = services()
    now_ms = svc.now_ms()
    return parse(request.args, today=today_of(now_ms, svc.config.local_utc_offset_hours), now_ms=now_ms,
                 takes=_PAGED, default_days=None, cursor_kinds=cursor_kinds, default_limit=default_limit)


def _paging(default_limit: int, what: str) -> dict:
    described = {"limit": f"{what} a page ({default_limit} unless given)"}
    return {"parameters": params(_PAGED, described=described)}


#: the reconciliation's lists in the order its pages walk them, with the kinds of their keys
_LISTS = {"levels": ("text", "text", "text"), "outstanding_old_parts": ("text", "text"),
          "open_consumptions": ("text", "text", "text"), "write_offs": ("text", "text"),
          "open_counts": ("text", "text")}


@blp.route("/reconciliation", methods=["GET"])
@blp.doc(operationId="reconciliation", **_paging(RECONCILIATION_LIMIT, "rows, all lists together,"))
@blp.response(200, ReconciliationSchema)
@error_answers(blp, 403, 422)
@authenticated
def reconciliation():
    """Stock per location from the ledger, what went negative, old parts still out,
    consumptions not yet written off, the write-offs, and stocktakes awaiting approval.

    A consumption is written off once its ticket holds a current signature and, for a
    returnable part, its old part was received; until then it is listed by the engineer
    who held the part, oldest first, with what it waits for. A stocktake's differences
    (counted less the ledger as of the count) are listed until it is approved.
    A depot keeper sees their own depot; head office sees every location.

    Paged as one list: the levels (by location, part, condition), then the old parts
    out (oldest first), the open consumptions (by engineer, oldest first), the
    write-offs (newest first) and the open counts (oldest first); a page holds at most
    `limit` rows of them all (a count with its differences is one, and at most 5 counts
    a page: each is the ledger summed as of its count) and `negative` the page's
    negative levels.
    """
    with services().engine.connect() as conn:
        only = _depot_only(conn)
        page = _page(RECONCILIATION_LIMIT, _LISTS)
        now = page.now
        lists, following = walk([
            ("levels", lambda after, n: stock.levels(conn, only, after, n), stock.level_key, None),
            ("outstanding_old_parts", lambda after, n: stock.outstanding_old_parts(conn, only, now, after, n),
             stock.outstanding_key, None),
            ("open_consumptions", lambda after, n: writeoff.open_consumptions(conn, only, now, after, n),
             writeoff.consumption_key, None),
            ("write_offs", lambda after, n: writeoff.write_offs(conn, only, n, after), writeoff.write_off_key, None),
            ("open_counts", lambda after, n: stocktake.open_counts(conn, only, after, n), stocktake.count_key,
             OPEN_COUNTS_A_PAGE),
        ], page.after, page.limit)
    levels = lists["levels"]
    return json_response({"levels": levels, "negative": [lv for lv in levels if lv["negative"]],
                          **{name: rows for name, rows in lists.items() if name != "levels"}, "next": following})


class RequisitionLineSchema(Schema):
    part_id = fields.String(required=True)
    asked = fields.Float(required=True)
    approved = fields.Float(required=True, metadata={"description": "what the approval in force covers"})
    issued = fields.Float(required=True)
    left = fields.Float(required=True, metadata={"description": "approved less issued: what may still be issued"})
    over = fields.Float(required=True, metadata={
        "description": "issued beyond the approval in force (kept: the part moved; see docs/decisions.md)"})


class RequisitionBalanceSchema(Schema):
    requisition_id = fields.String(required=True)
    engineer_id = fields.String(allow_none=True)
    status = fields.String(required=True)
    lines = fields.List(fields.Nested(RequisitionLineSchema), required=True)


class VanSchema(Schema):
    location_id = fields.String(required=True)
    name = fields.String(allow_none=True)
    engineer_id = fields.String(allow_none=True)
    stock = fields.List(fields.Nested(LevelSchema), required=True)
    requisitions = fields.List(fields.Nested(RequisitionBalanceSchema), required=True)


class VansSchema(Schema):
    vans = fields.List(fields.Nested(VanSchema), required=True)
    next = _NEXT


@blp.route("/vans", methods=["GET"])
@blp.doc(operationId="depotVans", **_paging(VANS_LIMIT, "vans"))
@blp.response(200, VansSchema)
@error_answers(blp, 403, 422)
@authenticated
def vans():
    """The vans the depot issues to: each van's stock from the ledger, and per requisition
    on the depot what its approval covers, what was issued, what is left and what went over.

    A depot keeper sees the vans of his own depot's requisitions and issues; head office
    every van. Paged by van (its location id): at most `limit` vans a page, each whole.
    """
    with services().engine.connect() as conn:
        only = _depot_only(conn)
        page = _page(VANS_LIMIT, ("text",))
        found = requisitions.vans(conn, only, page.after[0] if page.after else None, page.limit + 1)
    following = encode_cursor([found[page.limit - 1]["location_id"]]) if len(found) > page.limit else None
    return json_response({"vans": found[:page.limit], "next": following})
