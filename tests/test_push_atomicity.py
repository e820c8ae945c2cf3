"""A push that fails half-way changes nothing, answers a JSON 500, and the device's retry
of the same change-set applies it once.

The failure is forced at the database (an engine event raising on one INSERT), so it
strikes wherever in the push that statement falls, whatever the code around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import orjson
import pytest
import sqlalchemy as sa

from server.tables import change_log, changesets, log_head, metadata
from sync.errors import SyncError
from sync.transport import HttpTransport


@dataclass
class _FailOnInsert:
    """Raises on the first INSERT into ``table``; keeps the writes the push made before it."""

    table: str
    writes_before: list[str] = field(default_factory=list)
    fired: bool = False

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        words = statement.split(None, 3)
        if words[:1] not in (["INSERT"], ["UPDATE"], ["DELETE"]) or self.fired:
            return
        target = (words[2] if words[0] == "INSERT" else words[1]).strip('"')
        if words[0] == "INSERT" and target == self.table:
            self.fired = True
            raise RuntimeError(f"forced failure writing {self.table}")
        self.writes_before.append(f"{words[0]} {target}")


def _state(engine: sa.Engine) -> dict[str, int]:
    """Rows per table, and the log head: everything a push could change."""
    with engine.connect() as conn:
        counts = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in metadata.sorted_tables}
        counts["log_head.last_seq"] = conn.execute(sa.select(log_head.c.last_seq)).scalar_one()
    return counts


@dataclass
class _Wire:
    """What the device sent and what it got back."""

    sent: list[dict] = field(default_factory=list)
    answers: list[httpx.Response] = field(default_factory=list)

    def client(self, app) -> httpx.Client:
        def on_request(request: httpx.Request) -> None:
            if request.url.path == "/v1/sync/push":
                self.sent.append(orjson.loads(request.content))

        def on_response(response: httpx.Response) -> None:
            if response.request.url.path == "/v1/sync/push":
                response.read()
                self.answers.append(response)

        return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://fieldsync",
                            event_hooks={"request": [on_request], "response": [on_response]})


@pytest.mark.parametrize(
    "fail_at, written_first",
    [
        ("ticket", "customer"),  # some rows of the change-set written, the rest not
        ("change_log", "ticket"),  # every row written, the log not
        ("changesets", "change_log"),  # rows and log written, the exactly-once record not
    ],
    ids=["between-rows", "before-the-log", "before-the-changeset-record"],
)
def test_push_failing_half_way_leaves_nothing_applied_and_the_device_retry_applies_it_once(
    app, engine, people, replica_for, fail_at, written_first
):
    wire = _Wire()
    desk = replica_for(people["desk"], transport=HttpTransport(wire.client(app), people["desk"].token, sleep=lambda _s: None))
    customer = desk.insert("customer", name="Huaxin Printing", zone="ring2")
    equipment = desk.insert("equipment", customer_id=customer, model="HX-200", serial="SN1")
    ticket = desk.insert("ticket", customer_id=customer, equipment_id=equipment, status="dispatched",
                         assignee_id=people["wang"].user_id, urgency="normal",
                         fault_description="stops after ten minutes", channel="phone")
    before = _state(engine)
    failure = _FailOnInsert(fail_at)

    sa.event.listen(engine, "before_cursor_execute", failure)
    try:
        with pytest.raises(SyncError) as refused:
            desk.sync()
    finally:
        sa.event.remove(engine, "before_cursor_execute", failure)

    assert failure.fired and f"INSERT {written_first}" in failure.writes_before, failure.writes_before
    assert (refused.value.code, refused.value.status) == ("internal", 500)
    answer = wire.answers[-1]
    assert answer.status_code == 500 and answer.headers["content-type"] == "application/json"
    assert orjson.loads(answer.content)["code"] == "internal"
    assert _state(engine) == before, "a failed push left something behind"
    assert desk.pending() == 3

    report = desk.sync()

    assert (report.pushed, report.rejected, report.conflicts) == (3, 0, 0)
    assert desk.pending() == 0
    assert wire.sent[-1]["changeset_id"] == wire.sent[0]["changeset_id"], "the retry is the same change-set"
    with engine.connect() as conn:
        recorded = conn.execute(sa.select(changesets.c.changeset_id)).scalars().all()
        logged = conn.execute(sa.select(change_log.c.row_id, change_log.c.seq).order_by(change_log.c.seq)).all()
    assert recorded == [wire.sent[0]["changeset_id"]]
    assert {row_id for row_id, _ in logged} >= {customer, equipment, ticket}
    assert [seq for _, seq in logged] == list(range(1, len(logged) + 1)), "the log has a gap where the failure was"
