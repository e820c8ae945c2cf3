"""Overdue complaints: open past their deadline (004: 13 days at home, 17 abroad), with
the deadline, how many days over, and whether they were escalated.

Overdue is :func:`server.domain.complaints.overdue`, the rule the escalation job runs,
so the report and the escalations never disagree on which complaint is late;
``escalated`` shows whether that job has marked it yet.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..domain.complaints import overdue
from ..domain.config import DomainConfig
from ..domain.writeoff import age_days
from ..tables import entity_table, users
from .filters import Filters
from .paging import after_key, split
from .table import Column

__all__ = ["overdue_complaints", "COLUMNS"]

COLUMNS = [
    Column("complaint_id", "投诉"), Column("number", "投诉编号"), Column("customer_id", "客户"),
    Column("customer_name", "客户名称"), Column("zone", "区域"), Column("engineer_id", "被投诉工程师"),
    Column("engineer_name", "工程师姓名"), Column("ticket_id", "工单"), Column("ticket_number", "工单编号"),
    Column("description", "投诉内容"), Column("received_at", "受理时间"), Column("abroad", "外地"),
    Column("deadline", "处理期限"), Column("days_overdue", "超期天数"), Column("escalated", "已升级"),
    Column("service_fault", "服务责任"),
]


def overdue_complaints(conn: sa.Connection, filters: Filters, config: DomainConfig) -> tuple[list[dict], str | None]:
    """Open complaints past their deadline now, by deadline (as written) then id;
    ``from``/``to`` bound when they were received, ``zone`` is the customer's."""
    complaints, customers, tickets = entity_table("complaint"), entity_table("customer"), entity_table("ticket")
    keys = [complaints.c.deadline, complaints.c.id]
    query = (
        sa.select(complaints, customers.c.name.label("customer_name"), customers.c.zone.label("zone"),
                  users.c.name.label("engineer_name"), tickets.c.number.label("ticket_number"))
        .select_from(complaints.outerjoin(customers, customers.c.id == complaints.c.customer_id)
                     .outerjoin(users, users.c.id == complaints.c.engineer_id)
                     .outerjoin(tickets, tickets.c.id == complaints.c.ticket_id))
        .where(overdue(complaints, filters.now), after_key(keys, filters.after),
               complaints.c.engineer_id == filters.engineer if filters.engineer else sa.true(),
               customers.c.zone == filters.zone if filters.zone is not None else sa.true(),
               filters.time_during(complaints.c.received_at, config.local_utc_offset_hours))
        .order_by(*keys).limit(filters.limit + 1)
    )
    rows = [{"complaint_id": r.id, "number": r.number, "customer_id": r.customer_id,
             "customer_name": r.customer_name, "zone": r.zone, "engineer_id": r.engineer_id,
             "engineer_name": r.engineer_name, "ticket_id": r.ticket_id, "ticket_number": r.ticket_number,
             "description": r.description, "received_at": r.received_at, "abroad": bool(r.abroad),
             "deadline": r.deadline, "days_overdue": age_days(datetime.fromisoformat(r.deadline), filters.now),
             "escalated": bool(r.escalated), "service_fault": r.service_fault} for r in conn.execute(query)]
    return split(rows, filters.limit, lambda r: (r["deadline"], r["complaint_id"]))

