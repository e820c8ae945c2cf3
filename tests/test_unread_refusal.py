"""A change-set the server refuses without reading it — too large for the request limit
(413), or malformed (422 naming one mutation) — says nothing about the rows in it. The
mutation it parks leaves its row on the device as it is, the server's row unknown, and
the row's other edits still sync; dismissing the mutation asks the server how it holds
the row (``GET /v1/sync/rows/<entity>/<id>``, answered as a pull would) and puts it back.
"""

from __future__ import annotations

import httpx
import orjson
import pytest
import sqlalchemy as sa

from server.tables import entity_table
from sync.errors import TransportError
from sync.transport import HttpTransport
from tests.conftest import auth_header, http_client
from tests.scenario import desk_opens_ticket

#: What the deployment's proxy lets through: Wang's photo notes will not fit.
BODY_LIMIT = 64 * 1024
FIRST_CARD = {"维修记录": "更换传动皮带，调整张紧轮", "工时": 2.5}
#: about 70 KiB of JSON: the notes on every photo of the worn belt
OVERSIZED_CARD = {"维修记录": "更换传动皮带，调整张紧轮，清理积尘", "工时": 3.5,
                  "照片说明": ["皮带表面龟裂，多处断齿，张紧轮轴承异响。"] * 1250}


def on(app, person) -> HttpTransport:
    return HttpTransport(http_client(app), person.token, sleep=lambda _s: None)


def no_signal(person) -> HttpTransport:
    """The engineer's phone in a basement: every request fails to connect."""
    def refuse(request):
        raise httpx.ConnectError("network is unreachable", request=request)

    client = httpx.Client(transport=httpx.MockTransport(refuse), base_url="http://fieldsync")
    return HttpTransport(client, person.token, sleep=lambda _s: None)


def server_ticket(engine, ticket_id: str) -> dict:
    """The ticket as the server stores it, its repair card read from its JSON."""
    table = entity_table("ticket")
    with engine.connect() as conn:
        row = dict(conn.execute(sa.select(table).where(table.c.id == ticket_id)).mappings().one())
    return {**row, "repair_card": orjson.loads(row["repair_card"]) if row["repair_card"] else None}


def outbox(replica) -> list[tuple]:
    return replica.db.execute("SELECT mutation_id, entity, row_id, op, fields FROM _outbox ORDER BY seq").fetchall()


def corrupt_clock_of_last_outbox_row(replica) -> None:
    """An app bug left an outbox row whose clock the server cannot parse: the change-set
    is refused whole (422), naming that mutation."""
    replica.db.execute("UPDATE _outbox SET hlc = '下午三点' WHERE seq = (SELECT max(seq) FROM _outbox)")


@pytest.fixture
def wangs_ticket(people, replica_for, app_factory):
    """Wang's ticket, his first repair card on it synced, through a 64 KiB request limit."""
    small = app_factory(MAX_CONTENT_LENGTH=BODY_LIMIT)
    desk = replica_for(people["desk"])
    ids = desk_opens_ticket(desk, people["wang"].user_id, fault_description="印刷机运行十分钟后停机")
    wang = replica_for(people["wang"], transport=on(small, people["wang"]))
    wang.sync()
    wang.update("ticket", ids["ticket"], repair_card=FIRST_CARD)
    wang.sync()
    return wang, ids


def test_wangs_oversized_repair_card_edit_is_parked_and_his_ticket_stays_with_its_other_edits_synced(
        people, wangs_ticket, engine):
    wang, ids = wangs_ticket
    ticket = ids["ticket"]
    wang.update("ticket", ticket, diagnosis="传动皮带磨损")
    wang.update("ticket", ticket, repair_card=OVERSIZED_CARD)
    wang.update("ticket", ticket, actions="更换传动皮带")
    log = wang.insert("work_log", ticket_id=ticket, engineer_id=people["wang"].user_id, event="arrived")

    report = wang.sync()

    assert (report.rejected, wang.pending()) == (1, 0)
    [parked] = wang.parked()
    assert (parked.code, parked.fields, parked.server_row, parked.server_row_unknown) == (
        "too_large", {"repair_card": OVERSIZED_CARD}, None, True)
    stored = server_ticket(engine, ticket)
    assert (stored["diagnosis"], stored["actions"], stored["repair_card"]) == ("传动皮带磨损", "更换传动皮带", FIRST_CARD)
    mine = wang.get("ticket", ticket)
    assert mine is not None, "the ticket left Wang's device"
    assert (mine["diagnosis"], mine["actions"], mine["repair_card"]) == ("传动皮带磨损", "更换传动皮带", FIRST_CARD)
    assert wang.get("work_log", log) is not None


def test_dismissing_wangs_oversized_repair_card_brings_back_the_servers_card_and_keeps_his_later_edit(
        people, wangs_ticket, engine):
    wang, ids = wangs_ticket
    ticket = ids["ticket"]
    wang.update("ticket", ticket, repair_card=OVERSIZED_CARD)
    wang.insert("work_log", ticket_id=ticket, engineer_id=people["wang"].user_id, event="departed")
    assert wang.sync().rejected == 1
    assert wang.get("ticket", ticket)["repair_card"] == OVERSIZED_CARD  # left as he made it, not deleted
    [parked] = wang.parked()
    connected = wang.transport
    wang.update("ticket", ticket, result="运行正常")  # later, with no signal

    wang.transport = no_signal(people["wang"])
    before = (wang.parked(), wang.get("ticket", ticket), outbox(wang))
    with pytest.raises(TransportError, match="could not be reached"):
        wang.dismiss_mutation(parked.mutation_id)
    assert (wang.parked(), wang.get("ticket", ticket), outbox(wang)) == before

    wang.transport = connected
    wang.dismiss_mutation(parked.mutation_id)
    mine = wang.get("ticket", ticket)
    assert (mine["repair_card"], mine["result"]) == (FIRST_CARD, "运行正常")
    assert (wang.parked(), wang.pending()) == ([], 1)
    wang.sync()
    stored = server_ticket(engine, ticket)
    assert (stored["result"], stored["repair_card"]) == ("运行正常", FIRST_CARD)
    assert wang.get("ticket", ticket)["repair_card"] == FIRST_CARD


def test_a_malformed_repair_card_edit_is_parked_its_ticket_stays_and_dismissing_restores_the_servers_card(
        people, wangs_ticket, engine):
    wang, ids = wangs_ticket
    ticket = ids["ticket"]
    wang.update("ticket", ticket, repair_card={"维修记录": "更换传动皮带和张紧轮", "工时": 4})
    corrupt_clock_of_last_outbox_row(wang)
    wang.update("ticket", ticket, cause="长期未清理积尘")

    report = wang.sync()

    assert (report.rejected, wang.pending()) == (1, 0)
    [parked] = wang.parked()
    assert (parked.code, parked.field, parked.server_row, parked.server_row_unknown) == (
        "invalid", "mutations[0].hlc", None, True)
    assert server_ticket(engine, ticket)["cause"] == "长期未清理积尘"
    mine = wang.get("ticket", ticket)
    assert mine is not None and mine["cause"] == "长期未清理积尘"

    wang.dismiss_mutation(parked.mutation_id)
    assert wang.get("ticket", ticket)["repair_card"] == FIRST_CARD
    assert (wang.parked(), wang.pending()) == ([], 0)


def test_a_malformed_repair_card_edit_retried_goes_with_a_new_clock_though_the_row_holds_it_already(
        people, wangs_ticket, engine):
    wang, ids = wangs_ticket
    ticket = ids["ticket"]
    card = {"维修记录": "更换传动皮带和张紧轮", "工时": 4}
    wang.update("ticket", ticket, repair_card=card)
    corrupt_clock_of_last_outbox_row(wang)
    assert wang.sync().rejected == 1
    [parked] = wang.parked()
    assert wang.get("ticket", ticket)["repair_card"] == card  # the row holds the refused card

    wang.retry_mutation(parked.mutation_id)

    assert wang.pending() == 1
    assert (wang.sync().rejected, wang.parked()) == (0, [])
    assert server_ticket(engine, ticket)["repair_card"] == card


def test_a_parked_edit_dismissed_after_the_desk_gave_the_ticket_to_chen_takes_the_ticket_off_wangs_device(
        people, replica_for, wangs_ticket):
    wang, ids = wangs_ticket
    ticket = ids["ticket"]
    wang.update("ticket", ticket, repair_card={"维修记录": "待更换主板"})
    corrupt_clock_of_last_outbox_row(wang)
    wang.push()
    [parked] = wang.parked()
    desk = replica_for(people["desk"])
    desk.update("ticket", ticket, assignee_id=people["chen"].user_id)
    desk.sync()

    wang.dismiss_mutation(parked.mutation_id)  # before any pull tells him

    assert wang.get("ticket", ticket) is None and wang.parked() == []


def test_row_endpoint_answers_another_engineers_ticket_with_404_and_the_office_and_its_engineer_with_the_row(
        people, replica_for, client, engine):
    desk = replica_for(people["desk"])
    ids = desk_opens_ticket(desk, people["wang"].user_id, fault_description="复印机卡纸，显示错误代码E302")
    gone = desk.insert("customer", name="北京市朝阳区华信印刷厂（已注销）", zone="ring3")
    desk.sync()
    desk.delete("customer", gone)
    desk.sync()
    path = f"/v1/sync/rows/ticket/{ids['ticket']}"
    version = server_ticket(engine, ids["ticket"])["version"]

    for name in ("desk", "manager", "wang"):
        answer = client.get(path, headers=auth_header(people[name]))
        assert answer.status_code == 200, name
        assert (answer.json["entity"], answer.json["id"], answer.json["version"]) == ("ticket", ids["ticket"], version)
        assert answer.json["data"]["fault_description"] == "复印机卡纸，显示错误代码E302"

    refusals = [client.get(p, headers=auth_header(people[who])) for who, p in [
        ("chen", path),  # Wang's ticket
        ("depot", path),
        ("desk", f"/v1/sync/rows/customer/{gone}"),  # deleted
        ("desk", "/v1/sync/rows/ticket/never-stored-01"),
        ("desk", f"/v1/sync/rows/user/{people['wang'].user_id}"),  # not a synced entity
        ("desk", f"/v1/sync/rows/ticket/{'a' * 65}"),
        ("desk", "/v1/sync/rows/ticket/a%00b"),  # a NUL PostgreSQL would refuse to compare
    ]]
    assert {(r.status_code, r.json["code"], r.json["message"]) for r in refusals} == {
        (404, "not_found", "no such row for you: not stored, deleted, or not in your scope")}


def test_a_contracts_terms_are_absent_from_the_row_an_engineer_reads_and_there_for_the_office(
        people, replica_for, client):
    desk = replica_for(people["desk"])
    contract = desk.insert("contract", number="MC-2611-017", response_hours=4.0,
                           terms="年费两万元；逾期到场每小时扣款五百元")
    desk_opens_ticket(desk, people["wang"].user_id, contract_id=contract)
    path = f"/v1/sync/rows/contract/{contract}"

    engineer = client.get(path, headers=auth_header(people["wang"]))
    office = client.get(path, headers=auth_header(people["desk"]))

    assert engineer.status_code == 200 and "terms" not in engineer.json["data"]
    assert engineer.json["data"]["response_hours"] == 4.0
    assert office.json["data"]["terms"] == "年费两万元；逾期到场每小时扣款五百元"
    assert client.get(path, headers=auth_header(people["chen"])).status_code == 404
