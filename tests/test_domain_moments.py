"""Time fields and server stamps as instants in SQL (``server.domain.moments``), asked of
the database itself: a Beijing deployment (UTC+8) reading what 王伟's phone wrote."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from server.db import make_engine
from server.domain.moments import day_number, day_of, day_start_ms, epoch_ms, iso, moment, stamp_ms, \
    stored_epoch_ms, stored_moment

BEIJING_HOURS = 8
HOUR = 3_600_000


def utc_ms(text: str) -> int:
    """``YYYY-MM-DD HH:MM[:SS.fff]`` in UTC as ms since the epoch."""
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp() * 1000)


@pytest.fixture
def conn(database_url):
    """A connection to the test's database, with a temporary table of 王伟's work logs:
    the time field ``at`` as written, its stored instant ``at_ms`` and the device time."""
    engine = make_engine(database_url)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def read(conn, *expressions) -> tuple:
    return tuple(conn.execute(sa.select(*expressions)).one())


def text(value: str | None):
    return sa.cast(sa.literal(value, sa.String(40)), sa.String(40))


def work_logs(conn) -> sa.Table:
    """王伟's work logs as the server keeps them: ``(id, at, at_ms, device_time)``, the
    instant as migration 0016 stores it (a date alone at UTC midnight)."""
    table = sa.Table("moments_work_log", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("at", sa.String(40)), sa.Column("at_ms", sa.BigInteger),
                     sa.Column("device_time", sa.DateTime(timezone=True)), prefixes=["TEMPORARY"])
    table.create(conn)
    device = datetime(2026, 11, 23, 1, 30, tzinfo=timezone.utc)  # 09:30 in Beijing
    conn.execute(table.insert(), [
        {"id": 1, "at": "2026-11-23", "at_ms": utc_ms("2026-11-23 00:00"), "device_time": device},
        {"id": 2, "at": "2026-11-23T11:00:00+08:00", "at_ms": utc_ms("2026-11-23 03:00"), "device_time": device},
        {"id": 3, "at": "2026-11-23T08:30", "at_ms": utc_ms("2026-11-23 08:30"), "device_time": device},
        {"id": 4, "at": None, "at_ms": None, "device_time": device},
        {"id": 5, "at": None, "at_ms": None, "device_time": None},
    ])
    return table


def test_a_date_alone_is_the_start_of_its_beijing_day_and_a_time_with_an_offset_ignores_the_deployments(conn):
    assert read(conn, epoch_ms(text("2026-11-23"), BEIJING_HOURS), epoch_ms(text("2026-11-23"), 0),
                epoch_ms(text("2026-11-23"), -5),
                epoch_ms(text("2026-11-23T11:00:00+08:00"), BEIJING_HOURS),
                epoch_ms(text("2026-11-23T03:00:00Z"), BEIJING_HOURS),
                epoch_ms(text("2026-11-23T08:30"), BEIJING_HOURS),
                epoch_ms(text("2026-11-23T08:30:00.123456+05:30"), BEIJING_HOURS),
                epoch_ms(text(None), BEIJING_HOURS)) == (
        utc_ms("2026-11-22 16:00"), utc_ms("2026-11-23 00:00"), utc_ms("2026-11-23 05:00"),
        utc_ms("2026-11-23 03:00"), utc_ms("2026-11-23 03:00"), utc_ms("2026-11-23 08:30"),
        utc_ms("2026-11-23 03:00:00.123"), None)


def test_a_work_log_read_from_its_stored_instant_is_where_its_text_says_else_at_its_device_time(conn):
    logs = work_logs(conn)
    at, device_time = logs.c.at, logs.c.device_time
    found = conn.execute(sa.select(
        logs.c.id, stored_epoch_ms(logs, "at", BEIJING_HOURS), stored_moment(logs, "at", device_time, BEIJING_HOURS),
        moment(at, device_time, BEIJING_HOURS), stored_epoch_ms(logs, "at", 0), moment(at, device_time, 0),
        stamp_ms(device_time)).order_by(logs.c.id)).all()
    device = utc_ms("2026-11-23 01:30")
    assert [tuple(row) for row in found] == [
        (1, utc_ms("2026-11-22 16:00"), utc_ms("2026-11-22 16:00"), utc_ms("2026-11-22 16:00"),
         utc_ms("2026-11-23 00:00"), utc_ms("2026-11-23 00:00"), device),
        (2, utc_ms("2026-11-23 03:00"), utc_ms("2026-11-23 03:00"), utc_ms("2026-11-23 03:00"),
         utc_ms("2026-11-23 03:00"), utc_ms("2026-11-23 03:00"), device),
        (3, utc_ms("2026-11-23 08:30"), utc_ms("2026-11-23 08:30"), utc_ms("2026-11-23 08:30"),
         utc_ms("2026-11-23 08:30"), utc_ms("2026-11-23 08:30"), device),
        (4, None, device, device, None, device, device),
        (5, None, None, None, None, None, None),
    ]


@pytest.mark.parametrize(("instant", "beijing_day", "utc_day"), [
    pytest.param("2026-11-22 15:59:59.999", date(2026, 11, 22), date(2026, 11, 22), id="23:59:59.999 in Beijing"),
    pytest.param("2026-11-22 16:00", date(2026, 11, 23), date(2026, 11, 22), id="midnight in Beijing"),
    pytest.param("2026-11-23 00:00", date(2026, 11, 23), date(2026, 11, 23), id="08:00 in Beijing, midnight UTC"),
    pytest.param("1970-01-02 00:00", date(1970, 1, 2), date(1970, 1, 2), id="the first day a report filters on"),
])
def test_an_instant_falls_on_its_beijing_day_which_starts_eight_hours_before_utcs(conn, instant, beijing_day,
                                                                                   utc_day):
    ms = sa.literal(utc_ms(instant), sa.BigInteger)
    numbers = read(conn, day_number(ms, BEIJING_HOURS), day_number(ms, 0))
    assert numbers == ((beijing_day - date(1970, 1, 1)).days, (utc_day - date(1970, 1, 1)).days)
    assert (day_of(numbers[0]), day_of(numbers[1])) == (beijing_day, utc_day)
    assert day_start_ms(beijing_day, BEIJING_HOURS) <= utc_ms(instant) < day_start_ms(
        beijing_day + timedelta(days=1), BEIJING_HOURS)


def test_a_beijing_day_starts_at_four_in_the_afternoon_utc_the_day_before():
    assert (day_start_ms(date(2026, 11, 23), BEIJING_HOURS), day_start_ms(date(2026, 11, 23), 0),
            day_start_ms(date(1970, 1, 2), BEIJING_HOURS)) == (
        utc_ms("2026-11-22 16:00"), utc_ms("2026-11-23 00:00"), utc_ms("1970-01-01 16:00"))
    assert (day_of(0), day_of(20_415), day_of(20_415.0)) == (date(1970, 1, 1), date(2025, 11, 23), date(2025, 11, 23))


@pytest.mark.parametrize(("stamp", "shown"), [
    pytest.param(None, None, id="no stamp"),
    pytest.param(datetime(2026, 11, 23, 3, 0, 0, 123000), "2026-11-23T03:00:00.123000+00:00",
                 id="SQLite's, naive in UTC"),
    pytest.param(datetime(2026, 11, 23, 11, 0, tzinfo=timezone(timedelta(hours=8))), "2026-11-23T03:00:00+00:00",
                 id="PostgreSQL's in a server set to Asia/Shanghai"),
])
def test_a_server_stamp_is_shown_in_utc_with_its_offset_whichever_database_kept_it_whatever_the_machines_zone(
        machine_zone, stamp, shown):
    assert iso(stamp) == shown
    machine_zone("America/New_York")  # the server's machine on New York time
    assert iso(stamp) == shown
