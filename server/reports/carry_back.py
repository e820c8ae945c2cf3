"""The carry-back register (带回登记): products carried back to the workshop and not yet
returned — tickets ``carried_back`` or ``in_workshop`` — since when, and the receipt
the customer was given.

*Since when* is the device time (corrected by the device's measured skew) of the first
accepted write that recorded the carry-back on the ticket: its ``carried_back`` flag or
its ``receipt_number``, as the audit trail has them. The ticket row keeps only its last
write's time, and the audit trail keeps every write for good (the change log is
compacted), so the register reads it there, by its index on the row.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..domain.config import DomainConfig
from ..domain.moments import iso
from ..domain.writeoff import age_days
from ..tables import audit, entity_table, users
from .filters import Filters
from .paging import after_key, split
from .table import Column

__all__ = ["register", "COLUMNS", "AWAY"]

#: a product is in the workshop while its ticket is in one of these
AWAY = ("carried_back", "in_workshop")
_RECORDING = ('%"carried_back"%', '%"receipt_number"%')

COLUMNS = [
    Column("ticket_id", "工单"), Column("number", "工单编号"), Column("status", "状态"),
    Column("receipt_number", "收条编号"), Column("since", "带回时间"), Column("days_away", "在修天数"),
    Column("customer_id", "客户"), Column("customer_name", "客户名称"), Column("zone", "区域"),
    Column("equipment_id", "设备"), Column("model", "型号"), Column("serial", "出厂编号"),
    Column("engineer_id", "工程师"), Column("engineer_name", "工程师姓名"), Column("fault_description", "故障描述"),
]


def _since(tickets: sa.Table) -> sa.ScalarSelect:
    """SQL: when the carry-back was first recorded on the ticket (device time)."""
    return sa.type_coerce(
        sa.select(sa.func.min(audit.c.device_time))
        .where(audit.c.entity == "ticket", audit.c.row_id == tickets.c.id, audit.c.status.in_(["applied", "merged"]),
               sa.or_(*(audit.c.fields.like(name) for name in _RECORDING)))
        .scalar_subquery(), sa.DateTime(timezone=True))


def register(conn: sa.Connection, filters: Filters, config: DomainConfig) -> tuple[list[dict], str | None]:
    """Tickets whose product is in the workshop, by ticket id; ``engineer`` is the
    assignee, ``zone`` the ticket's, ``from``/``to`` bound since when."""
    tickets, customers, equipment = entity_table("ticket"), entity_table("customer"), entity_table("equipment")
    inner = (
        sa.select(tickets.c.id, tickets.c.number, tickets.c.status, tickets.c.receipt_number, tickets.c.zone,
                  tickets.c.customer_id, tickets.c.equipment_id, tickets.c.assignee_id, tickets.c.fault_description,
                  _since(tickets).label("since"))
        .where(tickets.c.deleted.is_(False), tickets.c.status.in_(AWAY), after_key([tickets.c.id], filters.after),
               tickets.c.assignee_id == filters.engineer if filters.engineer else sa.true(),
               tickets.c.zone == filters.zone if filters.zone is not None else sa.true())
        .subquery()
    )
    query = (
        sa.select(inner, customers.c.name.label("customer_name"), equipment.c.model, equipment.c.serial,
                  users.c.name.label("engineer_name"))
        .select_from(inner.outerjoin(customers, customers.c.id == inner.c.customer_id)
                     .outerjoin(equipment, equipment.c.id == inner.c.equipment_id)
                     .outerjoin(users, users.c.id == inner.c.assignee_id))
        .where(filters.stamp_during(inner.c.since, config.local_utc_offset_hours))
        .order_by(inner.c.id).limit(filters.limit + 1)
    )
    rows = [{"ticket_id": r.id, "number": r.number, "status": r.status, "receipt_number": r.receipt_number,
             "since": iso(r.since), "days_away": None if r.since is None else age_days(r.since, filters.now),
             "customer_id": r.customer_id,
             "customer_name": r.customer_name, "zone": r.zone, "equipment_id": r.equipment_id, "model": r.model,
             "serial": r.serial, "engineer_id": r.assignee_id, "engineer_name": r.engineer_name,
             "fault_description": r.fault_description} for r in conn.execute(query)]
    return split(rows, filters.limit, lambda r: (r["ticket_id"],))

