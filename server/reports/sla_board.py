"""The SLA board: every ticket still racing its deadline, the most urgent first.

A ticket is on the board while its SLA state can still move with time (``on_time``,
``at_risk``, ``late``: :data:`server.domain.sla.OPEN_STATES`), i.e. nobody has reached
the site and it is not finished or cancelled. Rows come by deadline, then id: late ones
first, since a late ticket's deadline has passed and every other's is still ahead.

The state and the time left are as of the server's now. The stored state is written when
a ticket changes and by ``evaluate-sla``; between two runs it may be behind the clock, so
each row of the page is evaluated again by :func:`server.domain.sla.evaluate`, the rule
that stores it (working hours in a working-hour zone). The page itself is chosen in SQL,
by the deadline as an instant (the text a device wrote need not sort as time) and keyset
paging, so the thousandth page of 10,000 open tickets costs what the first does.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from ..domain import sla
from ..domain.config import DomainConfig
from ..tables import entity_table, users
from .filters import Filters, engineers_of_depot
from .paging import after_key
from ..domain.moments import epoch_ms
from .table import Column

__all__ = ["COLUMNS", "TAKES", "MAX_DAYS", "CURSOR", "DEFAULT_LIMIT", "report", "key_of", "STATE_TITLES"]

TAKES = ("engineer", "depot", "zone", "limit", "cursor")
MAX_DAYS = None
CURSOR = ("number", "id")
DEFAULT_LIMIT = 100
STATE_TITLES = {"on_time": "按时", "at_risk": "临近超时", "late": "已超时"}

COLUMNS = [
    Column("ticket_id", "服务单编号"),
    Column("number", "服务单号"),
    Column("customer_name", "客户"),
    Column("zone", "区域"),
    Column("urgency", "紧急程度"),
    Column("status", "状态"),
    Column("assignee_id", "工程师编号"),
    Column("assignee_name", "工程师"),
    Column("reported_at", "报修时间"),
    Column("deadline", "到达时限"),
    Column("minutes_left", "剩余分钟"),
    Column("state", "时效状态"),
    Column("state_title", "时效"),
]

#: the ticket fields :func:`server.domain.sla.evaluate` reads
_EVALUATED = ("status", "zone", "reported_at", "deadline", "answer_deadline", "answered_at", "arrived_at_server",
              "logged_arrival_at")


def report(conn: sa.Connection, filters: Filters, config: DomainConfig) -> list[dict]:
    """A page of the board (``filters.limit`` rows and one more when there is a next page)."""
    tickets, customers = entity_table("ticket"), entity_table("customer")
    due = epoch_ms(tickets.c.deadline, config.local_utc_offset_hours)
    query = (
        sa.select(due.label("due_ms"), tickets.c.id, tickets.c.number, tickets.c.urgency, tickets.c.assignee_id,
                  tickets.c.customer_id, *(tickets.c[name] for name in _EVALUATED))
        .where(tickets.c.deleted.is_(False), tickets.c.sla_state.in_(sla.OPEN_STATES),
               tickets.c.status.is_distinct_from("cancelled"), tickets.c.deadline.is_not(None))
    )
    if filters.engineer is not None:
        query = query.where(tickets.c.assignee_id == filters.engineer)
    if filters.depot is not None:
        query = query.where(tickets.c.assignee_id.in_(engineers_of_depot(filters.depot)))
    if filters.zone is not None:
        query = query.where(tickets.c.zone == filters.zone)
    query = query.where(after_key((due, tickets.c.id), filters.after)).order_by(due, tickets.c.id)
    page = query.limit(filters.limit + 1).subquery("page")
    named = (
        sa.select(page, customers.c.name.label("customer_name"), users.c.name.label("assignee_name"))
        .select_from(page.outerjoin(customers, customers.c.id == page.c.customer_id)
                     .outerjoin(users, users.c.id == page.c.assignee_id))
        .order_by(page.c.due_ms, page.c.id)
    )
    now = datetime.fromtimestamp(filters.now_ms / 1000, timezone.utc)
    local = timezone(timedelta(hours=config.local_utc_offset_hours))
    return [_row(r, config, now, local) for r in conn.execute(named).mappings()]


def _row(r, config: DomainConfig, now: datetime, local: timezone) -> dict:
    state = sla.evaluate(config, {name: r[name] for name in _EVALUATED}, now)["sla_state"]
    due = datetime.fromtimestamp(int(r["due_ms"]) / 1000, timezone.utc)
    reported = sla.parse_time(r["reported_at"])
    return {
        "ticket_id": r["id"], "number": r["number"], "customer_name": r["customer_name"], "zone": r["zone"],
        "urgency": r["urgency"], "status": r["status"], "assignee_id": r["assignee_id"],
        "assignee_name": r["assignee_name"],
        "reported_at": reported.astimezone(local).isoformat() if reported is not None else None,
        "deadline": due.astimezone(local).isoformat(), "minutes_left": _minutes(due - now),
        "state": state, "state_title": STATE_TITLES.get(state or "")
    }


def _minutes(span: timedelta) -> int:
    """Whole minutes to the deadline, negative past it (rounded towards the past)."""
    return int(span.total_seconds() // 60)


def key_of(row: dict) -> tuple:
    """The cursor key of a row: its deadline (ms) and id."""
    return (round(datetime.fromisoformat(row["deadline"]).timestamp() * 1000), row["ticket_id"])
