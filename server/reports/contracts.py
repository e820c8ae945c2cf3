"""Contracts expiring soon (004 §20: the office renews a contract before it runs out),
one row per contract and the equipment it covers, with the customer.

A contract expires within ``days`` (default :data:`DAYS`) when its ``ends_on`` falls on
a local day from today to today + ``days``; one already over is not listed. ``ends_on``
is compared as text against those days (``2026-12-12`` and ``2026-12-12T18:00+08:00``
both sort from ``2026-12-12`` to before ``2026-12-13``): a contract's end is a day, and
the plain comparison lets an index on it serve.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from ..domain.config import DomainConfig
from ..tables import entity_table
from .filters import Filters, today_of
from .paging import after_key, split
from .table import Column

__all__ = ["expiring", "COLUMNS", "DAYS", "MAX_DAYS"]

#: the window the office looks ahead by default (004 §20: 30 days)
DAYS = 30
MAX_DAYS = 366

COLUMNS = [
    Column("contract_id", "合同"), Column("number", "合同编号"), Column("customer_id", "客户"),
    Column("customer_name", "客户名称"), Column("zone", "区域"), Column("contact", "联系人"),
    Column("phone", "电话"), Column("starts_on", "开始日期"), Column("ends_on", "到期日期"),
    Column("days_left", "剩余天数"), Column("equipment_id", "设备"), Column("model", "型号"),
    Column("serial", "出厂编号"),
]


def expiring(conn: sa.Connection, filters: Filters, config: DomainConfig) -> tuple[list[dict], str | None]:
    """Contracts ending from today to ``filters.days`` from now, soonest first, each with
    its customer and every piece of equipment it covers (none: one row without)."""
    contracts, customers, equipment = entity_table("contract"), entity_table("customer"), entity_table("equipment")
    today = today_of(filters.now_ms, config.local_utc_offset_hours)
    last = today + timedelta(days=filters.days or DAYS)
    ends = contracts.c.ends_on
    machine = sa.func.coalesce(equipment.c.id, "")
    keys = [ends, contracts.c.id, machine]
    query = (
        sa.select(contracts.c.id, contracts.c.number, contracts.c.customer_id, customers.c.name.label("customer_name"),
                  customers.c.zone, customers.c.contact, customers.c.phone, contracts.c.starts_on, contracts.c.ends_on,
                  machine.label("equipment_id"), equipment.c.model, equipment.c.serial)
        .select_from(contracts.outerjoin(customers, customers.c.id == contracts.c.customer_id)
                     .outerjoin(equipment, sa.and_(equipment.c.contract_id == contracts.c.id,
                                                   equipment.c.deleted.is_(False))))
        .where(contracts.c.deleted.is_(False), ends >= today.isoformat(), ends < (last + timedelta(days=1)).isoformat(),
               customers.c.zone == filters.zone if filters.zone is not None else sa.true(),
               after_key(keys, filters.after))
        .order_by(*keys).limit(filters.limit + 1)
    )
    rows = [{"contract_id": r.id, "number": r.number, "customer_id": r.customer_id, "customer_name": r.customer_name,
             "zone": r.zone, "contact": r.contact, "phone": r.phone, "starts_on": r.starts_on, "ends_on": r.ends_on,
             "days_left": (date.fromisoformat(r.ends_on[:10]) - today).days, "equipment_id": r.equipment_id or None,
             "model": r.model, "serial": r.serial, "_key": (r.ends_on, r.id, r.equipment_id)}
            for r in conn.execute(query)]
    page, following = split(rows, filters.limit, lambda r: r["_key"])
    for row in page:
        del row["_key"]
    return page, following
