"""Complaints past their deadline are escalated, once, to the millisecond (server/domain/complaints.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from server.domain.complaints import overdue
from server.tables import entity_table
from tests.conftest import Timeline, auth_header

DAY = 86_400_000
BEIJING = timezone(timedelta(hours=8))
UTC = timezone.utc


@pytest.fixture
def machine_in_shanghai(machine_zone):
    """The server's machine keeps local time in Shanghai: no rule may read it."""
    machine_zone("Asia/Shanghai")


def escalate(timeline: Timeline, person) -> list[str]:
    answer = timeline.app.test_client().post("/v1/office/complaints/escalate", headers=auth_header(person))
    assert answer.status_code == 200
    return answer.json["ids"]


def stored(engine, complaint_id: str) -> dict:
    table = entity_table("complaint")
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(table).where(table.c.id == complaint_id)).mappings().one())


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, BEIJING).isoformat(timespec="milliseconds")


def test_complaints_are_escalated_the_millisecond_after_their_13_or_17_days_once_and_never_when_resolved(
        timeline, people):
    engine = timeline.app.extensions["fieldsync"].engine
    desk = timeline.device(people["desk"])
    received = timeline.now
    late_call = desk.insert("complaint", description="工程师答应回电，十三天没有消息", status="open",
                            received_at=iso(received))
    abroad = desk.insert("complaint", description="新加坡分院：备件迟迟未到", status="open", abroad=True,
                         received_at=iso(received))
    settled = desk.insert("complaint", description="上门时态度生硬", status="resolved", received_at=iso(received))
    withdrawn = desk.insert("complaint", description="误报：设备已自行恢复", status="open", received_at=iso(received))
    desk.sync()
    desk.delete("complaint", withdrawn)
    desk.sync()
    assert datetime.fromisoformat(stored(engine, late_call)["deadline"]) == datetime.fromtimestamp(
        (received + 13 * DAY) / 1000, timezone.utc)
    timeline.advance(13 * DAY)
    assert escalate(timeline, people["manager"]) == []  # due this very millisecond: not yet past it
    timeline.advance(1)
    assert escalate(timeline, people["desk"]) == [late_call]
    assert escalate(timeline, people["manager"]) == []  # escalated once
    timeline.advance(4 * DAY)
    assert escalate(timeline, people["manager"]) == [abroad]
    desk.sync()
    assert (desk.get("complaint", late_call)["escalated"], desk.get("complaint", abroad)["escalated"]) == (True, True)
    assert not stored(engine, settled)["escalated"]
    assert not stored(engine, withdrawn)["escalated"]


def test_two_overdue_complaints_are_escalated_in_id_order(timeline, people):
    desk = timeline.device(people["desk"])
    made = [desk.insert("complaint", description=f"{n} 号投诉：维修后复发", status="open",
                        received_at=iso(timeline.now - 20 * DAY)) for n in range(5)]
    desk.sync()
    assert escalate(timeline, people["manager"]) == sorted(made)


def test_a_complaint_written_without_its_received_time_on_a_tablet_two_days_slow_counts_13_days_from_then(
        timeline, people, engine, machine_in_shanghai):
    """The desk's tablet runs two days slow and the clerk leaves the received time empty.
    The complaint was received when it was written, by the true clock: the server fills
    that in, in UTC, and the deadline is 13 days on from it — not from the tablet's clock,
    nor from the server machine's local time."""
    desk = timeline.device(people["desk"], skew_ms=-2 * DAY)
    complaint = desk.insert("complaint", description="维修后三天同一故障复发，客户要求更换整机", status="open")
    desk.sync()
    assert desk.parked() == []
    written = datetime.fromtimestamp(timeline.now / 1000, UTC)
    row = stored(engine, complaint)
    assert row["received_at"] == written.isoformat(timespec="microseconds")
    assert row["deadline"] == (written + timedelta(days=13)).isoformat()
    assert row["number"].startswith("C" + written.strftime("%y%m"))


def test_overdue_reads_a_time_without_an_offset_as_utc(app, engine, people, replica_for, machine_in_shanghai):
    desk = replica_for(people["desk"])
    complaint = desk.insert("complaint", description="发票开错抬头", status="open",
                            deadline="2026-11-23T08:00:00")
    desk.sync()
    table = entity_table("complaint")

    def is_overdue(now: datetime) -> bool:
        with engine.connect() as conn:
            found = conn.execute(sa.select(table.c.id).where(overdue(table, now))).scalars().all()
        return found == [complaint]

    # a naive "now" is UTC too: one millisecond either side of 08:00 UTC
    assert not is_overdue(datetime(2026, 11, 23, 8, 0))
    assert is_overdue(datetime(2026, 11, 23, 8, 0, 0, 1000))
    assert not is_overdue(datetime(2026, 11, 23, 15, 59, 59, 999000, tzinfo=BEIJING))
    assert is_overdue(datetime(2026, 11, 23, 16, 0, 0, 1000, tzinfo=BEIJING))


def test_a_deadline_given_as_a_date_alone_is_that_days_start_in_utc(app, engine, people, replica_for):
    desk = replica_for(people["desk"])
    complaint = desk.insert("complaint", description="维修报告上的签字不是客户本人", status="open",
                            deadline="2026-11-23")
    desk.sync()
    table = entity_table("complaint")

    def is_overdue(now: datetime) -> bool:
        with engine.connect() as conn:
            return conn.execute(sa.select(table.c.id).where(overdue(table, now))).scalars().all() == [complaint]

    assert not is_overdue(datetime(2026, 11, 23, 0, 0, tzinfo=UTC))
    assert is_overdue(datetime(2026, 11, 23, 0, 0, 0, 1000, tzinfo=UTC))


def test_a_server_in_shanghai_escalates_by_the_instant_not_by_its_local_clock(timeline, people, machine_in_shanghai):
    desk = timeline.device(people["desk"])
    due_soon = desk.insert("complaint", description="保修期内同一故障第三次", status="open",
                           received_at=iso(timeline.now - 13 * DAY + 60 * 60 * 1000))  # due in an hour
    desk.sync()
    assert escalate(timeline, people["manager"]) == []
    timeline.advance(60 * 60 * 1000 + 1)
    assert escalate(timeline, people["manager"]) == [due_soon]
