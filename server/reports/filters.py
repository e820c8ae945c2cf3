"""A report's filters, read from the query string before any SQL runs.

Every report takes some of: a date range (``from``, ``to``: ISO dates, local days by the
deployment's ``local_utc_offset_hours``, both included), an ``engineer``, a ``depot``, a
``zone``; a paged one also ``limit`` and ``cursor``. Anything else — a parameter it does
not take, a date in other digits (``２０２６``) or past 9999, ``from`` after ``to``, a
range longer than the report's cap, a cursor not of this report — is refused with 422
and a stable code, before the database is asked anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Mapping, Sequence

import sqlalchemy as sa

from sync.errors import ValidationError

from ..params import whole_number
from ..tables import entity_table, users
from .sqltime import DAY_MS, EPOCH, day_start_ms

__all__ = ["Filters", "FilterError", "RangeTooLongError", "parse", "encode_cursor", "cursor_pattern", "engineers_of_depot",
           "fenced", "today_of", "FIRST_DAY", "LAST_DAY"]

#: the first and last day a range may name (local day numbers of what is in range stay positive)
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9999, 12, 31)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.:-]{0,63}")
_ZONE_CHARS = 50
MAX_LIMIT = 5000


class FilterError(ValidationError):
    """A filter value a report cannot take."""

    code = "invalid_filter"


class RangeTooLongError(ValidationError):
    """A date range longer than the report computes in one answer."""

    code = "range_too_long"


@dataclass(frozen=True)
class Filters:
    #: the local days asked for, both included
    date_from: date
    date_to: date
    #: the server's clock (ms) when the request came: ages and time left count from it
    now_ms: int
    engineer: str | None = None
    depot: str | None = None
    zone: str | None = None
    limit: int = 1000
    #: the key of the last row of the page before (``None``: the first page)
    after: tuple | None = None

    def bounds_ms(self, offset_hours: int) -> tuple[int, int]:
        """The range as instants: the first day's start, and the start of the day after the last."""
        last = day_start_ms(self.date_to, offset_hours)
        return day_start_ms(self.date_from, offset_hours), last + DAY_MS

    def near(self, text: sa.ColumnElement, stamp: sa.ColumnElement | None, offset_hours: int) -> sa.ColumnElement:
        """SQL an index answers: the record's time (the time field ``text``, else the server
        stamp ``stamp``) may fall in the range — every row that does, and a few more.

        A time field's date as written is within a day of its local day whatever its
        offset (at most 14 hours either way), so ISO text from the day before the range to
        the day after it holds every row in the range, compared as text. The exact test is
        the caller's, on the instant computed once per row (:func:`fenced`): parsing a
        time is most of a report's cost.
        """
        after = (self.date_to + timedelta(days=2)).isoformat() if self.date_to < LAST_DAY - timedelta(days=1) \
            else "99999"  # past every time field, whose year has four digits
        near = sa.and_(text >= (self.date_from - timedelta(days=1)).isoformat(), text < after)
        if stamp is None:
            return near
        return sa.or_(near, sa.and_(text.is_(None), self.stamp_during(stamp, offset_hours)))

    def holds(self, ms: sa.ColumnElement, offset_hours: int) -> sa.ColumnElement:
        """SQL: an instant (ms) falls in the range."""
        low, high = self.bounds_ms(offset_hours)
        return sa.and_(ms >= low, ms < high)

    def stamp_during(self, stamp: sa.ColumnElement, offset_hours: int) -> sa.ColumnElement:
        """SQL: a server stamp (UTC) falls in the range; an index on it answers this."""
        low, high = self.bounds_ms(offset_hours)
        return sa.and_(stamp >= _utc(low), stamp < _utc(high))


def _utc(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms)


def _date(raw: str, name: str) -> date:
    if not (len(raw) == 10 and raw.isascii() and _DATE.fullmatch(raw)):
        raise FilterError(f"{name} is a date written 2026-11-23 (ASCII digits)", field=name)
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise FilterError(f"{name} is not a real date", field=name) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise FilterError(f"{name} is a date from {FIRST_DAY} to {LAST_DAY}", field=name)
    return day


def _identifier(raw: str, name: str) -> str:
    if not _ID.fullmatch(raw):
        raise FilterError(f"{name} is an id (letters, digits, _ . : -; at most 64)", field=name)
    return raw


def _zone(raw: str) -> str:
    if not 0 < len(raw) <= _ZONE_CHARS or "\x00" in raw:
        raise FilterError(f"zone is a zone's name, 1 to {_ZONE_CHARS} characters (no NUL)", field="zone")
    return raw


#: the pieces a cursor is made of: a whole number (a day, an instant in ms), a month, an id
_PIECES = {"number": r"-?[0-9]{1,17}", "month": r"[0-9]{4}-[0-9]{2}", "id": _ID.pattern}


def cursor_pattern(kinds: Sequence[str]) -> str:
    """The regular expression of a report's cursors: its key's pieces joined by dots (an id,
    which may hold dots, comes last)."""
    return r"\.".join(f"({_PIECES[kind]})" for kind in kinds)


def encode_cursor(key: Sequence) -> str:
    """The key of a page's last row as the next page's cursor."""
    return ".".join(str(value) for value in key)


def _cursor(raw: str, kinds: Sequence[str]) -> tuple:
    found = re.fullmatch(cursor_pattern(kinds), raw) if raw.isascii() else None
    if found is None:
        raise FilterError("cursor is the `next` of the page before, as it was given", field="cursor")
    return tuple(int(value) if kind == "number" else value for value, kind in zip(found.groups(), kinds))


def parse(args: Mapping[str, str], *, today: date, now_ms: int, takes: Sequence[str], max_days: int | None = None,
          default_days: int = 31, cursor_kinds: Sequence[str] = (), default_limit: int = 1000) -> Filters:
    """The filters of a report that ``takes`` these parameters (besides ``format``).

    No range given: the ``default_days`` up to ``today`` (local); only ``from``: up to
    ``today`` or the cap, whichever is sooner; only ``to``: the ``default_days`` ending then.
    """
    allowed = set(takes) | {"format"}
    unknown = sorted(set(args) - allowed)
    if unknown:
        name = unknown[0][:40]
        raise FilterError(f"this report has no parameter {name!r}", field=name, details={"allowed": sorted(allowed)})
    for name in args:
        if len(args.getlist(name) if hasattr(args, "getlist") else [args[name]]) > 1:
            raise FilterError(f"{name} is given once", field=name)
    date_to = _date(args["to"], "to") if "to" in args else min(today, LAST_DAY)
    if "from" in args:
        date_from = _date(args["from"], "from")
        if "to" not in args and max_days is not None:
            cap = date.fromordinal(min(date_from.toordinal() + max_days - 1, LAST_DAY.toordinal()))
            date_to = max(date_from, min(date_to, cap))
    else:
        date_from = max(FIRST_DAY, date_to - timedelta(days=default_days - 1))
    if date_from > date_to:
        raise FilterError("from is after to", field="from", details={"from": date_from.isoformat(),
                                                                     "to": date_to.isoformat()})
    days = (date_to - date_from).days + 1
    if max_days is not None and days > max_days:
        raise RangeTooLongError(f"this report covers at most {max_days} days at a time, not {days}: ask for the "
                                f"rest in another range", field="to", details={"max_days": max_days, "days": days})
    values: dict = {"date_from": date_from, "date_to": date_to, "now_ms": now_ms}
    if "engineer" in args:
        values["engineer"] = _identifier(args["engineer"], "engineer")
    if "depot" in args:
        values["depot"] = _identifier(args["depot"], "depot")
    if "zone" in args:
        values["zone"] = _zone(args["zone"])
    values["limit"] = whole_number(args.get("limit"), "limit", 1, MAX_LIMIT) or default_limit
    if "cursor" in args:
        values["after"] = _cursor(args["cursor"], cursor_kinds)
    return Filters(**values)


def engineers_of_depot(depot: str) -> sa.Select:
    """SQL: the people who work out of a depot: their own depot, or a van or station of it
    they hold (``engineer_id``)."""
    locations = entity_table("stock_location")
    held = sa.select(locations.c.engineer_id).where(
        locations.c.depot_id == depot, locations.c.deleted.is_(False), locations.c.engineer_id.is_not(None))
    return sa.select(users.c.id).where(users.c.depot_id == depot).union(held)


def fenced(query: sa.Select, name: str) -> sa.Subquery:
    """``query`` as a subquery the planner keeps whole (``OFFSET 0``): each of its computed
    columns is computed once per row, not again wherever the outer query names it."""
    return query.offset(0).subquery(name)


def today_of(now_ms: int, offset_hours: int) -> date:
    """The local date at ``now_ms``."""
    return EPOCH + timedelta(days=(now_ms + offset_hours * 3_600_000) // 86_400_000)
