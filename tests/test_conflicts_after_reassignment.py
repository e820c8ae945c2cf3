"""A former assignee hears that his work lost, never what the ticket holds since it left him.

刘强 worked a ticket offline while the desk gave it to 王伟; 王伟 then diagnosed it and
the desk took the customer's new phone number. 刘强's offline writes made before the
ticket left him are accepted (he could not know) and lose by the clock, those made after
are refused — but neither the answer to his push nor
the conflict records his devices pull may carry what was written after the ticket left
him: the answer has his own values, the rule's verdict and ``left_your_scope``; the
records he pulls have his value and a null ``kept_value``; head office keeps both sides.
"""

from __future__ import annotations

import orjson
import pytest

from server.auth import add_device, add_user
from tests.conftest import Person, auth_header
from tests.scenario import desk_opens_ticket

HIS_DIAGNOSIS, HIS_PHONE = "皮带打滑", "010-6555-0111"
WANGS_DIAGNOSIS, NEW_PHONE = "主轴轴承卡死，需更换轴承", "010-6555-0222"


@pytest.fixture
def liu(engine) -> Person:
    with engine.begin() as conn:
        add_user(conn, "刘强", "engineer", user_id="u-liu")
        _, token = add_device(conn, "u-liu", "刘强的手机", device_id="d-liu")
    return Person("u-liu", "engineer", "d-liu", token)


def _replica_text(replica) -> str:
    """Everything the device holds, every table, as SQL text."""
    return "\n".join(replica.db.iterdump())


def _pulled_text(client, person: Person) -> str:
    """Everything a fresh replica of ``person`` would pull, as text."""
    body = client.get("/v1/sync/pull?limit=5000", headers=auth_header(person)).json
    return orjson.dumps(body).decode()


def _reassigned_while_offline(people, timeline, liu, *, liu_skew_ms=0):
    """The desk opens a ticket for 刘强, he syncs and goes offline; the desk gives it to 王伟."""
    desk, wang = timeline.device(people["desk"]), timeline.device(people["wang"])
    offline = timeline.device(liu, skew_ms=liu_skew_ms)
    ids = desk_opens_ticket(desk, liu.user_id, fault_description="开机十分钟后停机")
    desk.update("customer", ids["customer"], name="北京华信印刷厂", address="北京市朝阳区建国路88号")
    desk.sync()
    offline.sync()
    return desk, wang, offline, ids


def test_former_assignee_whose_offline_work_loses_gets_back_none_of_the_new_engineers_values(
        people, timeline, liu, client):
    # 刘强's phone runs a minute slow: what he writes offline is ordered before the rest
    desk, wang, old, ids = _reassigned_while_offline(people, timeline, liu, liu_skew_ms=-60_000)
    timeline.advance(60_000)
    old.update("ticket", ids["ticket"], diagnosis=HIS_DIAGNOSIS)
    old.update("customer", ids["customer"], phone=HIS_PHONE)
    timeline.advance(60_000)  # a minute later the desk gives the ticket to 王伟
    desk.update("ticket", ids["ticket"], assignee_id=people["wang"].user_id)
    desk.sync()
    wang.sync()
    timeline.advance(60_000)
    wang.update("ticket", ids["ticket"], diagnosis=WANGS_DIAGNOSIS)
    wang.sync()
    desk.sync()
    timeline.advance(60_000)
    desk.update("customer", ids["customer"], phone=NEW_PHONE)
    desk.sync()

    report = old.sync()

    assert (report.rejected, report.conflicts) == (0, 2)
    told = {note["entity"]: note for note in old.conflicts()}
    for entity, his in (("ticket", HIS_DIAGNOSIS), ("customer", HIS_PHONE)):
        answer = told[entity]
        assert answer["code"] == "left_your_scope" and answer.get("server_row") is None
        [note] = answer["conflicts"]
        assert (note["winner"], note["lost_value"], note["kept_value"], note["kept_hlc"]) == ("stored", his, None, None)
        assert note["withheld"] is True
    records = {(c["entity"], c["field"]): c for c in old.all("conflict").values()}
    assert records[("ticket", "diagnosis")]["lost_value"] == HIS_DIAGNOSIS
    assert records[("customer", "phone")]["lost_value"] == HIS_PHONE
    assert all(c["kept_value"] is None and c["withheld"] is None for c in records.values())
    for text in (_replica_text(old), _pulled_text(client, liu)):
        assert WANGS_DIAGNOSIS not in text and NEW_PHONE not in text
    assert old.get("ticket", ids["ticket"]) is None and old.get("customer", ids["customer"]) is None

    desk.sync()  # head office keeps both sides of each record
    office = {(c["entity"], c["field"]): c for c in desk.all("conflict").values() if c["device_id"] == liu.device_id}
    assert office[("ticket", "diagnosis")]["withheld"]["kept_value"] == WANGS_DIAGNOSIS
    assert office[("customer", "phone")]["withheld"]["kept_value"] == NEW_PHONE
    wang.sync()
    assert wang.get("ticket", ids["ticket"])["diagnosis"] == WANGS_DIAGNOSIS
    assert wang.get("customer", ids["customer"])["phone"] == NEW_PHONE


def test_former_assignees_write_made_after_the_ticket_left_him_is_refused_and_tells_him_nothing(
        people, timeline, liu, client):
    desk, wang, old, ids = _reassigned_while_offline(people, timeline, liu)
    timeline.advance(60_000)
    desk.update("ticket", ids["ticket"], assignee_id=people["wang"].user_id)
    desk.sync()
    wang.sync()
    timeline.advance(60_000)
    wang.update("ticket", ids["ticket"], diagnosis=WANGS_DIAGNOSIS)
    wang.sync()
    timeline.advance(60_000)
    old.update("ticket", ids["ticket"], diagnosis=HIS_DIAGNOSIS)  # later, still offline, still unaware

    old.sync()

    [refused] = old.parked()
    assert (refused.code, refused.server_row) == ("not_your_row", None)
    for text in (_replica_text(old), _pulled_text(client, liu)):
        assert WANGS_DIAGNOSIS not in text
    wang.sync()  # the ticket is 王伟's: his diagnosis stands, and nobody overruled him
    assert wang.get("ticket", ids["ticket"])["diagnosis"] == WANGS_DIAGNOSIS
    assert [c for c in wang.all("conflict").values() if c["field"] == "diagnosis"] == []
