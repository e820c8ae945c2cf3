"""The stored stock balance (migration 0014) is the sum of the live movements after any
write: a movement recorded, corrected (quantity, shelf, part, condition), deleted by a
device (``deleted``), restored, or removed outright — whatever wrote it.

Each step below writes ``stock_movement`` as a bare row, not through a push, so what is
proved is the database's own rule; the reports' tests prove the push path gives the
figures the office expects."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from server.domain import stock
from server.tables import entity_table

MOVES = entity_table("stock_movement")
SHELVES = ["仓库-北京-1", "van-王伟", "van-陈静", None]
PARTS = ["定影器", "硒鼓", "传动皮带", None]
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def _summed(conn: sa.Connection) -> dict[tuple, float]:
    """The ledger the slow way: every live movement added to its bins."""
    bins: dict[tuple, float] = defaultdict(float)
    for row in conn.execute(sa.select(MOVES).where(MOVES.c.deleted.is_(False))):
        for location, sign in ((row.to_location_id, 1), (row.from_location_id, -1)):
            if location is not None:
                bins[(location, row.part_id, row.condition or "new")] += sign * (row.qty or 0)
    return dict(bins)


def _kept(conn: sa.Connection) -> dict[tuple, float]:
    return {(lv["location_id"], lv["part_id"], lv["condition"]): lv["qty"] for lv in stock.levels(conn)}


def _movement(k: int, rng: random.Random) -> dict:
    source, target = rng.sample(SHELVES, 2)
    return {"id": f"m-{k:04d}", "kind": rng.choice(["receive", "issue", "consume", "transfer"]),
            "part_id": rng.choice(PARTS), "qty": rng.choice([1.0, 2.0, 0.5, 3.0, None]),
            "condition": rng.choice(["new", "old", None]), "from_location_id": source, "to_location_id": target,
            "note": "换下的旧定影器", "version": 1, "deleted": False, "clock": "{}", "created_at": NOW,
            "updated_at": NOW}


def _step(conn: sa.Connection, rng: random.Random, made: list[str], k: int) -> None:
    what = rng.choice(["insert", "insert", "qty", "shelf", "part", "condition", "delete", "restore", "remove", "note"])
    if what == "insert" or not made:
        row = _movement(k, rng)
        conn.execute(MOVES.insert().values(**row))
        made.append(row["id"])
        return
    target = rng.choice(made)
    change = {
        "qty": {"qty": rng.choice([4.0, 1.5, None])},
        "shelf": {"to_location_id": rng.choice(SHELVES)},
        "part": {"part_id": rng.choice(PARTS)},
        "condition": {"condition": rng.choice(["new", "old", None])},
        "delete": {"deleted": True},
        "restore": {"deleted": False},
        "note": {"note": "备注改了，数量没变"},
    }.get(what)
    if change is None:  # removed outright
        conn.execute(MOVES.delete().where(MOVES.c.id == target))
        made.remove(target)
    else:
        conn.execute(MOVES.update().where(MOVES.c.id == target).values(**change))


def test_the_kept_balance_is_the_sum_of_the_live_movements_after_every_kind_of_write(engine):
    rng = random.Random(14)
    made: list[str] = []
    for k in range(300):
        with engine.begin() as conn:
            _step(conn, rng, made, k)
        if k % 20 == 19:
            with engine.connect() as conn:
                summed, kept = _summed(conn), _kept(conn)
            assert kept.keys() == summed.keys()
            for key, qty in summed.items():
                assert abs(kept[key] - qty) < 1e-9, key


def test_a_movement_taken_back_by_a_rolled_back_write_leaves_the_balance_as_it_was(engine):
    with engine.begin() as conn:
        conn.execute(MOVES.insert().values(**_movement(1, random.Random(1)) | {
            "from_location_id": "仓库-北京-1", "to_location_id": "van-王伟", "part_id": "定影器", "qty": 2.0,
            "condition": "new"}))
    with engine.connect() as conn:
        before = _kept(conn)
        conn.execute(MOVES.update().where(MOVES.c.id == "m-0001").values(qty=5.0))
        assert _kept(conn)[("van-王伟", "定影器", "new")] == 5.0
        conn.rollback()
    with engine.connect() as conn:
        assert _kept(conn) == before == {("van-王伟", "定影器", "new"): 2.0, ("仓库-北京-1", "定影器", "new"): -2.0}


def test_a_bin_whose_every_movement_is_deleted_is_no_longer_listed(engine):
    with engine.begin() as conn:
        conn.execute(MOVES.insert().values(**_movement(1, random.Random(1)) | {
            "from_location_id": None, "to_location_id": "van-陈静", "part_id": "硒鼓", "qty": 1.0}))
        assert ("van-陈静", "硒鼓", "new") in _kept(conn) or ("van-陈静", "硒鼓", "old") in _kept(conn)
        conn.execute(MOVES.update().where(MOVES.c.id == "m-0001").values(deleted=True))
        assert _kept(conn) == {}


def test_old_parts_still_out_are_listed_oldest_first_with_their_age_on_the_servers_clock_a_page_at_a_time(engine):
    # server/domain/stock.py's other list: returns expected or collected, not yet received
    returns = entity_table("old_part_return")
    day = lambda n: datetime(2026, 11, n, 9, 0, tzinfo=timezone.utc)  # noqa: E731

    def back(row_id: str, status: str, created: datetime, depot: str = "仓库-北京-1", **more) -> dict:
        return {"id": row_id, "ticket_id": "t-华信印刷厂", "part_id": "传动皮带", "qty": 1.0, "engineer_id": "u-wang",
                "depot_location_id": depot, "status": status, "version": 1, "deleted": False, "clock": "{}",
                "created_at": created, "updated_at": created, **more}

    with engine.begin() as conn:
        for row in (back("r-collected", "collected", day(20) + timedelta(hours=5)),
                    back("r-expected", "expected", day(18)),
                    back("r-received", "received", day(10)), back("r-deleted", "expected", day(11), deleted=True),
                    back("r-南京", "expected", day(12), depot="仓库-南京-1")):
            conn.execute(returns.insert().values(**row))
        out = stock.outstanding_old_parts(conn, ["仓库-北京-1"], now=NOW)
        assert out == [
            {"return_id": "r-expected", "engineer_id": "u-wang", "ticket_id": "t-华信印刷厂", "part_id": "传动皮带",
             "qty": 1.0, "status": "expected", "age_days": 5.0, "expected_at": day(18).isoformat()},  # 4 days 23 hours
            {"return_id": "r-collected", "engineer_id": "u-wang", "ticket_id": "t-华信印刷厂", "part_id": "传动皮带",
             "qty": 1.0, "status": "collected", "age_days": 2.8,  # 2.75, to the tenth
             "expected_at": (day(20) + timedelta(hours=5)).isoformat()},
        ]
        assert [r["return_id"] for r in stock.outstanding_old_parts(conn, None, now=NOW)] == [
            "r-南京", "r-expected", "r-collected"]
        assert stock.outstanding_old_parts(conn, ["仓库-北京-1"], now=NOW, limit=1) == out[:1]
        assert stock.outstanding_old_parts(conn, ["仓库-北京-1"], now=NOW, after=stock.outstanding_key(out[0]),
                                           limit=1) == out[1:]


def test_a_level_is_negative_only_below_zero_half_a_metre_and_an_emptied_shelf_are_not(engine):
    """仓库-北京-1 received two fuses and handed both out (none left, not short), and
    three metres of cable of which it cut two and a half (half a metre left); 王伟's van
    used half a metre more cable than it had been given (short: negative)."""
    def move(n: int, part: str, qty: float, source: str | None, target: str | None) -> dict:
        return {"id": f"m-{n}", "kind": "transfer", "part_id": part, "qty": qty, "condition": "new",
                "from_location_id": source, "to_location_id": target, "note": "盘点前整理", "version": 1,
                "deleted": False, "clock": "{}", "created_at": NOW, "updated_at": NOW}

    with engine.begin() as conn:
        conn.execute(MOVES.insert(), [
            move(1, "保险丝", 2.0, None, "仓库-北京-1"), move(2, "保险丝", 2.0, "仓库-北京-1", None),
            move(3, "电缆(米)", 3.0, None, "仓库-北京-1"), move(4, "电缆(米)", 2.5, "仓库-北京-1", "van-王伟"),
            move(5, "电缆(米)", 3.0, "van-王伟", None)])
    with engine.connect() as conn:
        flagged = {(lv["location_id"], lv["part_id"]): (lv["qty"], lv["negative"]) for lv in stock.levels(conn)}
    assert flagged[("仓库-北京-1", "保险丝")] == (0.0, False)
    assert flagged[("仓库-北京-1", "电缆(米)")] == (0.5, False)
    assert flagged[("van-王伟", "电缆(米)")] == (-0.5, True)
