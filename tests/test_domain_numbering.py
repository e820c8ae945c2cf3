"""Complaint and ticket numbers tell the truth: the month a record was made on its device
(its clock corrected by the measured skew), not the month it synced; and no two records
share a number, however many tablets push at once (server/domain/numbering.py)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Callable

import pytest
import sqlalchemy as sa

from server.auth import add_device
from server.domain.numbering import NumberSeries
from server.tables import entity_table
from sync.client import Replica
from sync.transport import HttpTransport
from tests.conftest import http_client

HOUR = 3_600_000
DAY = 24 * HOUR
#: how long a wait for something that must happen may last before the test gives up
BOUND_S = 60.0


def server_row(engine, entity, row_id) -> dict:
    table = entity_table(entity)
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().one())


def at(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def test_a_job_made_on_30_november_synced_on_2_december_is_numbered_in_november(people, timeline, engine):
    timeline.now = at("2026-11-30T22:10:00+08:00")  # a late call on the last evening of November
    desk = timeline.device(people["desk"])
    wang = timeline.device(people["wang"], skew_ms=DAY)  # 王师傅's tablet runs a day fast: it says 1 December
    complaint = desk.insert("complaint", description="工程师未按约定时间到达，客户很不满意",
                            received_at="2026-11-30T22:10:00+08:00")  # the desk's tablet has no signal tonight
    job = wang.insert("ticket", status="on_site", channel="on_site", fault_description="冷库压缩机无法启动",
                      reported_at="2026-11-30T22:10:00+08:00")  # 上海市浦东新区, in a basement
    timeline.advance(2 * DAY)  # both reach the server on 2 December
    desk.sync()
    wang.sync()
    late_call = desk.insert("complaint", description="备件迟迟未到", received_at="2026-12-02T22:10:00+08:00")
    desk.sync()

    assert server_row(engine, "complaint", complaint)["number"] == "C2611-001"
    assert server_row(engine, "ticket", job)["number"] == "T2611-00001"
    assert server_row(engine, "ticket", job)["device_time"].strftime("%Y-%m-%d %H:%M") == "2026-11-30 14:10"
    assert server_row(engine, "complaint", late_call)["number"] == "C2612-001"
    assert desk.get("ticket", job)["number"] == "T2611-00001"  # the desk learns it by pull, to dispatch it


def test_two_tablets_pushing_complaints_at_once_get_distinct_numbers(people, app, engine, tmp_path):
    """Each round, both tablets push at the same moment (a barrier), each from its own
    thread and database connection: on PostgreSQL the two transactions truly overlap."""
    with engine.begin() as conn:
        second_tablet, token = add_device(conn, people["desk"].user_id, "客服部第二台平板", device_id="d-desk-2")
    tablets = [(people["desk"].device_id, people["desk"].token), (second_tablet, token)]
    rounds, each = 4, 3
    start = threading.Barrier(len(tablets))

    def tablet(device_id: str, token: str) -> list[str]:
        replica = Replica(tmp_path / f"{device_id}.replica", device_id, HttpTransport(http_client(app), token))
        made = []
        try:
            for round_ in range(rounds):
                made += [replica.insert("complaint", description=f"第{round_ + 1}轮投诉：维修后故障复发（{n}）")
                         for n in range(each)]
                start.wait(timeout=BOUND_S)
                replica.push()
        finally:
            replica.close()
        return made

    with ThreadPoolExecutor(len(tablets)) as pool:
        made = [row_id for f in [pool.submit(tablet, *t) for t in tablets] for row_id in f.result(timeout=BOUND_S)]

    numbers = sorted(server_row(engine, "complaint", row_id)["number"] for row_id in made)
    month = numbers[0][:5]  # this month's, all made now
    assert numbers == [f"{month}-{n:03d}" for n in range(1, rounds * each * len(tablets) + 1)]


# -- the month's counter row is locked until the push commits, on PostgreSQL -------------


@pytest.fixture
def pg_engine(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("two transactions numbering at once are a PostgreSQL matter: SQLite has one writer")
    return engine


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition``; the bound only stops a broken run from hanging."""
    deadline = time.monotonic() + BOUND_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {BOUND_S} s waiting until {what}")
        time.sleep(0.01)


def _blocked_by(engine: sa.Engine, pid: int) -> bool:
    with engine.connect() as conn:
        query = "SELECT count(*) FROM pg_stat_activity WHERE %(pid)s = ANY(pg_blocking_pids(pid))"
        return conn.exec_driver_sql(query, {"pid": pid}).scalar_one() > 0


@pytest.mark.postgres
def test_a_second_push_numbering_in_the_same_month_waits_for_the_first_and_takes_the_next_number(pg_engine):
    """No log claim here: the counter row's own lock keeps the numbers apart."""
    november = at("2026-11-20T10:00:00+08:00")
    with pg_engine.begin() as conn:  # November's counter row exists: only its lock can hold the second back
        earlier = NumberSeries(conn, 8)
        assert earlier.next("C", november) == "C2611-001"
        earlier.save()
    with pg_engine.connect() as first, ThreadPoolExecutor(1) as pool:
        first_pid = first.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        numbers = NumberSeries(first, 8)
        taken = numbers.next("C", november)

        def second() -> str:
            with pg_engine.begin() as conn:
                other = NumberSeries(conn, 8)
                number = other.next("C", november)
                other.save()
                return number

        waiting = pool.submit(second)
        _wait_until(lambda: waiting.done() or _blocked_by(pg_engine, first_pid), "the second push waits or is done")
        assert not waiting.done(), "the second push read the counter while the first held it"
        numbers.save()
        first.commit()
        assert (taken, waiting.result(timeout=BOUND_S)) == ("C2611-002", "C2611-003")


def test_each_series_counts_its_own_local_month_and_a_push_writes_back_the_counters_it_moved(engine):
    from server.tables import number_series

    last_of_november, first_of_december = at("2026-11-30T23:59:59.999+08:00"), at("2026-12-01T00:00:00+08:00")
    with engine.begin() as conn:
        numbers = NumberSeries(conn, 8)
        assert (numbers.period(last_of_november), numbers.period(first_of_december)) == ("2611", "2612")
        assert NumberSeries(conn, 0).period(first_of_december) == "2611"  # 16:00 on 30 November in London
        assert NumberSeries(conn, -10).period(at("2026-12-01T09:59:59+00:00")) == "2611"  # Honolulu
        taken = [numbers.next("T", last_of_november), numbers.next("C", last_of_november),
                 numbers.next("T", last_of_november), numbers.next("T", first_of_december)]
        assert taken == ["T2611-00001", "C2611-001", "T2611-00002", "T2612-00001"]
        numbers.save()
        assert numbers.next("C", last_of_november) == "C2611-002"  # the same push goes on after a save
        numbers.save()
    with engine.begin() as conn:
        stored = {(r.series, r.period): r.last for r in conn.execute(sa.select(number_series))}
        assert stored == {("T", "2611"): 2, ("C", "2611"): 2, ("T", "2612"): 1}
        later = NumberSeries(conn, 8)
        assert [later.next("C", last_of_november), later.next("T", first_of_december)] == ["C2611-003", "T2612-00002"]
        later.save()
    with engine.connect() as conn:
        stored = {(r.series, r.period): r.last for r in conn.execute(sa.select(number_series))}
    assert stored == {("T", "2611"): 2, ("C", "2611"): 3, ("T", "2612"): 2}


def test_a_job_made_at_one_in_the_beijing_morning_of_1_december_is_numbered_in_december_on_a_machine_set_to_new_york(
        machine_zone):
    """17:00 UTC on 30 November is 01:00 on 1 December in Beijing and noon on 30 November in
    New York: the number's month is the deployment's (UTC+8), whatever the machine's zone."""
    machine_zone("America/New_York")
    series = NumberSeries(conn=None, utc_offset_hours=8)  # a month's period reads no row
    assert series.period(int(datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc).timestamp() * 1000)) == "2612"
