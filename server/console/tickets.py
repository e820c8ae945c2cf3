"""The desk's ticket board and dispatch list, read in SQL a page at a time.

The board is one ``SELECT … LIMIT`` over the ticket table joined to the customer and
the assignee, filtered in the database (status, zone, assignee, text) and ordered with
late tickets first: a ticket whose SLA clock still runs (``on_time``, ``at_risk``,
``late``) and whose deadline has passed comes first, whatever its stored state says —
the state moves with time only when ``evaluate-sla`` runs — then the others with a
running clock, then the rest; each group by deadline, soonest first (one order: every
running clock by deadline, then the rest, see :func:`board_page`). The countdown is
computed here from the deadline and the server's time.

SQLAlchemy Core, as the rest of the server (docs/decisions.md, "The console keeps
SQLAlchemy Core").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from sync.entities import TICKET_STATUSES
from sync.errors import ValidationError

from ..domain import sla
from ..params import whole_number
from ..tables import entity_table, users

__all__ = ["Filters", "parse_filters", "board_page", "engineers", "one_ticket", "with_countdown", "PAGE_SIZE", "FINISHED"]

PAGE_SIZE = 50
MAX_PAGE = 100_000
MAX_SEARCH = 100
#: no longer the desk's to move: done, or called off
FINISHED = ("completed", "signed", "closed", "cancelled")
STATUS_CHOICES = ("open", "all", *TICKET_STATUSES)


@dataclass(frozen=True)
class Filters:
    status: str = "open"
    zone: str = ""
    #: a user id, ``none`` for tickets nobody is assigned, or empty for all
    assignee: str = ""
    text: str = ""
    page: int = 1

    def query(self, page: int | None = None) -> dict:
        """The filters as query parameters (the ones set), for links to other pages."""
        wanted = {"status": self.status, "zone": self.zone, "assignee": self.assignee, "q": self.text,
                  "page": page or self.page}
        return {k: v for k, v in wanted.items() if v and not (k == "page" and v == 1)}


def _text(args, name: str, limit: int) -> str:
    value = args.get(name, "").strip()
    if len(value) > limit:
        raise ValidationError(f"{name} is at most {limit} characters", field=name)
    if not value.isprintable():
        raise ValidationError(f"{name} holds a character that cannot be searched for", field=name)
    return value


def parse_filters(args) -> Filters:
    """The board's filters from a query string; ``ValidationError`` naming the bad one."""
    status = args.get("status", "open") or "open"
    if status not in STATUS_CHOICES:
        raise ValidationError(f"status is one of {', '.join(STATUS_CHOICES)}", field="status")
    page = whole_number(args.get("page") or None, "page", 1, MAX_PAGE) or 1
    return Filters(status=status, zone=_text(args, "zone", 50), assignee=_text(args, "assignee", 64),
                   text=_text(args, "q", MAX_SEARCH), page=page)


def _where(filters: Filters, ticket: sa.Table, customer: sa.Table) -> list:
    where = [ticket.c.deleted.is_(False)]
    if filters.status == "open":
        where.append(sa.or_(ticket.c.status.is_(None), ticket.c.status.not_in(FINISHED)))
    elif filters.status != "all":
        where.append(ticket.c.status == filters.status)
    if filters.zone:
        where.append(ticket.c.zone == filters.zone)
    if filters.assignee == "none":
        where.append(ticket.c.assignee_id.is_(None))
    elif filters.assignee:
        where.append(ticket.c.assignee_id == filters.assignee)
    if filters.text:
        # Text with no letter that has a case (Chinese, digits: what the desk mostly
        # types) is searched with LIKE: ILIKE (PostgreSQL) and lower() (SQLite) find the
        # same rows for it, at a third of the time over every open ticket's texts.
        caseless = filters.text.lower() == filters.text.upper()
        found = (lambda column: column.contains(filters.text, autoescape=True)) if caseless else (
            lambda column: column.icontains(filters.text, autoescape=True))
        where.append(sa.or_(*(found(column) for column in (
            ticket.c.number, ticket.c.fault_description, customer.c.name, customer.c.address, ticket.c.zone))))
    return where


def board_page(conn: sa.Connection, filters: Filters, now: datetime) -> dict:
    """One page of the board: its tickets with their countdown, and how many match.

    Late first without ``now`` in the query: a running clock's tickets ordered by
    deadline have the late ones (deadline before now) first anyway, so "running, by
    deadline" is the same order as "late, then running, each by deadline". The page is
    found on the ticket table alone (ids, ordered and cut), then its 50 rows are read
    with their customer and engineer — not the join of every open ticket sorted with
    its texts."""
    ticket, customer = entity_table("ticket"), entity_table("customer")
    assignee = users.alias("assignee")
    where = _where(filters, ticket, customer)
    # the customer is joined to find the page only when the text search reads it
    searched = ticket.outerjoin(customer, customer.c.id == ticket.c.customer_id) if filters.text else ticket
    running = ticket.c.sla_state.in_(sla.OPEN_STATES)
    order = (sa.case((running, 0), else_=1), ticket.c.deadline.is_(None), ticket.c.deadline, ticket.c.id)
    offset = (filters.page - 1) * PAGE_SIZE
    total = None
    if filters.text:
        # the search is the costly part: the count rides on the page's own scan (a window)
        found = conn.execute(sa.select(ticket.c.id, sa.func.count().over().label("total")).select_from(searched)
                             .where(*where).order_by(*order).limit(PAGE_SIZE).offset(offset)).all()
        ids = [row.id for row in found]
        total = found[0].total if found else None
    else:  # without it, two plain scans are cheaper than one with a window (SQLite)
        ids = list(conn.execute(sa.select(ticket.c.id).select_from(searched).where(*where).order_by(*order)
                                .limit(PAGE_SIZE).offset(offset)).scalars())
    if total is None:  # no text, or past the last page
        total = conn.execute(sa.select(sa.func.count()).select_from(searched).where(*where)).scalar_one()
    rows = {}
    if ids:
        query = (
            sa.select(ticket.c.id, ticket.c.number, ticket.c.status, ticket.c.zone, ticket.c.urgency,
                      ticket.c.fault_description, ticket.c.deadline, ticket.c.sla_state, ticket.c.assignee_id,
                      ticket.c.version, ticket.c.needs_review, customer.c.name.label("customer_name"),
                      customer.c.address.label("customer_address"), assignee.c.name.label("assignee_name"))
            .select_from(ticket.outerjoin(customer, customer.c.id == ticket.c.customer_id)
                         .outerjoin(assignee, assignee.c.id == ticket.c.assignee_id))
            .where(ticket.c.id.in_(ids))
        )
        rows = {row["id"]: dict(row) for row in conn.execute(query).mappings()}
    tickets = [with_countdown(rows[ticket_id], now) for ticket_id in ids if ticket_id in rows]
    pages = max(1, -(-total // PAGE_SIZE))
    return {"tickets": tickets, "total": total, "pages": pages}


def with_countdown(row: dict, now: datetime) -> dict:
    """``clock``: the SLA state as of now (a running clock past its deadline is late), and
    the minutes left to the deadline (negative: minutes late)."""
    due = sla.parse_time(row["deadline"])
    state = row["sla_state"]
    if state in sla.OPEN_STATES and due is not None and due < now:
        state = "late"
    row["clock"] = state
    row["minutes"] = int((due - now).total_seconds() // 60) if due is not None and state in sla.OPEN_STATES else None
    return row


def one_ticket(conn: sa.Connection, ticket_id: str) -> dict | None:
    ticket, customer = entity_table("ticket"), entity_table("customer")
    found = conn.execute(
        sa.select(ticket, customer.c.name.label("customer_name"), customer.c.address.label("customer_address"))
        .select_from(ticket.outerjoin(customer, customer.c.id == ticket.c.customer_id))
        .where(ticket.c.id == ticket_id, ticket.c.deleted.is_(False))
    ).mappings().first()
    return dict(found) if found else None


def engineers(conn: sa.Connection, zone: str | None) -> list[dict]:
    """Every engineer with their open tickets (``load``) and their zone — the zone most of
    those tickets are in (people carry no zone of their own); the ticket's zone first,
    then the least loaded."""
    ticket = entity_table("ticket")
    open_rows = sa.and_(ticket.c.deleted.is_(False), sa.or_(ticket.c.status.is_(None),
                                                            ticket.c.status.not_in(FINISHED)))
    loads = conn.execute(
        sa.select(ticket.c.assignee_id, ticket.c.zone, sa.func.count())
        .where(open_rows, ticket.c.assignee_id.is_not(None)).group_by(ticket.c.assignee_id, ticket.c.zone)
    ).all()
    by_person: dict[str, dict[str, int]] = {}
    for person, ticket_zone, count in loads:
        by_person.setdefault(person, {})[ticket_zone or ""] = count
    people = []
    for row in conn.execute(sa.select(users.c.id, users.c.name).where(users.c.role == "engineer")
                            .order_by(users.c.name)):
        zones = by_person.get(row.id, {})
        main = max(sorted(zones), key=lambda z: zones[z]) if zones else ""
        people.append({"id": row.id, "name": row.name, "load": sum(zones.values()), "zone": main})
    people.sort(key=lambda p: (p["zone"] != (zone or "") or not p["zone"], p["load"], p["name"]))
    return people
