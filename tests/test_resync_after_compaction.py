"""A compacted log never leaves a device with a silent gap: a device whose cursor is
older than what the log still tells is sent back to a snapshot of its scope, keeps its
pending edits, and ends equal to the server; a fresh device reads the compacted log
whole."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from server import changelog
from server.cli import main
from server.compaction import compact
from server.tables import change_log, log_head
from sync.errors import TransportError
from tests.invariants import Device, read_server, replica_matches_its_scope
from tests.scenario import desk_opens_ticket


def last_seq(engine) -> int:
    with engine.connect() as conn:
        return changelog.head(conn)[0]


def log_size(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(change_log)).scalar_one()


def assert_equals_its_scope(engine, person, replica) -> None:
    device = Device(person.user_id, person.user_id, person.role, person.device_id, replica,
                    "depot-main" if person.role == "depot" else None)
    replica_matches_its_scope(read_server(engine), device)


def busy_weeks(desk, people) -> dict[str, dict[str, str]]:
    """Tickets opened, edited, reassigned and deleted: a log with plenty to compact."""
    tickets = {name: desk_opens_ticket(desk, people[name].user_id) for name in ("wang", "chen")}
    for n in range(5):
        desk.update("customer", tickets["wang"]["customer"], phone=f"010-6555-01{n:02d}")
        desk.update("ticket", tickets["chen"]["ticket"], fault_description=f"stops after {n + 10} minutes")
        desk.sync()
    return tickets


def test_device_offline_for_weeks_while_the_log_is_compacted_resyncs_and_keeps_its_pending_edits(
        people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    kept = desk_opens_ticket(desk, people["wang"].user_id)
    gone = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    # Wang goes out of signal with work on his device.
    wang.update("ticket", kept["ticket"], diagnosis="motor bearing seized", status="accepted")
    # Weeks at head office: the other ticket is withdrawn, a new one is dispatched.
    desk.update("ticket", kept["ticket"], urgency="emergency")
    desk.delete("ticket", gone["ticket"])
    new = desk_opens_ticket(desk, people["wang"].user_id)
    busy_weeks(desk, people)
    done = compact(engine, last_seq(engine))
    assert done.horizon > int(wang.cursor.split(".")[0]) and done.purged > 0

    report = wang.pull()  # before his edits go: the snapshot must not lose them

    assert report.resynced
    assert wang.pending() == 1
    mine = wang.get("ticket", kept["ticket"])
    assert (mine["diagnosis"], mine["status"], mine["urgency"]) == ("motor bearing seized", "accepted", "emergency")
    wang.sync()
    assert wang.pending() == 0 and wang.parked() == []
    assert_equals_its_scope(engine, people["wang"], wang)
    assert all(wang.get(entity, row_id) is None for entity, row_id in gone.items())
    assert all(wang.get(entity, row_id) is not None for entity, row_id in new.items())
    desk.sync()
    assert desk.get("ticket", kept["ticket"])["diagnosis"] == "motor bearing seized"


def test_fresh_devices_read_the_compacted_log_whole_in_every_scope(people, replica_for, engine):
    desk = replica_for(people["desk"])
    tickets = busy_weeks(desk, people)
    desk.update("ticket", tickets["chen"]["ticket"], assignee_id=people["wang"].user_id)
    doomed = desk_opens_ticket(desk, people["chen"].user_id)
    desk.delete("ticket", doomed["ticket"])
    desk.sync()
    before = log_size(engine)
    compact(engine, last_seq(engine))
    assert log_size(engine) < before
    for name in ("manager", "wang", "chen", "depot"):
        replica = replica_for(people[name], page_size=3)
        assert not replica.sync().resynced
        assert_equals_its_scope(engine, people[name], replica)


class StopAfterPages:
    """Serves ``pages`` pull pages, then the signal goes."""

    def __init__(self, inner, pages: int):
        self.inner, self.pages = inner, pages

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def pull(self, cursor, limit):
        if self.pages == 0:
            raise TransportError("signal lost")
        self.pages -= 1
        return self.inner.pull(cursor, limit)


def test_snapshot_cut_short_by_a_compaction_starts_over_and_ends_whole(people, replica_for, transport_for, engine):
    desk = replica_for(people["desk"])
    tickets = busy_weeks(desk, people)
    link = StopAfterPages(transport_for(people["manager"]), pages=2)
    manager = replica_for(people["manager"], transport=link, page_size=2)
    with pytest.raises(TransportError):
        manager.sync()
    # While the manager's phone is out of signal, a ticket it already holds is deleted
    # and the news of it compacted away.
    desk.delete("ticket", tickets["wang"]["ticket"])
    desk.sync()
    compact(engine, last_seq(engine))
    link.pages = 1000
    assert manager.sync().resynced
    assert_equals_its_scope(engine, people["manager"], manager)


def test_pull_racing_a_compaction_is_sent_to_resync_never_given_a_page_with_a_hole(people, replica_for, engine,
                                                                                   monkeypatch):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    desk.delete("ticket", ids["ticket"])
    desk.sync()
    raced = []
    read = changelog.read

    def compact_first(conn, *args, **kwargs):
        # The pull has its connection and is about to read its page (and the horizon,
        # in the same statement): a compaction commits just before and removes the
        # news of the delete.
        if not raced:
            raced.append(True)
            compact(engine, last_seq(engine))
        return read(conn, *args, **kwargs)

    monkeypatch.setattr(changelog, "read", compact_first)
    report = wang.sync()
    assert raced and report.resynced
    assert wang.get("ticket", ids["ticket"]) is None
    assert_equals_its_scope(engine, people["wang"], wang)


def test_db_compact_command_reports_what_it_removed_and_the_new_horizon(people, replica_for, engine, database_url,
                                                                         monkeypatch):
    desk = replica_for(people["desk"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    desk.delete("ticket", ids["ticket"])
    desk.sync()
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["db", "compact", "--keep-after", str(last_seq(engine))])
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        horizon = conn.execute(sa.select(log_head.c.horizon)).scalar_one()
    assert horizon == last_seq(engine)
    assert f"below {horizon} resyncs" in result.output
