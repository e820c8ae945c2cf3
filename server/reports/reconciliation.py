"""Parts reconciliation per location (003 帐物一致, 001 §3.7.4), four tables.

* :func:`balances`: per location, part and condition, the ledger now against the last
  approved count there (its counted quantity, its time) and what moved since; a negative
  ledger is flagged.
* :func:`open_consumptions`: per engineer, the consumptions not yet written off
  (:mod:`server.domain.writeoff` decides which) and what they wait for, by age.
* :func:`old_parts`: per engineer and age band, the old parts still out
  (:func:`server.domain.stock.outstanding_query`).
* :func:`supplier_claims`: old parts sent back to their supplier (二次索赔) with the
  supplier's answer, and how many claims stand at each outcome.

Each is one SQL aggregate over the domain's own queries; ``only`` (a depot's locations)
bounds them as ``/v1/depot/reconciliation`` is bounded. Rows come in key order, a page
at a time.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from ..domain import stock, writeoff
from ..domain.config import DomainConfig
from ..domain.moments import iso
from ..tables import entity_table, stock_balance, users
from .filters import Filters
from .paging import after_key, split
from .table import Column

__all__ = ["balances", "open_consumptions", "old_parts", "supplier_claims", "AGE_BANDS",
           "BALANCE_COLUMNS", "CONSUMPTION_COLUMNS", "OLD_PART_COLUMNS", "CLAIM_COLUMNS"]

#: age bands of what is still out, in days: up to 7, 8 to 30, over 30
AGE_BANDS = (7, 30)
_BAND_NAMES = ("0-7", "8-30", "30+")

BALANCE_COLUMNS = [
    Column("location_id", "库位"), Column("location_name", "库位名称"), Column("depot_id", "仓库"),
    Column("part_id", "备件"), Column("part_name", "备件名称"), Column("condition", "新旧"),
    Column("ledger", "账面数量"), Column("count_id", "最近盘点"), Column("counted_as_of", "盘点时间"),
    Column("counted", "盘点数量"), Column("since_count", "盘点后变动"), Column("negative", "负库存"),
]
CONSUMPTION_COLUMNS = [
    Column("engineer_id", "工程师"), Column("engineer_name", "工程师姓名"), Column("open", "未核销笔数"),
    Column("qty", "未核销数量"), Column("waiting_signature", "待签字"), Column("waiting_old_part", "待交旧件"),
    Column("over_7_days", "超过7天"), Column("over_30_days", "超过30天"), Column("oldest_at", "最早消耗时间"),
]
OLD_PART_COLUMNS = [
    Column("engineer_id", "工程师"), Column("engineer_name", "工程师姓名"), Column("age_band", "账龄(天)"),
    Column("returns", "未交旧件笔数"), Column("qty", "未交旧件数量"), Column("oldest_at", "最早")
]
CLAIM_COLUMNS = [
    Column("return_id", "旧件单"), Column("ticket_id", "工单"), Column("part_id", "备件"),
    Column("part_name", "备件名称"), Column("qty", "数量"), Column("engineer_id", "工程师"),
    Column("depot_location_id", "仓库库位"), Column("disposed_at", "索赔时间"), Column("outcome", "索赔结果"),
]


def _only(conn: sa.Connection, filters: Filters) -> list[str] | None:
    return stock.depot_locations(conn, filters.depot) if filters.depot is not None else None


def _counted_lines(dialect: str, locations: list[sa.ColumnElement] = ()) -> sa.Subquery:
    """The lines of each location's last approved count: location, part, condition, qty
    (``locations``: conditions on the location, to expand only those counts' lines)."""
    counts = entity_table("stock_count")
    rank = sa.func.row_number().over(partition_by=counts.c.location_id,
                                     order_by=(counts.c.as_of.desc(), counts.c.id.desc()))
    latest = (sa.select(counts.c.id, counts.c.location_id, counts.c.as_of, counts.c.lines, rank.label("rank"))
              .where(counts.c.deleted.is_(False), counts.c.approved.is_(True), counts.c.as_of.is_not(None),
                     *(condition(counts.c.location_id) for condition in locations))
              .subquery())
    if dialect == "sqlite":
        line = sa.func.json_each(latest.c.lines).table_valued("value")
        part, condition, qty = (sa.func.json_extract(line.c.value, f"$.{k}") for k in ("part_id", "condition", "qty"))
    else:
        line = sa.func.jsonb_array_elements(sa.cast(latest.c.lines, sa.dialects.postgresql.JSONB)).table_valued(
            "value")
        part, condition, qty = (line.c.value.op("->>")(k) for k in ("part_id", "condition", "qty"))
    return (sa.select(latest.c.id.label("count_id"), latest.c.location_id, latest.c.as_of,
                      part.label("part_id"), sa.func.coalesce(condition, "new").label("condition"),
                      sa.cast(qty, sa.Float).label("qty"))
            .select_from(latest).join(line, sa.true()).where(latest.c.rank == 1, latest.c.lines.is_not(None))
            .subquery())


def balances(conn: sa.Connection, filters: Filters, config: DomainConfig) -> tuple[list[dict], str | None]:
    """Per location, part and condition: the ledger now, the last approved count there
    and what moved since (ledger less counted; none for a part that count did not list);
    one page and the cursor after it."""
    only = _only(conn, filters)
    locations, parts = entity_table("stock_location"), entity_table("part")
    held = (sa.select(locations.c.id).where(locations.c.engineer_id == filters.engineer)
            if filters.engineer else None)
    edge = _page_edge(conn, filters, only, held)
    # no bin of the page comes after the edge: count lines are expanded only up to its location
    ledger = stock.level_query(only).subquery()
    counted = _counted_lines(conn.dialect.name, [] if edge is None else [lambda location: location <= edge[0]])
    both = sa.union_all(
        sa.select(ledger.c.location_id, ledger.c.part_id, ledger.c.condition, ledger.c.qty.label("ledger"),
                  sa.null().label("counted")),
        sa.select(counted.c.location_id, counted.c.part_id, counted.c.condition, sa.literal(0.0).label("ledger"),
                  counted.c.qty.label("counted"))
        .where(counted.c.location_id.in_(only) if only is not None else sa.true()),
    ).subquery()
    part_key = sa.func.coalesce(both.c.part_id, "")
    both_keys = [both.c.location_id, part_key, both.c.condition]
    bins = (sa.select(both.c.location_id, part_key.label("part_id"), both.c.condition,
                      sa.func.sum(both.c.ledger).label("ledger"), sa.func.max(both.c.counted).label("counted"))
            .where(after_key(both_keys, filters.after),
                   sa.not_(after_key(both_keys, edge)) if edge is not None else sa.true(),
                   both.c.location_id.in_(held) if held is not None else sa.true())
            .group_by(both.c.location_id, part_key, both.c.condition).subquery())
    last = sa.select(counted.c.location_id, counted.c.count_id, counted.c.as_of).distinct().subquery()
    keys = [bins.c.location_id, bins.c.part_id, bins.c.condition]
    query = (
        sa.select(bins, locations.c.name.label("location_name"), locations.c.depot_id, parts.c.name.label("part_name"),
                  last.c.count_id, last.c.as_of.label("counted_as_of"))
        .select_from(bins.outerjoin(locations, locations.c.id == bins.c.location_id)
                     .outerjoin(parts, parts.c.id == bins.c.part_id)
                     .outerjoin(last, last.c.location_id == bins.c.location_id))
        .where(after_key(keys, filters.after),
               locations.c.engineer_id == filters.engineer if filters.engineer else sa.true())
        .order_by(*keys).limit(filters.limit + 1)
    )
    rows = []
    for r in conn.execute(query):
        ledger_qty = round(float(r.ledger or 0), 9)
        counted_qty = None if r.counted is None else float(r.counted)
        rows.append({"location_id": r.location_id, "location_name": r.location_name, "depot_id": r.depot_id,
                     "part_id": r.part_id or None, "part_name": r.part_name, "condition": r.condition,
                     "ledger": ledger_qty, "count_id": r.count_id, "counted_as_of": r.counted_as_of,
                     "counted": counted_qty,
                     "since_count": None if counted_qty is None else round(ledger_qty - counted_qty, 9),
                     "negative": ledger_qty < 0})
    return split(rows, filters.limit, lambda r: (r["location_id"], r["part_id"] or "", r["condition"]))


def _page_edge(conn: sa.Connection, filters: Filters, only: list[str] | None,
               held: sa.Select | None) -> tuple | None:
    """The key of the ledger's bin one past a full page after the cursor (``None``: the
    ledger has no more than a page left). The ledger alone has a page and one more up to
    it, so no bin of the page — of the ledger or of a count — comes after it: the page is
    grouped from the bins up to there, read by the balance's key, not from every bin."""
    keys = [stock_balance.c.location_id, stock_balance.c.part_id, stock_balance.c.condition]
    query = (sa.select(*keys)
             .where(stock_balance.c.movements > 0, after_key(keys, filters.after),
                    stock_balance.c.location_id.in_(only) if only is not None else sa.true(),
                    stock_balance.c.location_id.in_(held) if held is not None else sa.true())
             .order_by(*keys).offset(filters.limit).limit(1))
    found = conn.execute(query).first()
    return None if found is None else tuple(found)


def _named(grouped: sa.Subquery, order: list[sa.ColumnElement]) -> sa.Select:
    """A page of per-engineer figures with each engineer's name: the names joined to the
    page's rows, after the aggregate, not to every row aggregated."""
    return (sa.select(grouped, users.c.name.label("engineer_name"))
            .select_from(grouped.outerjoin(users, users.c.id == grouped.c.engineer_id)).order_by(*order))


def _cutoffs(filters: Filters) -> tuple:
    return tuple(filters.now - timedelta(days=days) for days in AGE_BANDS)


def open_consumptions(conn: sa.Connection, filters: Filters, config: DomainConfig) -> tuple[list[dict], str | None]:
    """Per engineer who held the parts: the consumptions not yet written off, their
    quantity, how many wait for a signature and for an old part, how many are older than
    7 and 30 days (device time), and the oldest."""
    opened = writeoff.open_consumption_query(_only(conn, filters)).subquery()
    week, month = _cutoffs(filters)
    engineer = sa.func.coalesce(opened.c.held_by, "")

    def tally(condition) -> sa.ColumnElement:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    grouped = (
        sa.select(engineer.label("engineer_id"), sa.func.count().label("open"), sa.func.sum(opened.c.qty).label("qty"),
                  tally(~opened.c.signed).label("waiting_signature"),
                  tally(writeoff.waits_for_old_part(opened.c.returnable, opened.c.old_part_status))
                  .label("waiting_old_part"),
                  tally(opened.c.at < week).label("over_7_days"), tally(opened.c.at < month).label("over_30_days"),
                  _earliest(opened.c.at).label("oldest_at"))
        .where(filters.stamp_during(opened.c.at, config.local_utc_offset_hours),
               opened.c.held_by == filters.engineer if filters.engineer else sa.true())
        .group_by(engineer)
        .having(after_key([engineer], filters.after))
        .order_by(engineer).limit(filters.limit + 1)
    ).subquery()
    query = _named(grouped, [grouped.c.engineer_id])
    rows = [{"engineer_id": r.engineer_id or None, "engineer_name": r.engineer_name, "open": r.open,
             "qty": round(float(r.qty or 0), 9), "waiting_signature": int(r.waiting_signature),
             "waiting_old_part": int(r.waiting_old_part), "over_7_days": int(r.over_7_days),
             "over_30_days": int(r.over_30_days), "oldest_at": iso(r.oldest_at)} for r in conn.execute(query)]
    return split(rows, filters.limit, lambda r: (r["engineer_id"] or "",))


def old_parts(conn: sa.Connection, filters: Filters, config: DomainConfig) -> tuple[list[dict], str | None]:
    """Per engineer and age band (0-7, 8-30, 30+ days since the return was expected):
    old parts not yet received at the depot, how many, how much, the oldest."""
    out = stock.outstanding_query(_only(conn, filters)).subquery()
    week, month = _cutoffs(filters)
    band = sa.case((out.c.created_at >= week, 0), (out.c.created_at >= month, 1), else_=2)
    engineer = sa.func.coalesce(out.c.engineer_id, "")
    grouped = (
        sa.select(engineer.label("engineer_id"), band.label("band"), sa.func.count().label("returns"),
                  sa.func.sum(out.c.qty).label("qty"), _earliest(out.c.created_at).label("oldest_at"))
        .where(filters.stamp_during(out.c.created_at, config.local_utc_offset_hours),
               out.c.engineer_id == filters.engineer if filters.engineer else sa.true())
        .group_by(engineer, band)
        .having(after_key([engineer, band], filters.after))
        .order_by(engineer, band).limit(filters.limit + 1)
    ).subquery()
    query = _named(grouped, [grouped.c.engineer_id, grouped.c.band])
    rows = [{"engineer_id": r.engineer_id or None, "engineer_name": r.engineer_name, "band": r.band,
             "age_band": _BAND_NAMES[r.band], "returns": r.returns, "qty": float(r.qty or 0),
             "oldest_at": iso(r.oldest_at)} for r in conn.execute(query)]
    page, following = split(rows, filters.limit, lambda r: (r["engineer_id"] or "", r["band"]))
    for row in page:
        del row["band"]
    return page, following


def _claims(filters: Filters, offset_hours: int, only: list[str] | None) -> tuple[sa.Table, list[sa.ColumnElement]]:
    returns = entity_table("old_part_return")
    where = [returns.c.deleted.is_(False), returns.c.disposition == "supplier_claim"]
    if only is not None:
        where.append(returns.c.depot_location_id.in_(only))
    if filters.engineer:
        where.append(returns.c.engineer_id == filters.engineer)
    return returns, where + [filters.time_during(returns.c.disposed_at, offset_hours)]


def supplier_claims(conn: sa.Connection, filters: Filters, config: DomainConfig) -> tuple[list[dict], str | None]:
    """Old parts claimed from their supplier, by return id, with the supplier's answer
    (``pending`` until it comes)."""
    returns, where = _claims(filters, config.local_utc_offset_hours, _only(conn, filters))
    parts = entity_table("part")
    query = (
        sa.select(returns.c.id, returns.c.ticket_id, returns.c.part_id, parts.c.name.label("part_name"), returns.c.qty,
                  returns.c.engineer_id, returns.c.depot_location_id, returns.c.disposed_at,
                  sa.func.coalesce(returns.c.claim_outcome, "pending").label("outcome"))
        .select_from(returns.outerjoin(parts, parts.c.id == returns.c.part_id))
        .where(*where, after_key([returns.c.id], filters.after))
        .order_by(returns.c.id).limit(filters.limit + 1)
    )
    rows = [{"return_id": r.id, "ticket_id": r.ticket_id, "part_id": r.part_id, "part_name": r.part_name,
             "qty": r.qty, "engineer_id": r.engineer_id, "depot_location_id": r.depot_location_id,
             "disposed_at": r.disposed_at, "outcome": r.outcome} for r in conn.execute(query)]
    return split(rows, filters.limit, lambda r: (r["return_id"],))


def claim_outcomes(conn: sa.Connection, filters: Filters, config: DomainConfig) -> dict[str, dict]:
    """How many claims, and how much, stand at each outcome (same filters, every page)."""
    returns, where = _claims(filters, config.local_utc_offset_hours, _only(conn, filters))
    outcome = sa.func.coalesce(returns.c.claim_outcome, "pending")
    query = (sa.select(outcome.label("outcome"), sa.func.count().label("claims"), sa.func.sum(returns.c.qty))
             .where(*where).group_by(outcome).order_by(outcome))
    return {r[0]: {"claims": r[1], "qty": float(r[2] or 0)} for r in conn.execute(query)}


def _earliest(at: sa.ColumnElement) -> sa.ColumnElement:
    """SQL: the earliest of a server time column, read back as a time on either database."""
    return sa.type_coerce(sa.func.min(at), sa.DateTime(timezone=True))

