"""Head office's conflict queue: notes chosen in SQL by filters, newest first, in pages.

No note is out of reach: a page ends with a ``next`` cursor (the last note's time and
id) and the page it asks for starts strictly after that note, so paging through a queue
of any length returns every note once. Filters, each optional but ``status``:

* ``status``: ``open`` (the default) or ``resolved``;
* ``ticket``: notes on the ticket and on the rows that hang on it (its work logs, parts,
  old parts, signatures... every entity with a ``ticket_id``);
* ``person``: notes on a person's values (made on one of their devices, and lost);
* ``rule``: the merge rule that decided, or ``reassignment``;
* ``since`` / ``until``: when the server noted it, ``since`` ≤ noted < ``until`` (an
  empty range is an empty queue).

Every parameter is checked before it reaches a query (its length before it is parsed);
a value that is not one of the allowed ones, a person or ticket that does not exist and
a parameter the queue does not know are refused with ``ValidationError`` /
``NotFoundError``, never ignored: a typo must not show the wrong queue as if it were the
right one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Mapping

import orjson
import sqlalchemy as sa

from sync.errors import ConflictError, NotFoundError, RefusedWriteError, ValidationError
from sync.registry import REGISTRY
from sync.rules import RULES

from .tables import devices, entity_table, users

if TYPE_CHECKING:
    from .apply import Batch

__all__ = ["STATUSES", "NOTE_RULES", "DEFAULT_PAGE", "MAX_PAGE", "PARAMS", "TIME_CHARS", "CURSOR_PATTERN", "Query",
           "parse_query", "read", "one", "as_dict", "CHOICES", "resolve"]

STATUSES = ("open", "resolved")
#: the merge rules, and the note the desk gets for work done on a ticket taken away
NOTE_RULES = tuple(sorted({*RULES, "reassignment"}))
DEFAULT_PAGE, MAX_PAGE = 100, 500
PARAMS = ("status", "ticket", "person", "rule", "since", "until", "limit", "cursor")

_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.:-]{0,63}")
#: ``2026-11-23T08:00:00.000000+08:00`` is 32 characters; RFC 3339 allows longer fractions
TIME_CHARS = 64
#: microseconds since 1970 in a cursor: 17 digits reach the year 5138, still a datetime
CURSOR_PATTERN = r"[0-9]{1,17}\.[0-9A-Za-z][0-9A-Za-z_.:-]{0,63}"
_CURSOR = re.compile(CURSOR_PATTERN)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_FIRST, _LAST = datetime.min.replace(tzinfo=timezone.utc), datetime.max.replace(tzinfo=timezone.utc)
_TICKET_ROWS = tuple(e.name for e in REGISTRY
                     if e.name != "conflict" and e.field("ticket_id") is not None and e.field("ticket_id").type == "ref")


@dataclass(frozen=True)
class Query:
    status: str = "open"
    ticket: str | None = None
    person: str | None = None
    rule: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_PAGE
    #: the (noted at, id) of the last note of the page before
    after: tuple[datetime, str] | None = None


def parse_query(args: Mapping[str, str]) -> Query:
    """A :class:`Query` from request parameters, or ``ValidationError`` naming the bad one."""
    unknown = sorted(set(args) - set(PARAMS))
    if unknown:
        raise ValidationError(f"the conflict queue has no parameter {unknown[0][:40]!r}", field=unknown[0][:40],
                              details={"allowed": list(PARAMS)})
    return Query(status=_choice(args, "status", STATUSES) or "open", ticket=_identifier(args, "ticket"),
                 person=_identifier(args, "person"), rule=_choice(args, "rule", NOTE_RULES),
                 since=_time(args, "since"), until=_time(args, "until"), limit=_limit(args), after=_cursor(args))


def _choice(args: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = args.get(name)
    if value is not None and value not in allowed:
        raise ValidationError(f"{name} is one of {', '.join(allowed)}", field=name, details={"allowed": list(allowed)})
    return value


def _identifier(args: Mapping[str, str], name: str) -> str | None:
    value = args.get(name)
    if value is not None and not _ID.fullmatch(value):
        raise ValidationError(f"{name} is an id of 1-64 letters, digits or -_.:", field=name)
    return value


def _time(args: Mapping[str, str], name: str) -> datetime | None:
    value = args.get(name)
    if value is None:
        return None
    try:
        if len(value) > TIME_CHARS:
            raise ValueError
        parsed = datetime.fromisoformat(value.upper())  # RFC 3339 allows 't' and 'z'
        if parsed.tzinfo is None:
            raise ValueError
    except ValueError:
        raise ValidationError(f"{name} is an ISO-8601 time with its offset, such as 2026-11-23T08:00:00+08:00",
                              field=name) from None
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # the calendar's first or last day, off UTC: before or after any note
        return _FIRST if parsed.year == 1 else _LAST


def _limit(args: Mapping[str, str]) -> int:
    raw = args.get("limit")
    if raw is None:
        return DEFAULT_PAGE
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_PAGE))) or not 1 <= int(raw) <= MAX_PAGE:
        raise ValidationError(f"limit is a whole number from 1 to {MAX_PAGE}", field="limit",
                              details={"limit": MAX_PAGE})
    return int(raw)


def _cursor(args: Mapping[str, str]) -> tuple[datetime, str] | None:
    raw = args.get("cursor")
    if raw is None:
        return None
    if not _CURSOR.fullmatch(raw):
        raise ValidationError("cursor is not one this server handed out", field="cursor")
    micros, _, note_id = raw.partition(".")
    return _EPOCH + timedelta(microseconds=int(micros)), note_id


def _format_cursor(noted_at: datetime, note_id: str) -> str:
    return f"{(_utc(noted_at) - _EPOCH) // timedelta(microseconds=1)}.{note_id}"


def _utc(value: datetime) -> datetime:
    """SQLite hands times back without their zone; they were stored in UTC."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def read(conn: sa.Connection, query: Query) -> tuple[list[dict], str | None]:
    """One page of notes, newest first, and the cursor of the next page (``None``: the last)."""
    _check_names(conn, query)
    table = entity_table("conflict")
    select = sa.select(table).where(table.c.status == query.status, table.c.deleted.is_(False))
    if query.rule is not None:
        select = select.where(table.c.rule == query.rule)
    if query.ticket is not None:
        select = select.where(_about_ticket(table, query.ticket))
    if query.person is not None:
        select = select.where(table.c.device_id.in_(sa.select(devices.c.id).where(devices.c.user_id == query.person)))
    if query.since is not None:
        select = select.where(table.c.created_at >= query.since)
    if query.until is not None:
        select = select.where(table.c.created_at < query.until)
    if query.after is not None:
        at, note_id = query.after
        select = select.where(table.c.created_at <= at, sa.or_(table.c.created_at < at, table.c.id < note_id))
    found = conn.execute(select.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(query.limit + 1)).all()
    page = found[:query.limit]
    following = _format_cursor(page[-1].created_at, page[-1].id) if len(found) > query.limit else None
    return [as_dict(r) for r in page], following


def _check_names(conn: sa.Connection, query: Query) -> None:
    """A person or ticket that does not exist is a mistake to show, not an empty queue."""
    if query.person is not None and conn.execute(sa.select(users.c.id).where(users.c.id == query.person)).first() is None:
        raise NotFoundError(f"no person {query.person}", field="person")
    ticket = entity_table("ticket")
    if query.ticket is not None and conn.execute(sa.select(ticket.c.id).where(ticket.c.id == query.ticket)).first() is None:
        raise NotFoundError(f"no ticket {query.ticket}", field="ticket")


def _about_ticket(table: sa.Table, ticket_id: str) -> sa.ColumnElement[bool]:
    about = [sa.and_(table.c.entity == "ticket", table.c.row_id == ticket_id)]
    for name in _TICKET_ROWS:
        child = entity_table(name)
        about.append(sa.and_(table.c.entity == name,
                             table.c.row_id.in_(sa.select(child.c.id).where(child.c.ticket_id == ticket_id))))
    return sa.or_(*about)


def one(conn: sa.Connection, note_id: str) -> dict:
    table = entity_table("conflict")
    return as_dict(conn.execute(sa.select(table).where(table.c.id == note_id)).one())


def as_dict(row) -> dict:
    def decode(value):
        return orjson.loads(value) if value is not None else None

    return {
        "id": row.id, "entity": row.entity, "row_id": row.row_id, "field": row.field, "rule": row.rule,
        "winner": row.winner, "kept_value": decode(row.kept_value), "lost_value": decode(row.lost_value),
        "kept_hlc": row.kept_hlc, "lost_hlc": row.lost_hlc, "device_id": row.device_id, "status": row.status,
        "resolution": decode(row.resolution), "created_at": _utc(row.created_at).isoformat(),
    }


#: how a conflict is settled: keep the value that won, restore the one that lost, or set another
CHOICES = ("kept", "lost", "value")


def resolve(batch: "Batch", conflict_id: str, choose: str, value: Any, reason: str, *, by: str,
            device_id: str) -> dict:
    """Settle an open conflict in ``batch``: write the chosen value to the row it is about,
    checked as a pushed value would be (a refusal, ``RefusedWriteError``, leaves
    everything as it was), and mark the note resolved with who chose what and why.
    ``NotFoundError`` for no such note, ``ConflictError`` when it is resolved already.
    The note's resolution as written."""
    record = batch.lookup("conflict", conflict_id)
    if record is None:
        raise NotFoundError(f"no conflict {conflict_id}")
    if record.values.get("status") != "open":
        raise ConflictError("this conflict is already resolved")
    if choose not in CHOICES:
        raise ValidationError(f"choose is one of {', '.join(CHOICES)}", field="choose")
    _settle(batch, record.values, choose, value)
    resolution = {"choose": choose, "value": value, "reason": reason, "by": by,
                  "device_id": device_id}
    batch.system_write("conflict", conflict_id, {"status": "resolved", "resolution": resolution})
    return resolution


def _settle(batch: "Batch", conflict: dict, choose: str, chosen: Any) -> None:
    """Write the chosen value to the row the conflict is about (nothing, for ``kept``)."""
    if choose == "kept":
        return
    value = conflict.get("lost_value") if choose == "lost" else chosen
    entity, row_id, field = conflict["entity"], conflict["row_id"], conflict["field"]
    if field == "_deleted":
        if not isinstance(value, bool):
            raise RefusedWriteError(f"{entity}: whether the row is deleted is true or false", field=field)
        if value:
            batch.chosen_write(entity, row_id, {}, op="delete")
        return
    if batch.registry.get(entity) is None:
        raise ValidationError(f"{entity}.{field} cannot be set from here")
    batch.chosen_write(entity, row_id, {field: value})
