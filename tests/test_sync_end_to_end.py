"""The sync core end to end: real SQLite replicas, the real app, real HTTP handling."""

from __future__ import annotations

import orjson
import pytest
import sqlalchemy as sa

from server.tables import entity_table
from sync.errors import TransportError
from sync.hlc import now_ms
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
    """Delivers each push to the server, then drops the answer ``times`` times."""

    def __init__(self, inner, times: int):
        self.inner, self.times, self.delivered = inner, times, 0

    def push(self, changeset):
        answer = self.inner.push(changeset)
        self.delivered += 1
        if self.times:
            self.times -= 1
            raise TransportError("connection reset before the answer arrived")
        return answer

    def pull(self, cursor, limit):
        return self.inner.pull(cursor, limit)


def test_push_answer_lost_and_device_retries_effect_happens_exactly_once(people, replica_for, transport_for, engine):
    flaky = LoseResponses(transport_for(people["desk"]), times=2)
    desk = replica_for(people["desk"], transport=flaky)
    customer = desk.insert("customer", name="Beiyuan Cold Storage")
    for _ in range(2):
        with pytest.raises(TransportError):
            desk.push()
    assert desk.pending() == 1
    desk.sync()
    assert flaky.delivered == 3 and desk.pending() == 0
    with engine.connect() as conn:
        log_rows = conn.execute(sa.text("SELECT count(*) FROM change_log WHERE row_id = :r"), {"r": customer}).scalar()
    assert log_rows == 1
    assert server_row(engine, "customer", customer)["version"] == 1


def test_write_survives_the_app_dying_before_sync_and_syncs_on_next_run(people, replica_for, engine):
    desk = replica_for(people["desk"])
    customer = desk.insert("customer", name="Jinqiao Hospital")
    desk.db.close()  # the process dies: no sync, no clean shutdown
    reopened = replica_for(people["desk"])
    assert reopened.pending() == 1
    reopened.sync()
    assert server_row(engine, "customer", customer)["name"] == "Jinqiao Hospital"


class DieOnPage:
    """Serves pull pages until page ``n``, then the link drops."""

    def __init__(self, inner, n: int):
        self.inner, self.n, self.pages = inner, n, 0

    def push(self, changeset):
        return self.inner.push(changeset)

    def pull(self, cursor, limit):
        self.pages += 1
        if self.pages == self.n:
            raise TransportError("signal lost")
        return self.inner.pull(cursor, limit)


def test_pull_interrupted_half_way_leaves_replica_consistent_and_resumes(people, replica_for, transport_for):
    desk = replica_for(people["desk"])
    made = [desk.insert("customer", name=f"customer {i}") for i in range(25)]
    desk.sync()
    flaky = DieOnPage(transport_for(people["manager"]), n=3)
    manager = replica_for(people["manager"], transport=flaky, page_size=10)
    with pytest.raises(TransportError):
        manager.sync()
    assert len(manager.all("customer")) == 20  # two whole pages, nothing half-applied
    assert manager.cursor is not None
    manager.sync()
    assert set(manager.all("customer")) == set(made)


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
