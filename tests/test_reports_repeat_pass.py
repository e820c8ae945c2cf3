"""Repeat repairs are counted in one pass over a time line per piece of equipment
(:meth:`server.reports.quality.Context.finished_repeats`); these checks hold it to the
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
            conn.execute(TICKETS.insert().values(
                id=t["id"], equipment_id=t["equipment_id"], status=t["status"], category=t["category"],
                fault_description="定影器卡纸，打印有黑线", deleted=t["deleted"], version=1, clock="{}",
                reported_at=_write(t["reported"], rng) if t["text"] else None,
                completed_at=_write(t["done"], rng) if t["text"] else None,
                device_time=datetime.fromtimestamp(t["reported"] / 1000, timezone.utc),
                created_at=stamp, updated_at=datetime.fromtimestamp(t["done"] / 1000, timezone.utc)))
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
