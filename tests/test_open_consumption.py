"""The stored open consumptions (migration 0017_open_consumption) are exactly those the
write-off rule finds open in the records, after every kind of write that decides one and
in any order: a consumption recorded, moved to another ticket or part, deleted, restored
or removed outright; a signature made, gone stale, made current again, deleted, its image
arriving after it or going; an old part expected, collected, received, disposed of, its
return deleted; a part made returnable or not, or arriving after the consumption naming it.

Each step writes a bare row, not a push, so what is proved is the database's own rule,
whatever path wrote the row; the write-off and reports tests prove the push path (a
tablet offline for a week, a stale signature) gives the figures the office expects.
"""

from __future__ import annotations

import hashlib
import random
import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from server import blobs as images, changelog
from server.db import make_engine
from server.domain.writeoff import consumption_key, open_consumptions
from server.migrations import upgrade
from server.tables import blobs, entity_table, open_consumption

MOVES, SIGNATURES = entity_table("stock_movement"), entity_table("signature")
RETURNS, PARTS = entity_table("old_part_return"), entity_table("part")
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
TICKETS = ["t-华信印刷厂", "t-东方机械厂", "t-北方纸业", None]
PART_IDS = ["p-传动皮带", "p-保险丝", "p-定影器"]
IMAGES = ["a" * 64, "b" * 64, "c" * 64]
STEPS = ("received", "disposed", "expected", "collected")


def _entity(row_id: str, **fields) -> dict:
    return {"id": row_id, **fields, "version": 1, "deleted": False, "clock": "{}", "created_at": NOW,
            "updated_at": NOW}


def _by_rule(conn: sa.Connection) -> set[str]:
    """The open consumptions the slow way, from the rows in Python: live consumptions
    whose ticket has no live, current signature whose image arrived, or of a returnable
    part whose live return is not received or disposed of."""
    arrived = {r.sha256 for r in conn.execute(sa.select(blobs.c.sha256))}
    signed = {s.ticket_id for s in conn.execute(sa.select(SIGNATURES))
              if s.ticket_id is not None and not s.deleted and not s.stale and s.blob_sha256 in arrived}
    returnable = {p.id for p in conn.execute(sa.select(PARTS)) if p.returnable}
    back = {r.id for r in conn.execute(sa.select(RETURNS)) if not r.deleted and r.status in ("received", "disposed")}
    # only the columns the rule reads: the upgrade test writes rows at an older schema
    moves = sa.select(MOVES.c.id, MOVES.c.kind, MOVES.c.deleted, MOVES.c.ticket_id, MOVES.c.part_id)
    return {m.id for m in conn.execute(moves)
            if m.kind == "consume" and not m.deleted
            and (m.ticket_id not in signed or (m.part_id in returnable and m.id not in back))}


def _stored(conn: sa.Connection) -> set[str]:
    return {r[0] for r in conn.execute(sa.select(open_consumption.c.movement_id))}


class World:
    """Bare rows written at random: what each step did is kept for the failure message."""

    def __init__(self, conn: sa.Connection, rng: random.Random):
        self.conn, self.rng, self.k, self.done = conn, rng, 0, []

    def _ids(self, table: sa.Table) -> list[str]:
        return sorted(r[0] for r in self.conn.execute(sa.select(table.c.id)))

    def _write(self, table: sa.Table, row_id: str, **values) -> None:
        self.conn.execute(table.update().where(table.c.id == row_id).values(**values))
        self.done.append(f"{table.name} {row_id} {values}")

    def step(self) -> None:
        self.k += 1
        choice = self.rng.choice
        what = choice(["consume", "consume", "movement", "signature", "signature", "sign_edit", "image", "return",
                       "return_edit", "part", "remove"])
        moves, signatures, returns = self._ids(MOVES), self._ids(SIGNATURES), self._ids(RETURNS)
        if what == "consume" or not moves:
            row = _entity(f"m-{self.k:03d}", kind=choice(["consume", "consume", "issue"]), part_id=choice(PART_IDS),
                          qty=1.0, ticket_id=choice(TICKETS), from_location_id="van-王伟", note="换下磨损皮带")
            self.conn.execute(MOVES.insert().values(**row))
            self.done.append(f"movement {row['id']} {row['kind']} {row['ticket_id']} {row['part_id']}")
        elif what == "movement":
            self._write(MOVES, choice(moves), **choice([{"ticket_id": choice(TICKETS)}, {"part_id": choice(PART_IDS)},
                                                        {"deleted": True}, {"deleted": False}, {"kind": "transfer"},
                                                        {"kind": "consume"}, {"note": "只改备注"},
                                                        {"device_time": NOW}]))
        elif what == "signature" or not signatures:
            row = _entity(f"s-{self.k:03d}", ticket_id=choice(TICKETS[:3]), blob_sha256=choice(IMAGES),
                          signer_name="刘经理", stale=choice([None, False]))
            self.conn.execute(SIGNATURES.insert().values(**row))
            self.done.append(f"signature {row['id']} on {row['ticket_id']}")
        elif what == "sign_edit":
            self._write(SIGNATURES, choice(signatures), **choice([{"stale": True}, {"stale": False}, {"stale": None},
                                                                  {"deleted": True}, {"deleted": False},
                                                                  {"ticket_id": choice(TICKETS)},
                                                                  {"blob_sha256": choice(IMAGES)},
                                                                  {"signer_name": "王经理"}]))
        elif what == "image":
            sha = choice(IMAGES)
            if self.conn.execute(sa.select(blobs.c.sha256).where(blobs.c.sha256 == sha)).first():
                self.conn.execute(blobs.delete().where(blobs.c.sha256 == sha))
                self.done.append(f"image {sha[:1]} gone")
            else:
                self.conn.execute(blobs.insert().values(sha256=sha, size=3, content_type="image/png", data=b"png",
                                                        created_at=NOW))
                self.done.append(f"image {sha[:1]} arrived")
        elif what == "return" or (what == "return_edit" and not returns):
            target = choice(moves)
            if target not in returns:
                self.conn.execute(RETURNS.insert().values(**_entity(target, status=choice(STEPS), qty=1.0)))
                self.done.append(f"return {target}")
        elif what == "return_edit":
            self._write(RETURNS, choice(returns), **choice([{"status": choice(STEPS)}, {"deleted": True},
                                                            {"deleted": False}]))
        elif what == "part":
            part = choice(PART_IDS)
            if part in self._ids(PARTS):
                self._write(PARTS, part, returnable=choice([True, False, None]))
            else:
                made = _entity(part, name=part[2:], returnable=choice([True, False]))
                self.conn.execute(PARTS.insert().values(**made))
                self.done.append(f"part {part} arrived")
        else:
            table = choice([MOVES, SIGNATURES, RETURNS, PARTS])
            ids = self._ids(table)
            if ids:
                target = choice(ids)
                self.conn.execute(table.delete().where(table.c.id == target))
                self.done.append(f"{table.name} {target} removed")


@pytest.mark.parametrize("seed", [16, 18, 19, 23, 2026])
def test_the_stored_open_consumptions_are_the_rules_after_every_kind_of_write_in_any_order(engine, seed):
    with engine.begin() as conn:
        world = World(conn, random.Random(seed))
        for _ in range(400):
            world.step()
            assert _stored(conn) == _by_rule(conn), world.done[-12:]
    with engine.connect() as conn:
        assert _stored(conn) == _by_rule(conn)


def test_a_consumption_closes_when_the_last_of_signature_and_old_part_arrives_and_opens_again_when_stale(engine):
    with engine.begin() as conn:
        conn.execute(PARTS.insert().values(**_entity("p-传动皮带", name="传动皮带", returnable=True)))
        conn.execute(MOVES.insert().values(**_entity("m-1", kind="consume", part_id="p-传动皮带", qty=1.0,
                                                     ticket_id="t-华信印刷厂")))
        assert _stored(conn) == {"m-1"}
        conn.execute(RETURNS.insert().values(**_entity("m-1", status="received", qty=1.0)))
        assert _stored(conn) == {"m-1"}  # the old part is back, the report not yet signed
        conn.execute(SIGNATURES.insert().values(**_entity("s-1", ticket_id="t-华信印刷厂", blob_sha256=IMAGES[0])))
        assert _stored(conn) == {"m-1"}  # signed, but the image has not arrived whole
        conn.execute(blobs.insert().values(sha256=IMAGES[0], size=3, content_type="image/png", data=b"png",
                                           created_at=NOW))
        assert _stored(conn) == set()
        conn.execute(SIGNATURES.update().where(SIGNATURES.c.id == "s-1").values(blob_sha256=IMAGES[1]))
        assert _stored(conn) == {"m-1"}  # it names an image that has not arrived
        conn.execute(SIGNATURES.update().where(SIGNATURES.c.id == "s-1").values(blob_sha256=IMAGES[0]))
        conn.execute(RETURNS.update().where(RETURNS.c.id == "m-1").values(deleted=True))
        assert _stored(conn) == {"m-1"}  # the receipt was taken back
        conn.execute(RETURNS.update().where(RETURNS.c.id == "m-1").values(deleted=False))
        assert _stored(conn) == set()
        conn.execute(SIGNATURES.update().where(SIGNATURES.c.id == "s-1").values(stale=True))
        assert _stored(conn) == {"m-1"}  # the report changed after signing


def test_an_image_arriving_while_its_signature_is_pushed_closes_the_consumption(engine):
    """Wang's upload of the customer's signature completes while the push of the signature
    row is still being written. The upload waits for the push's turn (both take the log),
    so it sees the signature and closes the consumption; deciding side by side, each would
    have missed the other's row and left it open for good."""
    image = "客户签名".encode() * 50
    sha256 = hashlib.sha256(image).hexdigest()
    with engine.begin() as conn:
        conn.execute(MOVES.insert().values(**_entity("m-1", kind="consume", qty=1.0, ticket_id="t-华信印刷厂")))
    push = engine.connect()
    push.begin()
    changelog.claim(push)
    push.execute(SIGNATURES.insert().values(**_entity("s-1", ticket_id="t-华信印刷厂", blob_sha256=sha256)))

    def upload() -> None:
        with engine.begin() as conn:
            images.put(conn, sha256, image, "image/png", "d-wang", NOW, images.BlobLimits())

    uploading = threading.Thread(target=upload)
    uploading.start()
    uploading.join(timeout=1.0)  # without the turn taken, the image is stored by now
    push.commit()
    push.close()
    uploading.join(timeout=120)
    assert not uploading.is_alive()
    with engine.connect() as conn:
        assert _by_rule(conn) == set() and _stored(conn) == set()


def test_a_write_rolled_back_leaves_the_open_consumptions_as_they_were(engine):
    with engine.begin() as conn:
        conn.execute(MOVES.insert().values(**_entity("m-1", kind="consume", qty=1.0, ticket_id="t-华信印刷厂")))
    with engine.connect() as conn:
        conn.execute(MOVES.update().where(MOVES.c.id == "m-1").values(deleted=True))
        assert _stored(conn) == set()
        conn.rollback()
    with engine.connect() as conn:
        assert _stored(conn) == {"m-1"}


def test_the_upgrade_stores_the_consumptions_open_before_it_and_keeps_them_after(empty_database_url):
    upgrade(empty_database_url, "0016_report_instants")  # the step before the triggers
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as conn:  # a year's records written before the triggers existed
            world = World(conn, random.Random(15))
            for _ in range(150):
                world.step()
            before = _by_rule(conn)
        upgrade(empty_database_url)
        with engine.begin() as conn:
            assert _stored(conn) == before and before
            for _ in range(100):
                world.conn = conn
                world.step()
                assert _stored(conn) == _by_rule(conn), world.done[-12:]
    finally:
        engine.dispose()


def test_the_open_consumptions_listed_say_what_each_waits_for_by_engineer_and_oldest_first_a_page_at_a_time(engine):
    """The list the depot and head office read: per engineer (none named first), oldest first
    by the device's time (the server's when the device sent none), each with its ticket,
    part, quantity, where it was drawn, its old part's step and what it still waits for."""
    day = lambda d, h=8: datetime(2026, 11, d, h, 0, tzinfo=timezone.utc)  # noqa: E731
    consumed = {  # id: part, ticket, holder, drawn from, qty, device time
        "m-1": ("p-传动皮带", "t-华信印刷厂", "u-wang", "van-王伟", 1.0, day(20)),
        "m-2": ("p-保险丝", "t-东方机械厂", "u-wang", "van-王伟", 2.0, day(18)),
        "m-3": ("p-传动皮带", "t-北方纸业", None, "loc-北京总库", 1.0, day(19)),
        "m-4": ("p-传动皮带", "t-北方纸业", None, "loc-北京总库", 3.0, None),
        "m-5": ("p-保险丝", "t-华信印刷厂", "u-chen", "van-陈静", 1.0, day(17)),
        "m-6": ("p-传动皮带", "t-东方机械厂", "u-chen", "van-陈静", 1.0, day(21, 20)),
    }
    with engine.begin() as conn:
        conn.execute(PARTS.insert().values(**_entity("p-传动皮带", name="传动皮带", returnable=True)))
        conn.execute(PARTS.insert().values(**_entity("p-保险丝", name="保险丝", returnable=False)))
        for row_id, (part, ticket, holder, drawn, qty, at) in consumed.items():
            conn.execute(MOVES.insert().values(**_entity(row_id, kind="consume", part_id=part, ticket_id=ticket,
                                                         held_by=holder, from_location_id=drawn, qty=qty,
                                                         device_time=at)))
        conn.execute(RETURNS.insert().values(**_entity("m-3", status="collected", qty=1.0,
                                                       depot_location_id="loc-北京总库")))
        conn.execute(RETURNS.insert().values(**_entity("m-6", status="expected", qty=1.0,
                                                       depot_location_id="loc-南京库")))
        conn.execute(SIGNATURES.insert().values(**_entity("s-1", ticket_id="t-北方纸业", blob_sha256=IMAGES[0])))
        conn.execute(blobs.insert().values(sha256=IMAGES[0], size=3, content_type="image/png", data=b"png",
                                           created_at=NOW))

    def listed(only=None, after=None, limit=None) -> list[dict]:
        with engine.connect() as conn:
            return open_consumptions(conn, only, NOW, after, limit)

    whole = listed()
    waits = {"m-1": (None, ["signature", "old_part"]), "m-2": (None, ["signature"]),
             "m-3": ("collected", ["old_part"]), "m-4": (None, ["old_part"]),
             "m-5": (None, ["signature"]), "m-6": ("expected", ["signature", "old_part"])}
    ages = {"m-1": 3.0, "m-2": 5.0, "m-3": 4.0, "m-4": 0.0, "m-5": 6.0, "m-6": 1.5}
    assert [{k: v for k, v in r.items() if k != "at"} for r in whole] == [
        {"movement_id": row_id, "engineer_id": consumed[row_id][2], "ticket_id": consumed[row_id][1],
         "part_id": consumed[row_id][0], "qty": consumed[row_id][4], "from_location_id": consumed[row_id][3],
         "old_part_status": waits[row_id][0], "waiting_for": waits[row_id][1], "age_days": ages[row_id]}
        for row_id in ("m-3", "m-4", "m-5", "m-6", "m-2", "m-1")]
    assert [datetime.fromisoformat(r["at"]) for r in whole] == [
        NOW - timedelta(days=ages[r["movement_id"]]) for r in whole]
    # a depot's own: drawn from its shelves or vans, or whose old part goes back there
    assert [r["movement_id"] for r in listed(only=["van-王伟"])] == ["m-2", "m-1"]
    assert [r["movement_id"] for r in listed(only=["loc-南京库", "loc-北京总库"])] == ["m-3", "m-4", "m-6"]
    assert [r["movement_id"] for r in listed(limit=2)] == ["m-3", "m-4"]
    paged, after = [], None
    while len(paged) < 10:
        page = listed(after=after, limit=1)
        if not page:
            break
        paged += page
        after = consumption_key(page[-1])
    assert paged == whole
