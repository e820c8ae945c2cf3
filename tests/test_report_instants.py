"""The instant kept beside each time field the big reports read (``<field>_ms``, migration
0016_report_instants): the database fills it in the write that stores the field, whatever
the path, and the reports' time read from it is what parsing the text gave."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from server.domain.moments import INSTANTS, RECEIPT_LAGS, epoch_ms, instant_column, moment, receipt_lag, \
    stamp_ms, stored_moment
from server.tables import entity_table
from tests.conftest import Timeline
from tests.reports_world import HOUR, at, bj, open_ticket, set_clock

BEIJING_HOURS = 8
#: a time field as devices write it: an offset, Z, no offset (read as UTC), a date alone,
#: fractions of a second, an offset west of Greenwich
WRITTEN = ("2026-11-23T11:00:00+08:00", "2026-11-23T03:00:00Z", "2026-11-23T08:30", "2026-11-23",
           "2026-11-23T08:30:00.123456+05:30", "2026-11-22T21:15:00-05:00")


@pytest.fixture
def world(app_factory, replica_for) -> Timeline:
    """Beijing, Monday 23 November 2026, eight in the morning."""
    made = Timeline(replica_for, at("2026-11-23 08:00"))
    made.app = app_factory(CLOCK_MS=lambda: made.now)
    return made


def stored_against_parsed(world: Timeline) -> list[tuple]:
    """Every row's stored instants beside what the reports computed from the text before:
    ``(table, id, field, text, stored, parsed, stored moment, parsed moment)``."""
    engine = world.app.extensions["fieldsync"].engine
    found = []
    with engine.connect() as conn:
        for name, fields in INSTANTS.items():
            table = entity_table(name)
            for field in fields:
                query = sa.select(
                    table.c.id, table.c[field], table.c[instant_column(field)], epoch_ms(table.c[field], 0),
                    stored_moment(table, field, table.c.device_time, BEIJING_HOURS),
                    moment(table.c[field], table.c.device_time, BEIJING_HOURS))
                found += [(name, row_id, field, *values) for row_id, *values in conn.execute(query)]
    return found


def assert_same(found: list[tuple]) -> None:
    for name, row_id, field, text, stored, parsed, stored_moment_, parsed_moment in found:
        assert (stored, stored_moment_) == (parsed, parsed_moment), (name, row_id, field, text)


def write_every_way(world: Timeline, people) -> None:
    """王伟 logs work and fits a fuse at each time of :data:`WRITTEN`, and a note without a
    time, offline from 08:00; synced at 12:00."""
    desk, wang = world.device(people["desk"]), world.device(people["wang"])
    van = desk.insert("stock_location", kind="van", name="王伟的服务车", depot_id="depot-main", engineer_id="u-wang")
    fuse = desk.insert("part", code="FUS-10", name="保险丝 10A", unit="个", returnable=False, price=2.0)
    desk.sync()
    tickets = [open_ticket(desk, people["wang"], customer=f"华信印刷厂{n}号车间", reported_at=written)["ticket"]
               for n, written in enumerate(WRITTEN)]
    wang.sync()
    for ticket, written in zip(tickets, WRITTEN):
        wang.insert("work_log", ticket_id=ticket, engineer_id="u-wang", event="work_ended", at=written, category="A",
                    hours=1.0, note="更换传动皮带")
        wang.insert("stock_movement", kind="consume", part_id=fuse, qty=1.0, condition="new", from_location_id=van,
                    ticket_id=ticket, held_by="u-wang", occurred_at=written)
    wang.insert("work_log", ticket_id=tickets[0], engineer_id="u-wang", event="note", note="没有时间的记录")
    set_clock(world, "2026-11-23 12:00")
    wang.sync()


def test_every_way_a_device_writes_a_time_is_stored_as_the_instant_the_reports_read_from_the_text(world, people):
    write_every_way(world, people)
    found = stored_against_parsed(world)
    texts = {(name, field): {text for n, _, f, text, *_ in found if (n, f) == (name, field)}
             for name, fields in INSTANTS.items() for field in fields}
    assert texts[("ticket", "reported_at")] == set(WRITTEN)
    assert texts[("work_log", "at")] == {*WRITTEN, None}  # the note without a time: its device time
    assert texts[("stock_movement", "occurred_at")] == set(WRITTEN)
    assert_same(found)
    by_text = {text: stored for name, _, field, text, stored, *_ in found if (name, field) == ("work_log", "at")}
    assert by_text["2026-11-23T11:00:00+08:00"] == by_text["2026-11-23T03:00:00Z"] == at("2026-11-23 11:00")
    assert by_text["2026-11-23"] == at("2026-11-23 08:00")  # UTC midnight; a report moves it to its local day
    assert by_text["2026-11-23T08:30:00.123456+05:30"] == at("2026-11-23 11:00") + 123
    assert by_text[None] is None


def test_a_time_changed_after_the_row_was_stored_moves_its_instant_and_a_cleared_one_empties_it(world, people):
    desk, wang = world.device(people["desk"]), world.device(people["wang"])
    ticket = open_ticket(desk, people["wang"], reported="2026-11-23 07:40")["ticket"]
    wang.sync()
    wang.update("ticket", ticket, status="on_site", arrived_at=bj("2026-11-23 09:40"))
    wang.update("ticket", ticket, diagnosis="传动皮带磨损", actions="更换传动皮带", result="试机正常")
    wang.update("ticket", ticket, status="completed", completed_at=bj("2026-11-23 11:05"))
    wang.sync()
    desk.sync()
    desk.update("ticket", ticket, reported_at=bj("2026-11-23 07:10"))  # the call came in earlier than typed
    desk.sync()
    found = {(name, row_id, field): (text, stored) for name, row_id, field, text, stored, *_ in
             stored_against_parsed(world)}
    assert found[("ticket", ticket, "reported_at")] == (bj("2026-11-23 07:10"), at("2026-11-23 07:10"))
    assert found[("ticket", ticket, "completed_at")] == (bj("2026-11-23 11:05"), at("2026-11-23 11:05"))

    desk.update("ticket", ticket, reported_at=None)  # cleared: the report reads the row's device time
    desk.sync()
    found = {(name, row_id, field): (text, stored) for name, row_id, field, text, stored, *_ in
             stored_against_parsed(world)}
    assert found[("ticket", ticket, "reported_at")] == (None, None)
    assert_same(stored_against_parsed(world))


def test_a_late_record_from_an_offline_phone_whose_clock_runs_three_hours_fast_keeps_the_time_it_wrote(
        world, people):
    desk = world.device(people["desk"])
    chen = world.device(people["chen"], skew_ms=3 * 3_600_000)
    boiler = open_ticket(desk, people["chen"], category="C", customer="北京朝阳某小学")["ticket"]
    chen.sync()
    # offline in the mountains on Wednesday; synced on Friday morning
    set_clock(world, "2026-11-25 16:00")
    log = chen.insert("work_log", ticket_id=boiler, engineer_id="u-chen", event="work_ended",
                      at="2026-11-25T15:00:00+08:00", category="C", hours=3.0, note="更换点火器")
    timeless = chen.insert("work_log", ticket_id=boiler, engineer_id="u-chen", event="note", note="锅炉房无信号")
    set_clock(world, "2026-11-27 10:00")
    chen.sync()

    found = {(row_id, field): (text, stored, moment_) for name, row_id, field, text, stored, _, moment_, _ in
             stored_against_parsed(world) if name == "work_log"}
    assert found[(log, "at")] == ("2026-11-25T15:00:00+08:00", at("2026-11-25 15:00"), at("2026-11-25 15:00"))
    # no time written: the row's device time, the phone's clock corrected by its measured skew
    assert found[(timeless, "at")] == (None, None, at("2026-11-25 16:00"))
    assert_same(stored_against_parsed(world))


def test_the_stored_receipt_lag_is_the_stamp_minus_the_time_as_read_from_the_text_or_the_device_time(world, people):
    """The appraisal's late days find their records by ``receipt_lag_ms`` (migration
    0020_late_records): it must be, to the ms, the receipt stamp minus what the reports
    read (a date alone at UTC midnight), else minus the device time."""
    write_every_way(world, people)
    engine = world.app.extensions["fieldsync"].engine
    with engine.connect() as conn:
        for name, field in RECEIPT_LAGS.items():
            table = entity_table(name)
            read = stamp_ms(table.c.created_at) - moment(table.c[field], table.c.device_time, 0)
            lags = conn.execute(sa.select(table.c[field], receipt_lag(table), read)).all()
            assert {text for text, *_ in lags} >= set(WRITTEN)
            assert [(text, stored) for text, stored, _ in lags] == [(text, computed) for text, _, computed in lags]
            by_text = {text: stored for text, stored, _ in lags}
            assert by_text["2026-11-23T11:00:00+08:00"] == HOUR  # written at 11:00 Beijing, received at 12:00
            assert by_text["2026-11-23"] == 4 * HOUR  # from UTC midnight, 08:00 Beijing
            if name == "work_log":
                assert by_text[None] == 4 * HOUR  # the note without a time: from its device time, 08:00
