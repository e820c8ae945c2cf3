"""Time fields and server stamps as instants in SQL: whole milliseconds since the epoch, UTC.

A time field is stored as the text a device wrote (``2026-11-23``, ``2026-11-23T08:30``,
``…+08:00``, ``…Z``: ``sync.changeset``); a server stamp (``created_at``,
``device_time``) as a timestamp. Text order is not time order once offsets differ, so
the reports and the overdue-complaint rule compare, group and page by :func:`epoch_ms`
of either, computed by the database (SQLite ``julianday``, PostgreSQL ``date_part`` of a ``timestamp`` or
``timestamptz`` as the text has an offset). As :func:`server.domain.sla.parse_time`
reads them, a time without an offset is UTC; a date alone is the start of its day at the
offset given (a report: the deployment's, so it falls on its own local day; the domain's
rules: 0, UTC, as ``parse_time`` reads it).

A local day is a whole number (:func:`day_number`): days since 1970-01-01 in local time.
Report filters start no earlier than 1970-01-02, so every number compared is positive and
integer division is floor division on both databases.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

__all__ = ["DAY_MS", "HOUR_MS", "EPOCH", "stored_text", "epoch_ms", "stamp_ms", "day_number", "month_of_day", "day_of", "day_start_ms",
           "moment", "iso", "INSTANTS", "instant_column", "instant_ms", "stored_epoch_ms", "stored_moment",
           "RECEIPT_LAGS", "RECEIPT_LAG_COLUMN", "lag_ms", "receipt_lag"]

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
EPOCH = date(1970, 1, 1)


class epoch_ms(FunctionElement):
    """SQL: a time field's text as ms since the epoch (``offset_hours``: a date alone's day)."""

    type = sa.BigInteger()
    inherit_cache = True

    def __init__(self, column, offset_hours: int):
        super().__init__(column, sa.literal(int(offset_hours) * HOUR_MS, sa.BigInteger()))


@compiles(epoch_ms, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    column, offset = (compiler.process(c, **kw) for c in element.clauses)
    return (f"(CAST(round((julianday({column}) - 2440587.5) * 86400000) AS INTEGER)"
            f" - CASE WHEN length({column}) = 10 THEN {offset} ELSE 0 END)")


@compiles(epoch_ms, "postgresql")
def _epoch_postgresql(element, compiler, **kw):
    # A time with an offset ends in Z or in ±HH:MM, whose sign is then the sixth character
    # from the end, where a time without one (HH:MM, :SS, .ffffff; sync.changeset) never
    # has a sign: two character tests instead of a regular expression per row.
    # date_part (double precision) rather than EXTRACT (numeric): exact to the
    # millisecond over years 1 to 9999, and half the cost per row.
    column, offset = (compiler.process(c, **kw) for c in element.clauses)
    with_offset = f"(right({column}, 1) = 'Z' OR substr({column}, length({column}) - 5, 1) IN ('+', '-'))"
    return (f"CAST(round(CASE WHEN length({column}) = 10 THEN date_part('epoch', CAST({column} AS timestamp)) * 1000"
            f" - {offset} WHEN {with_offset} THEN date_part('epoch', CAST({column} AS timestamptz))"
            f" * 1000 ELSE date_part('epoch', CAST({column} AS timestamp)) * 1000 END) AS BIGINT)")


#: the time fields whose instant the database keeps beside them, ``<field>_ms`` (migration
#: 0016_report_instants): those the daily report, the quality figures and the appraisal
#: read tens of thousands of at a time
INSTANTS = {
    "work_log": ("at",),
    "stock_movement": ("occurred_at",),
    "ticket": ("reported_at", "completed_at"),
}
#: the PostgreSQL function that computes a stored instant (migration 0016_report_instants):
#: :func:`epoch_ms` at offset 0, ``IMMUTABLE`` as a generated column's must be — it is, for
#: a time with an offset and one read as UTC depend on no setting
INSTANT_FUNCTION = "fieldsync_instant_ms"
INSTANT_FUNCTION_DDL = f"""
CREATE OR REPLACE FUNCTION {INSTANT_FUNCTION}(t character varying) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CAST(round(CASE
    WHEN length(t) = 10 THEN date_part('epoch', CAST(t AS timestamp)) * 1000
    WHEN right(t, 1) = 'Z' OR substr(t, length(t) - 5, 1) IN ('+', '-')
      THEN date_part('epoch', CAST(t AS timestamptz)) * 1000
    ELSE date_part('epoch', CAST(t AS timestamp)) * 1000 END) AS BIGINT)
$$
"""


def instant_column(field: str) -> str:
    """The name of the column keeping a time field's instant."""
    return f"{field}_ms"


class instant_ms(FunctionElement):
    """SQL: a time field's text as ms since the epoch, a date alone at UTC midnight — what
    :func:`epoch_ms` gives at offset 0, as a generated column's expression (the column
    named by its bare name, as the column's definition holds it)."""

    type = sa.BigInteger()
    inherit_cache = True


@compiles(instant_ms, "sqlite")
def _instant_sqlite(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"CAST(round((julianday({column}) - 2440587.5) * 86400000) AS INTEGER)"


@compiles(instant_ms, "postgresql")
def _instant_postgresql(element, compiler, **kw):
    return f"{INSTANT_FUNCTION}({compiler.process(element.clauses, **kw)})"


def stored_epoch_ms(table: sa.Table, field: str, offset_hours: int) -> sa.ColumnElement:
    """SQL: :func:`epoch_ms` of a time field of :data:`INSTANTS`, read from its stored
    instant: no text parsed per row, only a date alone moved to the start of its local day."""
    text = table.c[field]
    shift = sa.case((sa.func.length(text) == 10, int(offset_hours) * HOUR_MS), else_=0)
    return table.c[instant_column(field)] - shift


def stored_moment(table: sa.Table, field: str, stamp: sa.ColumnElement, offset_hours: int) -> sa.ColumnElement:
    """SQL: :func:`moment` of a time field of :data:`INSTANTS`, from its stored instant."""
    return sa.func.coalesce(stored_epoch_ms(table, field, offset_hours), stamp_ms(stamp))


#: the records that keep their receipt lag beside them, ``receipt_lag_ms`` (migration
#: 0020_late_records), by the time field that is their own time: those the appraisal's late
#: days read by the year (:func:`server.reports.daily._only_late`)
RECEIPT_LAGS = {"work_log": "at", "stock_movement": "occurred_at"}
RECEIPT_LAG_COLUMN = "receipt_lag_ms"
#: the PostgreSQL function that computes a receipt lag (migration 0020_late_records),
#: ``IMMUTABLE`` as a generated column's must be: ``date_part('epoch', …)`` of a
#: ``timestamptz`` is declared ``STABLE`` but depends on no setting
RECEIPT_LAG_FUNCTION = "fieldsync_receipt_lag_ms"
RECEIPT_LAG_FUNCTION_DDL = f"""
CREATE OR REPLACE FUNCTION {RECEIPT_LAG_FUNCTION}(received timestamptz, instant bigint, device_time timestamptz)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CAST(round(date_part('epoch', received) * 1000) AS BIGINT)
    - coalesce(instant, CAST(round(date_part('epoch', device_time) * 1000) AS BIGINT))
$$
"""


class lag_ms(FunctionElement):
    """SQL: how long after its own time the server received a record (ms): its receipt
    stamp minus its time field's instant (:class:`instant_ms`: a date alone at UTC
    midnight, not at a deployment's offset), else minus its device time — to the ms what
    :func:`stamp_ms` and the stored instant give. Arguments: the receipt stamp, the time
    field, the device time, by their bare names (a generated column's expression)."""

    type = sa.BigInteger()
    inherit_cache = True


@compiles(lag_ms, "sqlite")
def _lag_sqlite(element, compiler, **kw):
    received, text, stamp = (compiler.process(c, **kw) for c in element.clauses)
    return (f"CAST(round((julianday({received}) - 2440587.5) * 86400000) AS INTEGER)"
            f" - coalesce(CAST(round((julianday({text}) - 2440587.5) * 86400000) AS INTEGER),"
            f" CAST(round((julianday({stamp}) - 2440587.5) * 86400000) AS INTEGER))")


@compiles(lag_ms, "postgresql")
def _lag_postgresql(element, compiler, **kw):
    received, text, stamp = (compiler.process(c, **kw) for c in element.clauses)
    return f"{RECEIPT_LAG_FUNCTION}({received}, {INSTANT_FUNCTION}({text}), {stamp})"


def receipt_lag(table: sa.Table) -> sa.ColumnElement:
    """SQL: the stored receipt lag (:class:`lag_ms`) of a record of :data:`RECEIPT_LAGS`."""
    return table.c[RECEIPT_LAG_COLUMN]


class stamp_ms(FunctionElement):
    """SQL: a server stamp (a ``DateTime`` column, UTC) as ms since the epoch."""

    type = sa.BigInteger()
    inherit_cache = True


@compiles(stamp_ms, "sqlite")
def _stamp_sqlite(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"CAST(round((julianday({column}) - 2440587.5) * 86400000) AS INTEGER)"


@compiles(stamp_ms, "postgresql")
def _stamp_postgresql(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"CAST(round(date_part('epoch', {column}) * 1000) AS BIGINT)"


class month_of_day(FunctionElement):
    """SQL: the ``YYYY-MM`` of a local day number."""

    type = sa.String()
    inherit_cache = True


@compiles(month_of_day, "sqlite")
def _month_sqlite(element, compiler, **kw):
    return f"strftime('%Y-%m', ({compiler.process(element.clauses, **kw)}) * 86400, 'unixepoch')"


@compiles(month_of_day, "postgresql")
def _month_postgresql(element, compiler, **kw):
    return f"to_char(DATE '1970-01-01' + CAST({compiler.process(element.clauses, **kw)} AS INTEGER), 'YYYY-MM')"


def moment(text: sa.ColumnElement, stamp: sa.ColumnElement, offset_hours: int) -> sa.ColumnElement:
    """SQL: a record's time in ms: its time field ``text`` as written, else the server stamp."""
    return sa.func.coalesce(epoch_ms(text, offset_hours), stamp_ms(stamp))


def day_number(ms: sa.ColumnElement, offset_hours: int) -> sa.ColumnElement:
    """SQL: the local day (days since 1970-01-01) an instant in ms falls on."""
    return (ms + int(offset_hours) * HOUR_MS) // DAY_MS


def day_start_ms(day: date, offset_hours: int) -> int:
    """The instant (ms) a local day starts."""
    return (day - EPOCH).days * DAY_MS - int(offset_hours) * HOUR_MS


def day_of(number: int) -> date:
    """The date of a local day number."""
    return EPOCH + timedelta(days=int(number))


def iso(at: datetime | None) -> str | None:
    """A server stamp's value as ISO-8601 with its offset (SQLite's come back naive, in UTC)."""
    if at is None:
        return None
    return (at.astimezone(timezone.utc) if at.tzinfo else at.replace(tzinfo=timezone.utc)).isoformat()


def stored_text(moment: datetime) -> str:
    """A server-line time as the server stores it: UTC, fixed width, so that text order
    is time order (``as_of``, the SLA deadlines, a call time the server fills in)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")
