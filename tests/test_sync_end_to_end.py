"""The sync core end to end: real SQLite replicas, the real app, real HTTP handling."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson
import pytest
import sqlalchemy as sa

from server.tables import changesets, entity_table
from sync.errors import TransportError
from tests.faults import ROOT
from tests.scenario import desk_opens_ticket


def server_row(engine, entity, row_id):
    table = entity_table(entity)
    with engine.connect() as conn:
        return conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().one()


def test_two_devices_edit_different_fields_of_one_ticket_offline_and_both_edits_survive(people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    # both offline now
    desk.update("ticket", ids["ticket"], urgency="emergency")
    wang.update("ticket", ids["ticket"], diagnosis="worn drive belt")
    for _ in range(2):
        desk.sync()
        wang.sync()
    row = server_row(engine, "ticket", ids["ticket"])
    assert (row["urgency"], row["diagnosis"]) == ("emergency", "worn drive belt")
    for replica in (desk, wang):
        ticket = replica.get("ticket", ids["ticket"])
        assert (ticket["urgency"], ticket["diagnosis"]) == ("emergency", "worn drive belt")


def test_both_edit_the_same_field_later_hlc_wins_everywhere_and_loser_is_kept(people, timeline, engine):
    desk, manager = timeline.device(people["desk"]), timeline.device(people["manager"])
    ids = desk_opens_ticket(desk, people["wang"].user_id, zone="ring2")
    manager.sync()
    timeline.advance(60_000)
    desk.update("ticket", ids["ticket"], zone="ring3")
    timeline.advance(60_000)
    manager.update("ticket", ids["ticket"], zone="ring1")  # the manager's edit is later
    manager.sync()  # the later write reaches the server first
    desk.sync()  # the earlier one arrives after it and loses
    for _ in range(2):
        manager.sync()
        desk.sync()
    assert server_row(engine, "ticket", ids["ticket"])["zone"] == "ring1"
    assert desk.get("ticket", ids["ticket"])["zone"] == "ring1"
    assert manager.get("ticket", ids["ticket"])["zone"] == "ring1"
    conflicts = entity_table("conflict")
    with engine.connect() as conn:
        record = conn.execute(sa.select(conflicts).where(conflicts.c.field == "zone")).mappings().one()
    assert orjson.loads(record["lost_value"]) == "ring3"
    assert orjson.loads(record["kept_value"]) == "ring1"
    assert desk.conflicts()[0]["conflicts"][0]["lost_value"] == "ring3"


class LoseResponses:
    """Delivers each push to the server, then drops the answer ``times`` times; keeps the
    id of every change-set delivered and every answer dropped."""

    def __init__(self, inner, times: int):
        self.inner, self.times = inner, times
        self.delivered: list[str] = []
        self.dropped: list[dict] = []

    def push(self, changeset):
        answer = self.inner.push(changeset)
        self.delivered.append(changeset["changeset_id"])
        if self.times:
            self.times -= 1
            self.dropped.append(answer)
            raise TransportError("connection reset before the answer arrived")
        return answer

    def pull(self, cursor, limit):
        return self.inner.pull(cursor, limit)


def test_push_answer_lost_and_device_retries_effect_happens_exactly_once(people, replica_for, transport_for, engine):
    flaky = LoseResponses(transport_for(people["desk"]), times=2)
    desk = replica_for(people["desk"], transport=flaky)
    customer = desk.insert("customer", name="北苑冷库")
    with pytest.raises(TransportError):
        desk.push()

    # the server applied and recorded the change-set; the device, never told, still holds it in flight
    [sent] = flaky.delivered
    [first_answer] = flaky.dropped
    assert [r["status"] for r in first_answer["results"]] == ["applied"]
    with engine.connect() as conn:
        assert conn.execute(sa.select(changesets.c.changeset_id)).scalars().all() == [sent]
    assert desk.db.execute("SELECT changeset_id FROM _outbox").fetchall() == [(sent,)]
    assert desk.db.execute("SELECT value FROM _sync_state WHERE key = 'inflight_changeset'").fetchone() == (sent,)

    with pytest.raises(TransportError):
        desk.push()
    desk.sync()

    assert flaky.delivered == [sent] * 3, "the retries are the same change-set"
    assert flaky.dropped[1]["replayed"] and flaky.dropped[1]["results"] == first_answer["results"]
    assert desk.pending() == 0
    with engine.connect() as conn:
        log_rows = conn.execute(sa.text("SELECT count(*) FROM change_log WHERE row_id = :r"), {"r": customer}).scalar()
    assert log_rows == 1
    assert server_row(engine, "customer", customer)["version"] == 1


#: the desk's app: one write saved, a second one begun, then killed by the test
DESK_APP = """
import sys
from sync.client import Replica
replica = Replica(sys.argv[1], sys.argv[2])
saved = replica.insert("customer", name="金桥医院")
replica.db.execute("BEGIN")
cut_off = replica.insert("customer", name="望京社区卫生站")
print(saved, cut_off, flush=True)
sys.stdin.read()  # killed here, the second write not committed
"""


def test_write_survives_the_app_killed_before_sync_and_a_write_cut_off_leaves_neither_row_nor_outbox_entry(
        people, replica_for, engine, tmp_path):
    desk = people["desk"]
    path = tmp_path / f"{desk.device_id}.replica"  # where replica_for opens it
    app = subprocess.Popen([sys.executable, "-c", DESK_APP, str(path), desk.device_id],
                           cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    saved, cut_off = app.stdout.readline().split()
    app.kill()  # no sync, no clean shutdown
    app.wait()
    app.stdin.close()
    app.stdout.close()

    reopened = replica_for(desk)
    assert reopened.get("customer", cut_off) is None
    assert reopened.db.execute("SELECT row_id FROM _outbox").fetchall() == [(saved,)]
    reopened.sync()
    assert server_row(engine, "customer", saved)["name"] == "金桥医院"
    with engine.connect() as conn:
        assert conn.execute(sa.select(entity_table("customer").c.id)).scalars().all() == [saved]


class DieOnPage:
    """Serves pull pages until page ``n``, then the link drops; keeps the cursors it served."""

    def __init__(self, inner, n: int):
        self.inner, self.n, self.pages = inner, n, 0
        self.cursors: list[str] = []

    def push(self, changeset):
        return self.inner.push(changeset)

    def pull(self, cursor, limit):
        self.pages += 1
        if self.pages == self.n:
            raise TransportError("signal lost")
        answer = self.inner.pull(cursor, limit)
        self.cursors.append(answer["cursor"])
        return answer


def test_pull_interrupted_half_way_keeps_the_two_pages_it_got_whole_and_resumes_after_them(
        people, replica_for, transport_for):
    desk = replica_for(people["desk"])
    made = [desk.insert("customer", name=f"朝阳区客户{i}") for i in range(25)]
    desk.sync()
    flaky = DieOnPage(transport_for(people["manager"]), n=3)
    manager = replica_for(people["manager"], transport=flaky, page_size=10)
    with pytest.raises(TransportError):
        manager.sync()
    assert set(manager.all("customer")) == set(made[:20])  # two whole pages, in the order the log has them
    assert manager.cursor == flaky.cursors[1]
    manager.sync()
    assert set(manager.all("customer")) == set(made)
    assert len(flaky.cursors) == 3, "the pull resumed after the second page, not from the start"


def test_local_edit_made_while_a_newer_server_row_arrives_is_not_lost(people, replica_for):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    desk.update("ticket", ids["ticket"], urgency="emergency", fault_description="smoke from the motor")
    desk.sync()
    wang.update("ticket", ids["ticket"], diagnosis="motor bearing seized")
    wang.pull()  # the newer server row lands over a pending local edit
    mine = wang.get("ticket", ids["ticket"])
    assert (mine["diagnosis"], mine["urgency"]) == ("motor bearing seized", "emergency")
    wang.sync()
    desk.sync()
    assert desk.get("ticket", ids["ticket"])["diagnosis"] == "motor bearing seized"


def test_mutation_the_server_rejects_is_parked_with_its_reason_and_later_ones_sync(people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    wang.update("ticket", ids["ticket"], assignee_id=people["chen"].user_id)  # only the desk assigns
    wang.update("ticket", ids["ticket"], diagnosis="loose connector")
    report = wang.sync()
    assert report.rejected == 1
    [parked] = wang.parked()
    assert parked.code == "field_not_owned" and parked.field == "assignee_id"
    assert "desk" in parked.message
    row = server_row(engine, "ticket", ids["ticket"])
    assert (row["assignee_id"], row["diagnosis"]) == (people["wang"].user_id, "loose connector")
    assert wang.get("ticket", ids["ticket"])["assignee_id"] == people["wang"].user_id  # put back as the server has it
    assert wang.pending() == 0
