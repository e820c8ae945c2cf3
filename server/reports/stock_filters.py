"""The filters a report takes from its query string, parsed once, refused clearly.

Every report names the parameters it takes; any other is refused (422), so a misspelt
filter never answers unfiltered figures. Dates are ``YYYY-MM-DD`` in ASCII digits (a
year of five digits, ``'２０２６'``, or ``from`` after ``to`` are refused), taken as local
days (the deployment's offset); ids are the ids' own pattern; ``limit`` is a whole number
up to :data:`MAX_LIMIT`; ``cursor`` is the ``next`` of the page before, opaque to the
caller and checked as strictly as the rest.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Mapping

import orjson
import sqlalchemy as sa

from sync.errors import ValidationError

from ..domain.moments import bound, moment
from ..params import whole_number

__all__ = ["Filters", "parse", "params", "MAX_LIMIT", "DEFAULT_LIMIT", "next_cursor", "after", "during", "iso"]

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.:-]{0,63}", re.ASCII)
_ID_PATTERN = "^[0-9A-Za-z][0-9A-Za-z_.:-]{0,63}$"
_MAX_CURSOR = 600
_CURSOR = re.compile(f"[A-Za-z0-9_-]{{1,{_MAX_CURSOR}}}", re.ASCII)


@dataclass(frozen=True)
class Filters:
    """What a report is asked for. ``since`` and ``until`` are moments (``until``
    exclusive: the day after ``to`` began); ``now`` is the server's time of the request."""

    now: datetime
    local: timezone
    since: datetime | None = None
    until: datetime | None = None
    engineer: str | None = None
    depot: str | None = None
    zone: str | None = None
    days: int | None = None
    limit: int = DEFAULT_LIMIT
    cursor: tuple | None = None

    def today(self) -> date:
        """The local date of ``now``."""
        return self.now.astimezone(self.local).date()


#: every parameter a report may take, for the OpenAPI description
_DESCRIBED = {
    "from": {"schema": {"type": "string", "format": "date", "maxLength": 10},
             "description": "from this local day (YYYY-MM-DD), inclusive"},
    "to": {"schema": {"type": "string", "format": "date", "maxLength": 10},
           "description": "up to this local day (YYYY-MM-DD), inclusive; not before `from`"},
    "engineer": {"schema": {"type": "string", "pattern": _ID_PATTERN}, "description": "only this engineer's"},
    "depot": {"schema": {"type": "string", "pattern": _ID_PATTERN},
              "description": "only this depot's locations (a depot keeper: his own, the default)"},
    "zone": {"schema": {"type": "string", "minLength": 1, "maxLength": 50}, "description": "only this zone's"},
    "limit": {"schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
              "description": "rows per page"},
    "cursor": {"schema": {"type": "string", "pattern": f"^[A-Za-z0-9_-]{{1,{_MAX_CURSOR}}}$"},
               "description": "the `next` of the page before (same filters)"},
}


def params(*names: str, days: dict | None = None) -> list[dict]:
    """OpenAPI parameters for these filter names (``days`` described by the report)."""
    out = [{"name": name, "in": "query", "required": False, **_DESCRIBED[name]} for name in names]
    if days is not None:
        out.append({"name": "days", "in": "query", "required": False, **days})
    return out


def parse(args: Mapping[str, str], names: tuple[str, ...], *, now: datetime, local_offset_hours: int,
          keys: tuple[type, ...] = (str,), days: tuple[int, int, int] | None = None) -> Filters:
    """The filters in ``args`` that a report taking ``names`` (and ``format``) asks for.

    ``keys``: the types of the values the report's cursor holds (``str``, or ``int``
    for a small whole number such as an age band); ``days``: (default, low, high)
    for a report with a ``days`` window.
    """
    allowed = set(names) | {"format"} | ({"days"} if days else set())
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise ValidationError(f"this report has no parameter {unknown[0][:40]!r}", field=unknown[0][:40],
                              details={"allowed": sorted(allowed)})
    local = timezone(timedelta(hours=local_offset_hours))
    since, until = _day(args.get("from"), "from", local), _day(args.get("to"), "to", local)
    if since is not None and until is not None and since > until:
        raise ValidationError("from is a day before to, or the same day", field="from")
    found = {name: _id(args.get(name), name) for name in ("engineer", "depot")}
    zone = args.get("zone")
    if zone is not None and not (0 < len(zone) <= 50 and zone.isprintable()):
        raise ValidationError("zone is 1 to 50 printable characters", field="zone")
    return Filters(
        now=now, local=local, since=since, until=_day_after(until),
        engineer=found["engineer"], depot=found["depot"], zone=zone,
        days=(whole_number(args.get("days"), "days", days[1], days[2]) or days[0]) if days else None,
        limit=whole_number(args.get("limit"), "limit", 1, MAX_LIMIT) or DEFAULT_LIMIT,
        cursor=_cursor(args.get("cursor"), keys),
    )


def _day(raw: str | None, name: str, local: timezone) -> datetime | None:
    if raw is None:
        return None
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError(raw)
        moment = datetime.combine(date.fromisoformat(raw), time(), local)
    except ValueError:
        raise ValidationError(f"{name} is a day, YYYY-MM-DD", field=name) from None
    return _utc(moment)


def _utc(moment: datetime) -> datetime:
    """In UTC; the calendar's first and last days held to its ends (1 January of year 1
    in Beijing began in year 0, UTC, which no datetime holds)."""
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=timezone.utc)


def _day_after(start: datetime | None) -> datetime | None:
    """The end of the day that began at ``start``: ``None`` (no bound) after the last day there is."""
    if start is None:
        return None
    try:
        return start + timedelta(days=1)
    except OverflowError:
        return None


def _id(raw: str | None, name: str) -> str | None:
    if raw is not None and not _ID.fullmatch(raw):
        raise ValidationError(f"{name} is an id", field=name)
    return raw


def _cursor(raw: str | None, keys: tuple[type, ...]) -> tuple | None:
    """The key the page before ended on, each value of the report's own type: text
    without NUL (which PostgreSQL refuses) or a small whole number, else 422, never a
    comparison the database fails on."""
    if raw is None:
        return None
    refused = ValidationError("cursor is the next of the page before", field="cursor")
    try:
        if not _CURSOR.fullmatch(raw):
            raise ValueError(raw)
        values = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise refused from None
    if not isinstance(values, list) or len(values) != len(keys):
        raise refused
    for value, kind in zip(values, keys):
        if type(value) is not kind or (kind is str and "\x00" in value) or (
                kind is int and not 0 <= value < 2**31):
            raise refused
    return tuple(values)


def next_cursor(rows: list, limit: int, key) -> str | None:
    """The cursor after this page (``rows`` fetched one past ``limit``), or ``None``."""
    if len(rows) <= limit:
        return None
    return base64.urlsafe_b64encode(orjson.dumps(list(key(rows[limit - 1])))).decode().rstrip("=")


def after(columns: list[sa.ColumnElement], cursor: tuple | None) -> sa.ColumnElement:
    """SQL: the row comes after ``cursor`` in the order of ``columns`` (all ascending)."""
    if cursor is None:
        return sa.true()
    return sa.tuple_(*columns) > sa.tuple_(*(sa.literal(v) for v in cursor))


def iso(at: datetime | None) -> str | None:
    """A server time column's value as ISO-8601 with its offset (SQLite's come back naive, in UTC)."""
    if at is None:
        return None
    return (at.astimezone(timezone.utc) if at.tzinfo else at.replace(tzinfo=timezone.utc)).isoformat()


def during(column: sa.ColumnElement, filters: Filters, dialect: str | None = None) -> list[sa.ColumnElement]:
    """SQL: ``column`` falls within ``from``..``to``; ``dialect`` given: ``column`` is a
    time field's text, compared as a moment (:mod:`server.domain.moments`)."""
    at = moment(column, dialect) if dialect else column
    edge = (lambda t: bound(dialect, t)) if dialect else (lambda t: t)
    return (([at >= edge(filters.since)] if filters.since else [])
            + ([at < edge(filters.until)] if filters.until else []))
