"""A mutation the server will always refuse never holds up the work queued behind it:
each one is parked with its reason for the engineer to see, sync after sync, push
after push, and everything else goes through."""

from __future__ import annotations

import sqlalchemy as sa

from server.tables import entity_table
from sync.errors import TransportError
from tests.scenario import desk_opens_ticket


def server_ticket(engine, ticket_id: str) -> dict:
    table = entity_table("ticket")
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(table).where(table.c.id == ticket_id)).mappings().one())


def corrupt_clock_of_last_outbox_row(replica) -> None:
    """An app bug (an old release, a bad migration) left an outbox row the server cannot
    parse: the whole change-set is refused (422) naming that mutation."""
    replica.db.execute("UPDATE _outbox SET hlc = 'half past nine' WHERE seq = (SELECT max(seq) FROM _outbox)")


class LoseFirstAnswer:
    """The first push is applied by the server, its answer lost on the way back."""

    def __init__(self, inner):
        self.inner, self.lost = inner, False

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def push(self, changeset):
        answer = self.inner.push(changeset)
        if not self.lost:
            self.lost = True
            raise TransportError("the answer was lost")
        return answer


def test_poison_mutations_made_again_and_again_never_block_the_work_behind_them(people, replica_for, engine):
    desk = replica_for(people["desk"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    # two mutations per change-set, so poison lands first, last and alone in a push
    wang = replica_for(people["wang"], batch_size=2)
    wang.sync()
    ticket = ids["ticket"]
    expected_codes = []
    for day in range(1, 5):
        wang.update("ticket", ticket, urgency="emergency")  # the desk's field
        expected_codes.append("field_not_owned")
        wang.update("ticket", ticket, diagnosis=f"day {day}: drive belt worn")
        wang.update("ticket", ticket, arrived_at="this morning")  # not a time
        expected_codes.append("invalid_value")
        wang.update("ticket", ticket, actions=f"day {day}: belt tensioned")
        wang.update("ticket", ticket, cause=f"day {day}: dust")
        corrupt_clock_of_last_outbox_row(wang)
        expected_codes.append("invalid")
        wang.update("ticket", ticket, result=f"day {day}: runs again")

        report = wang.sync()

        assert report.rejected == 3 and wang.pending() == 0
        row = server_ticket(engine, ticket)
        assert (row["diagnosis"], row["actions"], row["result"]) == (
            f"day {day}: drive belt worn", f"day {day}: belt tensioned", f"day {day}: runs again")
        assert row["urgency"] == "normal" and row["arrived_at"] is None
        parked = wang.parked()
        assert [p.code for p in parked] == expected_codes
        assert all(p.message for p in parked)
        mine = wang.get("ticket", ticket)
        assert (mine["urgency"], mine["arrived_at"], mine["result"]) == ("normal", None, f"day {day}: runs again")
    urgency, arrival, clock = wang.parked()[:3]
    assert (urgency.field, arrival.field, clock.field.rsplit(".", 1)[-1]) == ("urgency", "arrived_at", "hlc")


def test_poison_whose_refusal_is_lost_on_the_way_back_is_parked_once_when_the_retry_is_answered(
        people, replica_for, transport_for, engine):
    desk = replica_for(people["desk"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang = replica_for(people["wang"], transport=LoseFirstAnswer(transport_for(people["wang"])))
    wang.pull()
    wang.update("ticket", ids["ticket"], urgency="emergency")
    wang.update("ticket", ids["ticket"], diagnosis="seized bearing")
    try:
        wang.sync()
    except TransportError:
        pass
    assert wang.pending() == 2  # the device does not know yet
    report = wang.sync()
    assert (report.rejected, wang.pending()) == (1, 0)
    [parked] = wang.parked()
    assert (parked.code, parked.field) == ("field_not_owned", "urgency")
    assert server_ticket(engine, ids["ticket"])["diagnosis"] == "seized bearing"
