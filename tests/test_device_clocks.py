"""A device's clock is measured, not trusted: races between a phone whose clock is days
off (or was set right while it worked offline) and an honest device are decided by real
time, on the real server with real replicas on simulated time (``timeline``)."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from server.cli import main
from server.clocks import DeviceClock
from server.tables import entity_table
from sync import hlc
from sync.client import Replica
from sync.ids import new_id
from sync.wallclock import SteadyWall
from tests.conftest import auth_header
from tests.scenario import complete_and_sign, desk_opens_ticket

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

WRONG_CLOCKS = pytest.mark.parametrize("skew", [3 * DAY, -3 * DAY], ids=["3 days fast", "3 days slow"])


def server_row(engine, entity, row_id) -> dict:
    table = entity_table(entity)
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().one())


def audit_of(timeline, person, **query) -> list[dict]:
    client = timeline.app.test_client()
    answer = client.get("/v1/office/audit", query_string=query, headers=auth_header(person))
    assert answer.status_code == 200, answer.json
    return answer.json["entries"]


def as_ms(value) -> int:
    return int(value.timestamp() * 1000)


# -- races decided by real time ------------------------------------------------------------


@WRONG_CLOCKS
def test_phone_days_off_that_edits_first_and_syncs_last_loses_to_an_honest_edit_made_later(
        people, timeline, engine, skew):
    desk, wang = timeline.device(people["desk"]), timeline.device(people["wang"], skew_ms=skew)
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    wang.update("ticket", ids["ticket"], category="A")  # offline, at 9:00 real time: out of warranty
    timeline.advance(HOUR)
    desk.update("ticket", ids["ticket"], category="B")  # 10:00: the desk finds the maintenance contract
    desk.sync()
    timeline.advance(HOUR)
    wang.sync()  # arrives last
    desk.sync()
    assert server_row(engine, "ticket", ids["ticket"])["category"] == "B"
    assert wang.get("ticket", ids["ticket"])["category"] == "B"
    assert [c["lost_value"] for c in wang.all("conflict").values() if c["field"] == "category"] == ["A"]


@WRONG_CLOCKS
def test_phone_days_off_that_edits_later_wins_over_an_honest_edit_that_syncs_last(people, timeline, engine, skew):
    desk, wang = timeline.device(people["desk"]), timeline.device(people["wang"], skew_ms=skew)
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    desk.update("ticket", ids["ticket"], category="B")  # 9:00, the desk offline
    timeline.advance(HOUR)
    wang.update("ticket", ids["ticket"], category="A")  # 10:00 on site: the seal is broken, no warranty
    wang.sync()
    timeline.advance(HOUR)
    desk.sync()  # arrives last, with the older value
    wang.sync()
    assert server_row(engine, "ticket", ids["ticket"])["category"] == "A"
    assert desk.get("ticket", ids["ticket"])["category"] == "A"


@WRONG_CLOCKS
def test_phone_set_right_before_its_offline_work_races_by_real_time(people, timeline, engine, skew):
    desk, wang = timeline.device(people["desk"]), timeline.device(people["wang"], skew_ms=skew)
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()  # measured wrong by the server
    timeline.advance(10 * MINUTE)
    timeline.set_clock(people["wang"], 0)  # network time sets it right; then no signal
    wang.update("customer", ids["customer"], contact="张伟的女儿")
    timeline.advance(HOUR)
    desk.update("ticket", ids["ticket"], category="B")
    desk.sync()
    timeline.advance(HOUR)
    wang.update("ticket", ids["ticket"], category="A")  # later than the desk's
    desk.update("customer", ids["customer"], contact="张伟")  # later than the engineer's
    desk.sync()
    wang.sync()
    assert server_row(engine, "ticket", ids["ticket"])["category"] == "A"
    assert server_row(engine, "customer", ids["customer"])["contact"] == "张伟"
    assert wang.clock_jumps() == [-skew]


@WRONG_CLOCKS
def test_phone_set_right_while_it_worked_offline_has_its_earlier_stamps_corrected_too(
        people, timeline, engine, skew):
    """Each stretch of the offline work, before the jump and after it, is ordered by real
    time: the engine takes the jump out of its stamps and the push's one offset fits all."""
    desk, wang = timeline.device(people["desk"]), timeline.device(people["wang"], skew_ms=skew)
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    wang.update("ticket", ids["ticket"], category="A")  # 9:00, the clock still wrong
    timeline.advance(20 * MINUTE)
    desk.update("ticket", ids["ticket"], category="B")  # 9:20
    desk.update("customer", ids["customer"], contact="张伟")
    desk.sync()
    timeline.advance(10 * MINUTE)
    timeline.set_clock(people["wang"], 0)  # 9:30: the engineer sets his phone right, still offline
    timeline.advance(10 * MINUTE)
    wang.update("customer", ids["customer"], contact="张伟的女儿")  # 9:40, by the right clock
    timeline.advance(HOUR)
    wang.sync()
    desk.sync()
    assert server_row(engine, "ticket", ids["ticket"])["category"] == "B"
    assert server_row(engine, "customer", ids["customer"])["contact"] == "张伟的女儿"
    assert wang.clock_jumps() == [-skew]
    made = {entry["entity"]: as_ms(datetime.fromisoformat(entry["device_time"]))
            for entry in audit_of(timeline, people["manager"], device_id=people["wang"].device_id)}
    assert made["customer"] - made["ticket"] == 40 * MINUTE  # real time apart, not three days


def test_jump_of_a_phone_that_crashed_before_syncing_is_remembered(people, timeline, engine):
    """The jump goes to the replica with the write stamped after it: a restart resumes on
    the same time line, and the work before the jump is still corrected."""
    desk, wang = timeline.device(people["desk"]), timeline.device(people["wang"], skew_ms=3 * DAY)
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    wang.update("ticket", ids["ticket"], category="A")
    timeline.advance(10 * MINUTE)
    timeline.set_clock(people["wang"], 0)
    wang.update("customer", ids["customer"], contact="张伟的女儿")
    wang.close()  # the app is killed before any sync
    timeline.advance(10 * MINUTE)
    desk.update("ticket", ids["ticket"], category="B")  # later than the engineer's category
    desk.sync()
    timeline.advance(HOUR)
    wang = timeline.device(people["wang"])
    assert wang.clock_jumps() == [-3 * DAY]
    wang.sync()
    assert server_row(engine, "ticket", ids["ticket"])["category"] == "B"
    assert server_row(engine, "customer", ids["customer"])["contact"] == "张伟的女儿"


def test_an_honest_engineer_offline_for_a_day_is_not_skewed(people, timeline, engine):
    desk, wang = timeline.device(people["desk"]), timeline.device(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    made_at = timeline.now
    log = wang.insert("work_log", ticket_id=ids["ticket"], engineer_id=people["wang"].user_id, event="arrived",
                      at="2026-11-23T09:40:00+08:00", note="山区无信号")
    timeline.advance(DAY)
    wang.sync()
    row = server_row(engine, "work_log", log)
    assert row["skew_ms"] is None and as_ms(row["device_time"]) == made_at
    [entry] = audit_of(timeline, people["manager"], entity="work_log", row_id=log)
    assert entry["skew_ms"] == 0  # simulated time stands still during a request


# -- seen writes win whatever the clocks say ---------------------------------------------


def test_a_write_made_after_seeing_another_wins_over_it_whatever_the_clocks_say(people, timeline, engine):
    """A client that sends no sending time (another language, an older release) and runs
    three days slow: its edit of a value it had pulled replaces that value; an edit of a
    value it had not seen is ordered by its clock, and loses."""
    desk, wang = timeline.device(people["desk"]), people["wang"]
    ids = desk_opens_ticket(desk, wang.user_id)
    timeline.advance(HOUR)
    desk.update("ticket", ids["ticket"], category="B")
    desk.sync()
    seen = server_row(engine, "ticket", ids["ticket"])["version"]

    def three_days_slow() -> str:
        return hlc.format_hlc(timeline.now - 3 * DAY, 0, wang.device_id)

    timeline.advance(MINUTE)
    [after_seeing] = _push_without_sending_time(timeline, wang, [
        _mutation(ids["ticket"], three_days_slow(), seen, category="A")])
    assert (after_seeing["status"], server_row(engine, "ticket", ids["ticket"])["category"]) == ("applied", "A")
    timeline.advance(MINUTE)
    desk.update("ticket", ids["ticket"], category="C")
    desk.sync()
    timeline.advance(MINUTE)
    [unseen] = _push_without_sending_time(timeline, wang, [
        _mutation(ids["ticket"], three_days_slow(), seen + 1, category="D")])  # had not seen the desk's C
    assert unseen["status"] == "conflict"
    assert server_row(engine, "ticket", ids["ticket"])["category"] == "C"


def _mutation(row_id: str, stamp: str, base: int, **fields) -> dict:
    return {"mutation_id": new_id(), "entity": "ticket", "id": row_id, "op": "update", "fields": fields,
            "hlc": stamp, "base_version": base}


def _push_without_sending_time(timeline, person, mutations: list[dict]) -> list[dict]:
    body = {"changeset_id": new_id(), "device_id": person.device_id, "schema_version": 1, "mutations": mutations}
    answer = timeline.app.test_client().post("/v1/sync/push", data=orjson.dumps(body),
                                             headers={**auth_header(person), "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.json
    return answer.json["results"]


def test_a_client_that_sends_no_sending_time_keeps_todays_rule(people, timeline, engine):
    desk, wang = timeline.device(people["desk"]), people["wang"]
    ids = desk_opens_ticket(desk, wang.user_id)
    ahead = hlc.format_hlc(timeline.now + 3 * DAY, 0, wang.device_id)
    [result] = _push_without_sending_time(timeline, wang, [_mutation(ids["ticket"], ahead, 2, diagnosis="皮带磨损")])
    assert hlc.wall_of(result["restamped_hlc"]) == timeline.now  # re-stamped: more than 5 minutes ahead
    [entry] = audit_of(timeline, people["manager"], device_id=wang.device_id)
    assert entry["skew_ms"] is None  # not measured


def test_a_sending_time_far_off_orders_the_writes_between_1970_and_their_arrival(people, timeline, engine):
    desk, wang = timeline.device(people["desk"]), people["wang"]
    ids = desk_opens_ticket(desk, wang.user_id)
    for sent_at in (1, 10**15 - 1):
        body = {"changeset_id": new_id(), "device_id": wang.device_id, "schema_version": 1, "sent_at_ms": sent_at,
                "mutations": [_mutation(ids["ticket"], hlc.format_hlc(timeline.now - 1000, 0, wang.device_id), 2,
                                        category="A")]}
        answer = timeline.app.test_client().post("/v1/sync/push", data=orjson.dumps(body),
                                                 headers={**auth_header(wang), "Content-Type": "application/json"})
        assert answer.status_code == 200, answer.json
        assert 0 <= hlc.wall_of(answer.json["results"][0]["restamped_hlc"]) <= timeline.now
        timeline.advance(MINUTE)


# -- the former assignee's window --------------------------------------------------------


@pytest.mark.parametrize("skew", [0, -3 * DAY], ids=["right clock", "3 days slow"])
def test_former_assignees_work_stamped_after_the_reassignment_reached_the_server_is_refused(
        people, timeline, engine, skew):
    """Before the reassignment arrived it was his to do and is kept; after, it is not —
    by his clock corrected, so a slow phone cannot pass later work off as earlier."""
    desk, wang = timeline.device(people["desk"]), timeline.device(people["wang"], skew_ms=skew)
    chen = timeline.device(people["chen"])
    me = people["wang"].user_id
    ids = desk_opens_ticket(desk, me)
    wang.sync()
    wang.update("ticket", ids["ticket"], diagnosis="皮带磨损")
    before = wang.insert("work_log", ticket_id=ids["ticket"], engineer_id=me, event="arrived",
                         at="2026-11-23T09:40:00+08:00")
    timeline.advance(10 * MINUTE)
    desk.update("ticket", ids["ticket"], assignee_id=people["chen"].user_id)
    desk.sync()  # the reassignment reaches the server
    timeline.advance(10 * MINUTE)
    wang.update("ticket", ids["ticket"], actions="更换皮带")  # still offline, did not know
    after = wang.insert("work_log", ticket_id=ids["ticket"], engineer_id=me, event="work_ended",
                        at="2026-11-23T10:00:00+08:00")
    timeline.advance(HOUR)
    wang.sync()
    refused = {(p.entity, p.code) for p in wang.parked()}
    assert refused == {("ticket", "not_your_row"), ("work_log", "not_your_row")}
    row = server_row(engine, "ticket", ids["ticket"])
    assert (row["diagnosis"], row["actions"]) == ("皮带磨损", None)
    assert server_row(engine, "work_log", before)["event"] == "arrived"
    with engine.connect() as conn:
        table = entity_table("work_log")
        assert conn.execute(sa.select(table.c.id).where(table.c.id == after)).first() is None
    chen.sync()
    assert chen.get("ticket", ids["ticket"])["diagnosis"] == "皮带磨损"


def test_former_assignees_signature_taken_in_the_millisecond_the_reassignment_arrived_is_kept(
        people, timeline, engine):
    """Chen's customer signs on his phone, offline, in the very millisecond the desk's
    reassignment to Wang reaches the server: the clocks cannot order the two, and the
    signed report is kept for Wang rather than refused as written after the move."""
    desk, chen = timeline.device(people["desk"]), timeline.device(people["chen"])
    wang = timeline.device(people["wang"])
    ids = desk_opens_ticket(desk, people["chen"].user_id, fault_description="送纸辊卡纸，打印出现褶皱")
    chen.sync()
    timeline.advance(10 * MINUTE)
    signature = complete_and_sign(chen, ids["ticket"])  # offline, at the customer's
    desk.update("ticket", ids["ticket"], assignee_id=people["wang"].user_id)
    desk.sync()  # the reassignment reaches the server, the clock not moved on
    timeline.advance(HOUR)
    chen.sync()
    assert chen.parked() == []
    assert server_row(engine, "signature", signature)["ticket_id"] == ids["ticket"]
    wang.sync()
    assert wang.get("signature", signature)["signer_name"] == "Mr. Liu"


def test_former_assignees_status_move_never_overtakes_the_new_assignees_work(people, timeline, engine):
    desk, wang, chen = (timeline.device(people[name]) for name in ("desk", "wang", "chen"))
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    complete_and_sign(wang, ids["ticket"])  # offline: completed and signed before the reassignment
    timeline.advance(10 * MINUTE)
    desk.update("ticket", ids["ticket"], assignee_id=people["chen"].user_id)
    desk.sync()
    chen.sync()
    timeline.advance(10 * MINUTE)
    chen.update("ticket", ids["ticket"], status="on_site")  # the new assignee starts again
    chen.sync()
    timeline.advance(HOUR)
    wang.sync()
    row = server_row(engine, "ticket", ids["ticket"])
    assert (row["status"], row["diagnosis"]) == ("on_site", "worn drive belt")  # his report is kept
    lost = [c for c in wang.all("conflict").values() if c["field"] == "status"]
    # he learns his move lost, not what the ticket holds since it left him
    assert [(c["kept_value"], c["lost_value"]) for c in lost] == [(None, "completed")]


# -- skew visible per device and per record ----------------------------------------------


def test_skew_is_visible_per_device_and_per_record(people, timeline, engine, database_url, monkeypatch):
    desk, wang = timeline.device(people["desk"]), timeline.device(people["wang"], skew_ms=3 * DAY)
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    made_at = timeline.now
    log = wang.insert("work_log", ticket_id=ids["ticket"], engineer_id=people["wang"].user_id, event="arrived",
                      at="2026-11-23T09:40:00+08:00", note="到达北京市朝阳区客户现场")
    timeline.advance(2 * HOUR)
    wang.sync()
    row = server_row(engine, "work_log", log)
    assert row["skew_ms"] == 3 * DAY and as_ms(row["device_time"]) == made_at  # the official time, corrected
    [entry] = audit_of(timeline, people["manager"], entity="work_log", row_id=log)
    assert entry["skew_ms"] == 3 * DAY
    monkeypatch.setenv("FIELDSYNC_DATABASE_URL", database_url)
    listed = {line.split()[0]: line for line in CliRunner().invoke(main, ["device", "list"]).output.splitlines()}
    assert "3d 00:00:00 fast" in listed[people["wang"].device_id]
    assert "0d 00:00:00 right" in listed[people["desk"].device_id]
    assert "not measured" in listed[people["chen"].device_id]


# -- the engine's clock ------------------------------------------------------------------


def test_steady_wall_takes_out_a_jump_but_not_network_times_slewing():
    now = {"wall": 1_000_000_000, "elapsed": 50}
    steady = SteadyWall(lambda: now["wall"], lambda: now["elapsed"])
    first = steady()
    now["wall"] += HOUR + 2_000  # an hour passed, the wall clock slewed 2 s forward
    now["elapsed"] += HOUR
    assert steady() == first + HOUR + 2_000 and steady.frame_ms == 0
    now["wall"] -= 3 * DAY  # set back three days, no time passing
    assert steady() == first + HOUR + 2_000 and steady.frame_ms == -3 * DAY
    now["wall"] += MINUTE
    now["elapsed"] += MINUTE
    assert steady() == first + HOUR + 2_000 + MINUTE


def test_a_replica_resumes_on_its_time_line_after_a_restart(tmp_path):
    now = {"wall": 1_700_000_000_000, "elapsed": 0}
    replica = Replica(tmp_path / "r.db", "dev", wall=lambda: now["wall"], elapsed=lambda: now["elapsed"])
    replica.insert("customer", name="张伟")
    now["wall"] += 3 * DAY  # set forward three days
    replica.insert("customer", name="李娜")
    replica.close()
    reopened = Replica(tmp_path / "r.db", "dev", wall=lambda: now["wall"], elapsed=lambda: now["elapsed"])
    assert reopened.clock_jumps() == [3 * DAY]
    now["elapsed"] += MINUTE
    now["wall"] += MINUTE
    reopened.insert("customer", name="王芳")
    walls = [hlc.wall_of(r[0]) for r in reopened.db.execute("SELECT hlc FROM _outbox ORDER BY seq")]
    assert walls[1] == walls[0] and walls[2] == walls[0] + MINUTE


# -- what the measurement is trusted with ---------------------------------------------------


def test_an_offset_within_the_tolerance_is_the_requests_time_on_the_wire_and_corrects_nothing():
    """A push whose body took two seconds to upload over a weak link measures the honest
    phone two seconds slow: its stamps stay as the phone made them, so two writes a few
    milliseconds apart on two devices keep their order."""
    arrived = 1_800_000_000_000
    made = hlc.format_hlc(arrived - 60_000, 0, "d-wang")
    over_the_wire = DeviceClock("d-wang", arrived, sent_at_ms=arrived - 2_000, floor=None, tolerance_ms=10_000)
    assert over_the_wire.skew_ms == -2_000
    assert over_the_wire.order(made) == made
    three_days_slow = DeviceClock("d-wang", arrived, sent_at_ms=arrived - 3 * DAY, floor=None, tolerance_ms=10_000)
    made_on_the_slow_phone = hlc.format_hlc(arrived - 3 * DAY - 60_000, 0, "d-wang")  # a minute before sending
    assert hlc.wall_of(three_days_slow.order(made_on_the_slow_phone)) == arrived - 60_000
