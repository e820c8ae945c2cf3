"""Repeat repairs are read from the next report after each completion, which the database
keeps in ``ticket_facts`` (:mod:`server.reports.ticket_facts`,
:meth:`server.reports.quality.Context.finished_repeats`); these checks hold it to the
rule as written — another live, not cancelled ticket reported for the same equipment
after the completion and no later than the window's end — on tickets made up by a
seeded generator, with the edges placed on purpose: a report at the completion's very
instant (not after it), one at the window's last instant (in it), the ticket's own
report written after its completion (not a repeat of itself), times written as a day
alone, without an offset, with one, or not at all (the row's device time then)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from server.domain.config import DomainConfig
from server.reports.filters import Filters
from server.reports.quality import Context
from server.tables import entity_table

TICKETS = entity_table("ticket")
OFFSET = 8
LOCAL = timezone(timedelta(hours=OFFSET))
DAY_MS = 86_400_000
WINDOW_MS = 30 * DAY_MS
BASE = datetime(2026, 11, 1, tzinfo=LOCAL)
NOW = datetime(2026, 12, 20, tzinfo=timezone.utc)


def _write(ms: int, rng: random.Random) -> str:
    """An instant as a device might write it: with an offset, as UTC, or as Z."""
    moment = datetime.fromtimestamp(ms / 1000, timezone.utc)
    form = rng.choice(["local", "naive", "z"])
    if form == "local":
        return moment.astimezone(LOCAL).isoformat()
    if form == "naive":
        return moment.replace(tzinfo=None).isoformat()
    return moment.isoformat().replace("+00:00", "Z")


def _tickets(rng: random.Random) -> list[dict]:
    rows = []
    for k in range(160):
        equipment = rng.choice(["打印机-1", "打印机-2", "复印机-3", "印刷机-4", None])
        reported = int(BASE.timestamp() * 1000) + rng.randrange(0, 40 * DAY_MS)
        done = reported + rng.choice([-3_600_000, 0, 2 * 3_600_000, 3 * DAY_MS])  # a clock behind, too
        rows.append({"id": f"t-{k:03d}", "equipment_id": equipment, "reported": reported, "done": done,
                     "status": rng.choice(["completed", "signed", "closed", "cancelled", "dispatched"]),
                     "deleted": rng.random() < 0.05, "category": rng.choice(["A", "B", "C", "D"]),
                     "text": rng.random() < 0.9})
    # the edges, on purpose, each on a machine of its own
    start = int(BASE.timestamp() * 1000) + 5 * DAY_MS
    finished = {"status": "completed", "deleted": False, "category": "A", "text": True, "reported": start,
                "done": start + 2 * 3_600_000}
    waiting = {"status": "dispatched", "deleted": False, "category": "A", "text": True}
    rows[0] |= finished | {"equipment_id": "同一时刻"}
    rows[1] |= waiting | {"equipment_id": "同一时刻", "reported": rows[0]["done"]}
    rows[2] |= finished | {"equipment_id": "窗口末尾"}
    rows[3] |= waiting | {"equipment_id": "窗口末尾", "reported": rows[2]["done"] + WINDOW_MS}
    rows[4] |= finished | {"equipment_id": "自己的报修", "reported": finished["done"] + DAY_MS}
    return rows


def _expected(rows: list[dict], first: date, last: date) -> dict[str, int]:
    low = int(datetime(first.year, first.month, first.day, tzinfo=LOCAL).timestamp() * 1000)
    high = int(datetime(last.year, last.month, last.day, tzinfo=LOCAL).timestamp() * 1000) + DAY_MS
    out = {}
    for t in rows:
        if t["deleted"] or t["status"] not in ("completed", "signed", "closed") or t["category"] == "D":
            continue
        if not low <= t["done"] < high:
            continue
        out[t["id"]] = int(t["equipment_id"] is not None and any(
            o["id"] != t["id"] and o["equipment_id"] == t["equipment_id"] and not o["deleted"]
            and o["status"] != "cancelled" and t["done"] < o["reported"] <= t["done"] + WINDOW_MS for o in rows))
    return out


def test_repeat_repairs_in_one_pass_are_the_rule_as_written_for_every_ticket(engine):
    rng = random.Random(18)
    rows = _tickets(rng)
    stamp = datetime(2026, 11, 1, tzinfo=timezone.utc)
    with engine.begin() as conn:
        for t in rows:
            _insert(conn, t, rng, stamp)
    config = DomainConfig()
    for first, last in ((date(2026, 11, 1), date(2026, 11, 30)), (date(2026, 11, 10), date(2026, 11, 12))):
        filters = Filters(date_from=first, date_to=last, now_ms=int(NOW.timestamp() * 1000))
        finished = Context(filters, config).finished_repeats()
        with engine.connect() as conn:
            found = {r.id: r.repeat for r in conn.execute(sa.select(finished.c.id, finished.c.repeat))}
        expected = _expected(rows, first, last)
        assert found == expected
    whole = _expected(rows, date(2026, 11, 1), date(2026, 11, 30))
    assert (whole["t-000"], whole["t-002"], whole["t-004"]) == (0, 1, 0)
    assert 0 < sum(whole.values()) < len(whole)


def _insert(conn, t: dict, rng: random.Random, stamp: datetime) -> None:
    conn.execute(TICKETS.insert().values(
        id=t["id"], equipment_id=t["equipment_id"], status=t["status"], category=t["category"],
        fault_description="复印机卡纸，出纸有折痕", deleted=t["deleted"], version=1, clock="{}",
        reported_at=_write(t["reported"], rng) if t["text"] else None,
        completed_at=_write(t["done"], rng) if t["text"] else None,
        device_time=datetime.fromtimestamp(t["reported"] / 1000, timezone.utc),
        created_at=stamp, updated_at=datetime.fromtimestamp(t["done"] / 1000, timezone.utc)))


def _found(engine, first: date, last: date) -> dict[str, int]:
    filters = Filters(date_from=first, date_to=last, now_ms=int(NOW.timestamp() * 1000))
    finished = Context(filters, DomainConfig()).finished_repeats()
    with engine.connect() as conn:
        return {r.id: r.repeat for r in conn.execute(sa.select(finished.c.id, finished.c.repeat))}


def test_tickets_moved_cancelled_deleted_and_completed_again_after_they_were_stored_count_as_the_rows_read_now(engine):
    """The next report is kept by triggers as the rows change, in whatever order: a
    ticket moved to another machine, a report cancelled or deleted, a completion moved
    past a report, a ticket deleted outright — each change on its own transaction, as
    pushes arriving one by one would make them."""
    rng = random.Random(1815)
    rows = _tickets(rng)
    stamp = datetime(2026, 11, 1, tzinfo=timezone.utc)
    for t in rng.sample(rows, len(rows)):  # stored in an order that is not the tickets' own
        with engine.begin() as conn:
            _insert(conn, t, rng, stamp)
    machines = ["打印机-1", "打印机-2", "复印机-3", "印刷机-4", None]
    for step in range(120):
        t = rng.choice(rows)
        change = rng.choice(["machine", "cancel", "delete", "complete", "report", "gone"])
        values: dict = {}
        if change == "machine":
            t["equipment_id"] = values["equipment_id"] = rng.choice(machines)
        elif change == "cancel":
            t["status"] = values["status"] = rng.choice(["cancelled", "completed"])
        elif change == "delete":
            t["deleted"] = values["deleted"] = not t["deleted"]
        elif change in ("complete", "report"):
            key, field = ("done", "completed_at") if change == "complete" else ("reported", "reported_at")
            t[key] += rng.choice([-2 * DAY_MS, 3_600_000, 5 * DAY_MS])
            t["text"] = True
            values[field] = _write(t[key], rng)
            if change == "complete":
                values["updated_at"] = datetime.fromtimestamp(t["done"] / 1000, timezone.utc)
            else:
                values["device_time"] = datetime.fromtimestamp(t["reported"] / 1000, timezone.utc)
        with engine.begin() as conn:
            if change == "gone":
                conn.execute(TICKETS.delete().where(TICKETS.c.id == t["id"]))
                rows.remove(t)
            else:
                if not t["text"]:  # the untouched time fields stay empty: the stamps move with them
                    values.setdefault("updated_at", datetime.fromtimestamp(t["done"] / 1000, timezone.utc))
                    values.setdefault("device_time", datetime.fromtimestamp(t["reported"] / 1000, timezone.utc))
                if change in ("complete", "report") and "completed_at" not in values:
                    values["completed_at"] = _write(t["done"], rng)
                if change in ("complete", "report") and "reported_at" not in values:
                    values["reported_at"] = _write(t["reported"], rng)
                conn.execute(TICKETS.update().where(TICKETS.c.id == t["id"]).values(**values))
    for first, last in ((date(2026, 10, 1), date(2026, 12, 31)), (date(2026, 11, 10), date(2026, 11, 20))):
        assert _found(engine, first, last) == _expected(rows, first, last)
    assert 0 < sum(_expected(rows, date(2026, 10, 1), date(2026, 12, 31)).values())


def test_arrivals_logged_before_the_ticket_reached_the_server_and_withdrawn_after_are_counted_as_they_stand(engine):
    """First-time fix reads the live arrivals ``ticket_facts`` counts: an arrival stored
    before its ticket (an engineer's log that arrived first), a second one making the fix
    not first-time, one deleted again, one whose event is corrected to departure."""
    logs, facts = entity_table("work_log"), sa.table("ticket_facts", sa.column("id"), sa.column("arrivals"))
    stamp = datetime(2026, 11, 3, 9, tzinfo=timezone.utc)

    def log(conn, log_id: str, ticket: str, event: str = "arrived") -> None:
        conn.execute(logs.insert().values(id=log_id, ticket_id=ticket, event=event, at="2026-11-03T09:00:00+08:00",
                                          note="到达客户现场：北京市海淀区中关村大街1号", deleted=False, version=1,
                                          clock="{}", created_at=stamp, updated_at=stamp))

    def arrivals(ticket: str) -> int:
        with engine.connect() as conn:
            return conn.execute(sa.select(facts.c.arrivals).where(facts.c.id == ticket)).scalar_one()

    rng = random.Random(3)
    with engine.begin() as conn:
        log(conn, "w-1", "t-到达")  # before its ticket
        _insert(conn, {"id": "t-到达", "equipment_id": "打印机-9", "status": "completed", "category": "A",
                       "deleted": False, "text": True, "reported": int(stamp.timestamp() * 1000),
                       "done": int(stamp.timestamp() * 1000) + 3_600_000}, rng, stamp)
    assert arrivals("t-到达") == 1
    with engine.begin() as conn:
        log(conn, "w-2", "t-到达")
        log(conn, "w-3", "t-到达", event="departed")
    assert arrivals("t-到达") == 2
    with engine.begin() as conn:
        conn.execute(logs.update().where(logs.c.id == "w-2").values(deleted=True))
    assert arrivals("t-到达") == 1
    with engine.begin() as conn:
        conn.execute(logs.update().where(logs.c.id == "w-3").values(event="arrived"))
        conn.execute(logs.delete().where(logs.c.id == "w-1"))
    assert arrivals("t-到达") == 1


def test_a_report_written_as_a_day_alone_counts_from_the_start_of_the_deployments_local_day(engine):
    """A report written as ``2026-11-06`` starts at local midnight: at +8 that is 16:00 UTC
    the day before, before a completion at 20:00 UTC on the 5th (not a repeat of it); read
    at +0 it is after it (a repeat). The database reads a date alone at the offset
    ``report_clock`` holds, and the first report after the deployment's offset changed
    works every ticket out again."""
    from server.reports.ticket_facts import agree_offset

    stamp = datetime(2026, 11, 1, tzinfo=timezone.utc)
    with engine.begin() as conn:
        conn.execute(TICKETS.insert().values(
            id="t-修好", equipment_id="冷柜-7", status="completed", category="A", deleted=False, version=1,
            clock="{}", reported_at="2026-11-05T10:00:00Z", completed_at="2026-11-05T20:00:00Z",
            fault_description="冷柜不制冷", created_at=stamp, updated_at=stamp))
        conn.execute(TICKETS.insert().values(
            id="t-又坏", equipment_id="冷柜-7", status="dispatched", category="A", deleted=False, version=1,
            clock="{}", reported_at="2026-11-06", fault_description="冷柜又不制冷了", created_at=stamp,
            updated_at=stamp))
    month = (date(2026, 11, 1), date(2026, 11, 30))
    for offset, repeat in ((8, 0), (0, 1), (8, 0)):
        agree_offset(engine, offset)
        filters = Filters(date_from=month[0], date_to=month[1], now_ms=int(NOW.timestamp() * 1000))
        finished = Context(filters, DomainConfig(local_utc_offset_hours=offset)).finished_repeats()
        with engine.connect() as conn:
            assert dict(conn.execute(sa.select(finished.c.id, finished.c.repeat)).all()) == {"t-修好": repeat}
