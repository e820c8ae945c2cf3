"""The seeds' controls hold by data: approvals cover exactly what was approved, nobody
approves or pays what they claim, and requisitions drive issues — on the real app with
real replicas, whichever order offline devices' writes arrive in.

王伟 (wang) and 陈明 (chen) are engineers, the manager approves and pays, the desk takes
calls, the depot keeper issues parts.
"""

from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest
import sqlalchemy as sa

from server.auth import add_device
from server.domain.approvals import advance_balances
from server.tables import entity_table
from sync.client import Replica
from sync.rules.lww import node_of
from sync.transport import HttpTransport
from tests.conftest import Person, auth_header, http_client
from tests.scenario import desk_opens_ticket, stock_setup

MINUTE = 60_000


def server_row(engine, entity, row_id):
    table = entity_table(entity)
    with engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().one()
    decoded = dict(row)
    for name in ("approval_history", "authors", "lines", "receipts"):
        if isinstance(decoded.get(name), str):
            decoded[name] = orjson.loads(decoded[name])
    return decoded


def notes_on(replica: Replica, row_id: str, rule: str) -> list[dict]:
    return [{"id": i, **c} for i, c in replica.all("conflict").items() if c["row_id"] == row_id and c["rule"] == rule]


def events(row: dict) -> list[str]:
    return [entry["event"] for entry in row["approval_history"] or []]


def file_claim(wang: Replica, people, amount: float = 800.0, **fields) -> str:
    return wang.insert("expense_claim", engineer_id=people["wang"].user_id, kind="claim", amount=amount,
                       description="北京至天津往返高铁及市内交通", **fields)


def on_app(app, tmp_path):
    """``open(person)``: that person's replica talking to ``app``."""
    opened = []

    def open_(person: Person) -> Replica:
        opened.append(Replica(tmp_path / f"{person.device_id}.configured", person.device_id,
                              HttpTransport(http_client(app), person.token, sleep=lambda _s: None)))
        return opened[-1]

    return open_, opened


def test_engineer_approving_or_paying_his_own_expense_claim_is_refused(people, replica_for, engine):
    wang, manager = replica_for(people["wang"]), replica_for(people["manager"])
    claim = file_claim(wang, people)
    wang.sync()
    wang.update("expense_claim", claim, status="approved")
    wang.sync()
    assert wang.parked()[-1].code == "not_an_approver"
    assert wang.get("expense_claim", claim)["status"] is None  # put back as the server holds it
    manager.sync()
    manager.update("expense_claim", claim, status="approved", decision_note="同意报销")
    manager.sync()
    wang.sync()
    wang.update("expense_claim", claim, status="paid")
    wang.sync()
    assert wang.parked()[-1].code == "not_an_approver"
    row = server_row(engine, "expense_claim", claim)
    assert (row["status"], row["decided_by"]) == ("approved", people["manager"].user_id)


def test_engineer_allowed_to_approve_still_never_approves_his_own_claim(app_factory, people, tmp_path):
    app = app_factory(DOMAIN={"approvers": {"expense_claim": ["engineer", "manager"]}})
    open_, opened = on_app(app, tmp_path)
    wang = open_(people["wang"])
    claim = file_claim(wang, people)
    wang.sync()
    wang.update("expense_claim", claim, status="approved")
    wang.sync()
    assert wang.parked()[-1].code == "own_approval"
    for replica in opened:
        replica.close()


def test_manager_never_approves_a_part_sale_he_wrote_himself(people, replica_for, engine):
    desk, manager = replica_for(people["desk"]), replica_for(people["manager"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id, category="A")["ticket"]
    manager.sync()
    sale = manager.insert("charge", ticket_id=ticket, kind="part_sale", amount=1200.0, description="压缩机启动电容")
    manager.sync()
    manager.update("charge", sale, status="approved")
    manager.sync()
    assert manager.parked()[-1].code == "own_approval"
    assert server_row(engine, "charge", sale)["authors"] == [people["manager"].user_id]
    assert server_row(engine, "charge", sale)["status"] is None


def test_amount_raised_after_approval_voids_it_and_the_manager_sees_the_note(people, replica_for, engine, client):
    wang, manager = replica_for(people["wang"]), replica_for(people["manager"])
    claim = file_claim(wang, people)
    wang.sync()
    manager.sync()
    manager.update("expense_claim", claim, status="approved")
    manager.sync()
    wang.sync()
    assert wang.get("expense_claim", claim)["status"] == "approved"
    wang.update("expense_claim", claim, amount=5000.0, description="北京至天津往返高铁及住宿五晚")
    wang.sync()
    row = server_row(engine, "expense_claim", claim)
    assert (row["amount"], row["status"], row["decided_by"]) == (5000.0, "submitted", None)
    approved, voided = row["approval_history"]
    assert (approved["event"], approved["by"], approved["covers"]["amount"]) == (
        "approved", people["manager"].user_id, 800.0)
    assert (voided["event"], voided["by"], voided["changed"]) == (
        "voided", people["wang"].user_id, {"amount": [800.0, 5000.0]})
    manager.sync()
    [note] = notes_on(manager, claim, "approval")
    assert (note["field"], note["lost_value"], note["kept_value"]) == ("status", "approved", "submitted")
    [waiting] = client.get("/v1/office/approvals", headers=auth_header(people["manager"])).json["pending"]
    assert (waiting["id"], waiting["voided"], waiting["covers"]["amount"]) == (claim, True, 5000.0)
    restore = client.post(f"/v1/office/conflicts/{note['id']}/resolve", headers=auth_header(people["desk"]),
                          json={"choose": "lost", "reason": "恢复原审批"})
    # settling a note approves nothing: the write is refused with the rule's own code
    assert (restore.status_code, restore.json["code"]) == (422, "not_an_approver")
    assert server_row(engine, "expense_claim", claim)["status"] == "submitted"
    manager.update("expense_claim", claim, status="approved")  # he has seen 5,000 now
    manager.sync()
    assert server_row(engine, "expense_claim", claim)["status"] == "approved"


def test_the_managers_waiting_list_holds_every_record_awaiting_a_decision_and_nothing_else(
        people, replica_for, client):
    desk, wang, manager = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["manager"])
    where = stock_setup(desk, people)
    ticket = desk_opens_ticket(desk, people["wang"].user_id, category="A")["ticket"]
    wang.sync()
    reopened = file_claim(wang, people, status="submitted")
    wang.sync()
    withdrawn = file_claim(wang, people, amount=120.0)
    wang.sync()
    decided = file_claim(wang, people, amount=60.0)
    wang.sync()
    # a requisition sent without a status waits as submitted
    requisition = wang.insert("requisition", engineer_id=people["wang"].user_id, ticket_id=ticket,
                              depot_location_id=where["depot"], van_location_id=where["van_wang"],
                              lines=[{"part_id": where["part"], "qty": 2.0}], reason="更换传动皮带")
    wang.sync()
    desk.sync()
    sale = desk.insert("charge", ticket_id=ticket, kind="part_sale", amount=1200.0, description="压缩机启动电容")
    desk.sync()
    # at the threshold (500) a part sale needs no approval; labour never does; a deleted sale waits for nothing
    desk.insert("charge", ticket_id=ticket, kind="part_sale", amount=500.0, description="保险丝十只")
    desk.insert("charge", ticket_id=ticket, kind="labour", amount=1200.0, description="夜间加急上门工时")
    mistaken = desk.insert("charge", ticket_id=ticket, kind="part_sale", amount=2000.0, description="录错的配件销售")
    desk.sync()
    desk.delete("charge", mistaken)
    desk.sync()
    # approved, voided by a raise, refused, reopened by another raise: waiting again, and
    # not voided, whatever its second entry says; the 120 approved, then withdrawn by Wang, is
    manager.sync()
    for claim in (reopened, withdrawn, decided):
        manager.update("expense_claim", claim, status="approved")
    manager.sync()
    wang.sync()
    wang.update("expense_claim", withdrawn, status="submitted")  # he takes it back to correct it
    wang.update("expense_claim", reopened, amount=900.0)
    wang.sync()
    manager.sync()
    manager.update("expense_claim", reopened, status="refused", decision_note="超出差旅标准")
    manager.sync()
    wang.sync()
    wang.update("expense_claim", reopened, amount=950.0)
    wang.sync()
    waiting = client.get("/v1/office/approvals", headers=auth_header(people["manager"])).json["pending"]
    assert [(w["entity"], w["id"], w["status"]) for w in waiting] == [
        ("expense_claim", reopened, "submitted"), ("expense_claim", withdrawn, "submitted"),
        ("requisition", requisition, "submitted"), ("charge", sale, "submitted")]
    assert [[entry["event"] for entry in w["history"]] for w in waiting] == [
        ["approved", "voided", "refused", "reopened"], ["approved", "withdrawn"], [], []]
    assert [w["voided"] for w in waiting] == [False, True, False, False]
    _, _, needed, sold = waiting
    assert needed["covers"] == {"engineer_id": people["wang"].user_id, "depot_location_id": where["depot"],
                                "van_location_id": where["van_wang"], "lines": [{"part_id": where["part"], "qty": 2.0}]}
    assert sold["covers"] == {"ticket_id": ticket, "kind": "part_sale", "amount": 1200.0}
    assert [(w["claimant_id"], w["authors"]) for w in waiting] == [
        *[(people["wang"].user_id, [people["wang"].user_id])] * 3, (None, [people["desk"].user_id])]


def test_part_sale_raised_from_800_to_5000_after_the_manager_approved_800_is_not_paid(people, replica_for, engine):
    desk, wang, manager = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["manager"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id, category="A")["ticket"]
    wang.sync()
    sale = wang.insert("charge", ticket_id=ticket, kind="part_sale", amount=800.0, description="变频器主板一块")
    wang.sync()
    manager.sync()
    manager.update("charge", sale, status="approved")
    manager.sync()
    wang.sync()
    wang.update("charge", sale, amount=5000.0, description="变频器主板及驱动模块")
    wang.update("charge", sale, paid=True, collected_on_site=True)
    wang.sync()
    assert wang.parked()[-1].code == "approval_required"
    row = server_row(engine, "charge", sale)
    assert (row["amount"], row["status"], row["approved_by"], bool(row["paid"])) == (5000.0, "submitted", None, False)
    manager.sync()
    assert [n["lost_value"] for n in notes_on(manager, sale, "approval")] == ["approved"]


def test_a_paid_part_sale_keeps_the_amount_that_was_paid(people, replica_for, engine):
    desk, wang, manager = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["manager"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id, category="A")["ticket"]
    wang.sync()
    sale = wang.insert("charge", ticket_id=ticket, kind="part_sale", amount=800.0, description="变频器主板一块")
    wang.sync()
    manager.sync()
    manager.update("charge", sale, status="approved")
    manager.sync()
    wang.sync()
    wang.update("charge", sale, paid=True, collected_on_site=True)
    wang.update("charge", sale, amount=5000.0)
    wang.sync()
    assert wang.parked()[-1].code == "already_paid"
    row = server_row(engine, "charge", sale)
    assert (row["amount"], row["status"], bool(row["paid"])) == (800.0, "approved", True)


def test_desk_cannot_approve_a_requisition_unless_the_deployment_allows_it(
        people, replica_for, engine, app_factory, tmp_path):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    where = stock_setup(desk, people)
    wang.sync()
    requisition = wang.insert("requisition", engineer_id=people["wang"].user_id, depot_location_id=where["depot"],
                              van_location_id=where["van_wang"], lines=[{"part_id": where["part"], "qty": 2}],
                              reason="明日巡检备用皮带")
    wang.sync()
    desk.sync()
    desk.update("requisition", requisition, status="approved")
    desk.sync()
    assert desk.parked()[-1].code == "not_an_approver"
    assert server_row(engine, "requisition", requisition)["status"] is None

    allowing = app_factory(DOMAIN={"approvers": {"requisition": ["desk", "manager"]}})
    open_, opened = on_app(allowing, tmp_path)
    desk_there = open_(people["desk"])
    desk_there.sync()
    desk_there.update("requisition", requisition, status="approved")
    desk_there.sync()
    row = server_row(engine, "requisition", requisition)
    assert (row["status"], row["approved_by"]) == ("approved", people["desk"].user_id)
    for replica in opened:
        replica.close()


def approved_requisition(people, replica_for, qty: float = 2) -> tuple[dict, str, dict[str, Replica]]:
    """王伟 asks for ``qty`` belts for his van; the manager approves; the depot has pulled it."""
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    manager, depot = replica_for(people["manager"]), replica_for(people["depot"])
    where = stock_setup(desk, people)
    desk.insert("stock_movement", kind="receive", part_id=where["part"], qty=10.0, to_location_id=where["depot"])
    desk.sync()
    wang.sync()
    requisition = wang.insert("requisition", engineer_id=people["wang"].user_id, depot_location_id=where["depot"],
                              van_location_id=where["van_wang"], lines=[{"part_id": where["part"], "qty": qty}],
                              reason="更换磨损皮带")
    wang.sync()
    manager.sync()
    manager.update("requisition", requisition, status="approved")
    manager.sync()
    depot.sync()
    return where, requisition, {"desk": desk, "wang": wang, "manager": manager, "depot": depot}


def issue(depot: Replica, where: dict, requisition: str, qty: float, part: str | None = None) -> str:
    return depot.insert("stock_movement", kind="issue", part_id=part or where["part"], qty=qty,
                        from_location_id=where["depot"], to_location_id=where["van_wang"],
                        requisition_id=requisition, note="领料出库")


def test_issuing_more_than_the_requisition_approved_is_refused_with_over_issue(people, replica_for, engine, client):
    where, requisition, devices = approved_requisition(people, replica_for)
    depot, desk = devices["depot"], devices["desk"]
    first = issue(depot, where, requisition, 1.0)
    depot.sync()
    issue(depot, where, requisition, 2.0)
    depot.sync()
    over = depot.parked()[-1]
    assert (over.code, over.field) == ("over_issue", "qty")
    assert "2 more" in over.message
    last = issue(depot, where, requisition, 1.0)
    depot.sync()
    assert server_row(engine, "stock_movement", last)["qty"] == 1.0 and server_row(engine, "stock_movement", first)
    assert depot.get("requisition", requisition)["issued"] is True
    fuse = desk.insert("part", code="FUS-10", name="保险丝 10A", unit="个", price=2.0)
    desk.sync()
    depot.sync()
    issue(depot, where, requisition, 1.0, part=fuse)
    depot.insert("stock_movement", kind="transfer", part_id=where["part"], qty=1.0, from_location_id=where["depot"],
                 to_location_id=where["van_wang"], note="直接调拨")
    depot.sync()
    assert [p.code for p in depot.parked()[-2:]] == ["issue_not_as_requested", "requisition_required"]
    [van] = client.get("/v1/depot/vans", headers=auth_header(people["depot"])).json["vans"]
    [balance] = van["requisitions"]
    assert (van["location_id"], van["engineer_id"]) == (where["van_wang"], people["wang"].user_id)
    assert [lv["qty"] for lv in van["stock"]] == [2.0]
    assert balance["lines"] == [{"part_id": where["part"], "asked": 2.0, "approved": 2.0, "issued": 2.0, "left": 0.0,
                                 "over": 0.0}]


@pytest.mark.parametrize("first", ["approval", "amount change"])
def test_approval_and_an_offline_amount_change_in_either_order_never_approve_more_than_was_approved(
        people, replica_for, engine, first):
    wang, manager = replica_for(people["wang"]), replica_for(people["manager"])
    claim = file_claim(wang, people)
    wang.sync()
    manager.sync()
    wang.update("expense_claim", claim, amount=5000.0)  # both offline
    manager.update("expense_claim", claim, status="approved")
    order = [manager, wang] if first == "approval" else [wang, manager]
    for device in order:
        device.sync()
    for device in (wang, manager):
        device.sync()
    row = server_row(engine, "expense_claim", claim)
    assert row["amount"] == 5000.0
    assert (row["status"] or "submitted") == "submitted"
    assert all(e["covers"]["amount"] == 800.0 for e in row["approval_history"] or [] if e["event"] == "approved")
    if first == "approval":
        assert events(row) == ["approved", "voided"]
        assert notes_on(manager, claim, "approval")
    else:
        assert manager.parked()[-1].code == "approval_outdated"
        assert events(row) == []
    assert wang.get("expense_claim", claim)["status"] == manager.get("expense_claim", claim)["status"] == row["status"]


@pytest.mark.parametrize("first", ["approval", "lines change"])
def test_requisition_approval_and_an_offline_change_of_its_lines_in_either_order_never_cover_the_new_lines(
        people, replica_for, engine, first):
    desk, wang, manager = replica_for(people["desk"]), replica_for(people["wang"]), replica_for(people["manager"])
    where = stock_setup(desk, people)
    wang.sync()
    requisition = wang.insert("requisition", engineer_id=people["wang"].user_id, depot_location_id=where["depot"],
                              van_location_id=where["van_wang"], lines=[{"part_id": where["part"], "qty": 2}],
                              reason="更换磨损皮带")
    wang.sync()
    manager.sync()
    wang.update("requisition", requisition, lines=[{"part_id": where["part"], "qty": 20}])
    manager.update("requisition", requisition, status="approved")
    for device in ([manager, wang] if first == "approval" else [wang, manager]):
        device.sync()
    row = server_row(engine, "requisition", requisition)
    assert row["lines"] == [{"part_id": where["part"], "qty": 20}] and row["status"] != "approved"
    assert all(e["covers"]["lines"] == [{"part_id": where["part"], "qty": 2}]
               for e in row["approval_history"] or [] if e["event"] == "approved")


@pytest.fixture
def on_time(timeline, people):
    """The depot keeper's two tablets, 王伟's phone and the manager's laptop on simulated
    time, with a requisition for 2 belts the manager approved and the tablets pulled."""
    with timeline.app.extensions["fieldsync"].engine.begin() as conn:
        device_id, token = add_device(conn, people["depot"].user_id, "second tablet", device_id="d-depot-2")
    tablet_b = Person(people["depot"].user_id, "depot", device_id, token)
    devices = {name: timeline.device(people[name]) for name in ("desk", "wang", "manager")}
    devices["tablet_a"], devices["tablet_b"] = timeline.device(people["depot"]), timeline.device(tablet_b)
    where = stock_setup(devices["desk"], people)
    devices["desk"].insert("stock_movement", kind="receive", part_id=where["part"], qty=10.0,
                           to_location_id=where["depot"])
    devices["desk"].sync()
    devices["wang"].sync()
    requisition = devices["wang"].insert("requisition", engineer_id=people["wang"].user_id,
                                         depot_location_id=where["depot"], van_location_id=where["van_wang"],
                                         lines=[{"part_id": where["part"], "qty": 2}], reason="更换磨损皮带")
    devices["wang"].sync()
    timeline.advance(MINUTE)
    devices["manager"].sync()
    devices["manager"].update("requisition", requisition, status="approved")
    devices["manager"].sync()
    for name in ("tablet_a", "tablet_b", "wang"):
        devices[name].sync()
    timeline.advance(MINUTE)
    return where, requisition, devices


def test_two_tablets_issuing_the_same_belts_offline_both_count_and_the_excess_shows_for_the_approver(
        on_time, timeline, people, engine):
    where, requisition, devices = on_time
    first = issue(devices["tablet_a"], where, requisition, 1.0)
    timeline.advance(MINUTE)
    second = issue(devices["tablet_b"], where, requisition, 2.0)  # offline: it cannot know of the first
    timeline.advance(MINUTE)
    devices["tablet_a"].sync()
    timeline.advance(MINUTE)
    devices["tablet_b"].sync()
    assert devices["tablet_b"].parked() == []
    assert server_row(engine, "stock_movement", first) and server_row(engine, "stock_movement", second)
    vans = timeline.app.test_client().get("/v1/depot/vans", headers=auth_header(people["depot"])).json["vans"]
    [line] = vans[0]["requisitions"][0]["lines"]
    assert (line["approved"], line["issued"], line["over"]) == (2.0, 3.0, 1.0)
    assert [lv["qty"] for lv in vans[0]["stock"]] == [3.0]  # the belts are in the van: the ledger says so
    devices["manager"].sync()
    [note] = notes_on(devices["manager"], second, "over_issue")
    approved_at = [e["at"] for e in server_row(engine, "requisition", requisition)["approval_history"]
                   if e["event"] == "approved"]
    assert (note["kept_value"], note["lost_value"], note["lost_hlc"]) == (2.0, 1.0, approved_at[-1])  # one was left when it was made
    assert (note["entity"], note["field"], note["winner"]) == ("stock_movement", "qty", "incoming")
    assert (node_of(note["kept_hlc"]), note["device_id"]) == ("d-depot-2", people["manager"].device_id)
    assert notes_on(devices["manager"], first, "over_issue") == []  # within the approval: nothing to see
    timeline.advance(MINUTE)
    issue(devices["tablet_b"], where, requisition, 1.0)  # made after the others' issues reached the server
    devices["tablet_b"].sync()
    assert devices["tablet_b"].parked()[-1].code == "over_issue"


def test_belts_issued_offline_while_the_engineer_changed_his_requisition_stay_in_the_ledger(
        on_time, timeline, people, engine):
    where, requisition, devices = on_time
    handed = issue(devices["tablet_a"], where, requisition, 2.0)  # offline, under the approval it had pulled
    one_more = issue(devices["tablet_a"], where, requisition, 1.0)  # beyond it even then
    timeline.advance(MINUTE)
    devices["wang"].update("requisition", requisition, lines=[{"part_id": where["part"], "qty": 3}])
    devices["wang"].sync()  # the approval is void from here on
    timeline.advance(MINUTE)
    devices["tablet_a"].sync()
    assert [(p.row_id, p.code, p.message) for p in devices["tablet_a"].parked()] == [
        (one_more, "over_issue", "the requisition's approval covers 2 of this part and 2 were issued: 1 more is over it")]
    assert server_row(engine, "stock_movement", handed)["qty"] == 2.0
    devices["manager"].sync()
    [note] = notes_on(devices["manager"], handed, "over_issue")  # kept: over what is approved now (nothing)
    assert (note["kept_value"], note["lost_value"]) == (2.0, 0.0)
    row = server_row(engine, "requisition", requisition)
    assert (row["status"], events(row)) == ("submitted", ["approved", "voided"])
    vans = timeline.app.test_client().get("/v1/depot/vans", headers=auth_header(people["manager"])).json["vans"]
    [line] = vans[0]["requisitions"][0]["lines"]
    assert (line["asked"], line["approved"], line["issued"], line["over"]) == (3.0, 0.0, 2.0, 2.0)
    timeline.advance(MINUTE)
    issue(devices["tablet_b"], where, requisition, 1.0)  # made after the void reached the server
    devices["tablet_b"].sync()
    assert devices["tablet_b"].parked()[-1].code == "requisition_not_approved"


def test_travel_advance_is_settled_against_the_claims_of_the_same_trip(people, replica_for, client):
    wang, chen, manager = replica_for(people["wang"]), replica_for(people["chen"]), replica_for(people["manager"])
    advance = wang.insert("expense_claim", engineer_id=people["wang"].user_id, kind="advance", amount=2000.0,
                          description="赴石家庄驻场三天借支差旅费")
    wang.sync()
    manager.sync()
    manager.update("expense_claim", advance, status="approved")
    manager.update("expense_claim", advance, status="paid")
    manager.sync()
    wang.sync()
    hotel = file_claim(wang, people, 900.0, advance_id=advance, site_days=3.0)
    train = file_claim(wang, people, 180.0, advance_id=advance)
    wang.sync()
    chen_advance = chen.insert("expense_claim", engineer_id=people["chen"].user_id, kind="advance", amount=500.0)
    chen.sync()
    # an advance asked before he knows how much: nothing asked yet
    unsure = chen.insert("expense_claim", engineer_id=people["chen"].user_id, kind="advance",
                         description="赴保定维修，金额待定")
    chen.sync()
    chen.insert("expense_claim", engineer_id=people["chen"].user_id, kind="claim", amount=100.0,
                advance_id=advance)  # someone else's advance: not a row he may name
    chen.sync()
    assert chen.parked()[-1].code == "not_your_row"
    manager.sync()
    manager.update("expense_claim", hotel, status="approved")
    manager.update("expense_claim", train, status="approved")
    manager.sync()
    balances = client.get("/v1/office/advances", headers=auth_header(people["manager"])).json["engineers"]
    by_engineer = {b["engineer_id"]: b for b in balances}
    mine = by_engineer[people["wang"].user_id]
    assert (mine["advanced"], mine["claimed"], mine["balance"]) == (2000.0, 1380.0, 620.0)  # 900 + 3 days × 100 + 180
    [trip] = mine["trips"]
    assert (trip["advance_id"], sorted(trip["claims"])) == (advance, sorted([hotel, train]))
    assert (trip["status"], trip["asked"], trip["advanced"], trip["claimed"], trip["balance"]) == (
        "paid", 2000.0, 2000.0, 1380.0, 620.0)
    chens = by_engineer[people["chen"].user_id]
    assert [(t["advance_id"], t["status"], t["asked"], t["advanced"]) for t in chens["trips"]] == [
        (chen_advance, "submitted", 500.0, 0.0), (unsure, "submitted", 0.0, 0.0)]
    assert chens["advanced"] == 0.0  # asked, never paid


def test_an_advance_asked_before_its_sum_is_known_is_approved_and_paid_only_once_the_sum_is_named(
        people, replica_for, engine, client):
    # Chen asks for an advance for a repair trip to Baoding, the sum to be settled: paid as
    # it stood, the money would leave unrecorded, and a paid advance's amount never changes
    chen, manager = replica_for(people["chen"]), replica_for(people["manager"])
    advance = chen.insert("expense_claim", engineer_id=people["chen"].user_id, kind="advance",
                          description="赴保定维修借支差旅费，金额待定")
    chen.sync()
    manager.sync()
    manager.update("expense_claim", advance, status="approved")
    manager.sync()
    [parked] = manager.parked()
    assert (parked.code, parked.field) == ("amount_required", "amount")
    assert server_row(engine, "expense_claim", advance)["status"] in (None, "submitted")
    chen.update("expense_claim", advance, amount=0.0)  # nothing is not a sum either
    chen.sync()
    manager.dismiss_mutation(parked.mutation_id)
    manager.sync()
    manager.update("expense_claim", advance, status="approved")
    manager.sync()
    assert [p.code for p in manager.parked()] == ["amount_required"]
    chen.update("expense_claim", advance, amount=600.0)
    chen.sync()
    manager.dismiss_mutation(manager.parked()[0].mutation_id)
    manager.sync()
    manager.update("expense_claim", advance, status="approved")
    manager.update("expense_claim", advance, status="paid")
    manager.sync()
    assert manager.parked() == []
    assert server_row(engine, "expense_claim", advance)["status"] == "paid"
    balances = client.get("/v1/office/advances", headers=auth_header(people["manager"])).json["engineers"]
    [chens] = [b for b in balances if b["engineer_id"] == people["chen"].user_id]
    assert [(t["asked"], t["advanced"], t["balance"]) for t in chens["trips"]] == [(600.0, 600.0, 600.0)]


def test_a_record_naming_an_advance_is_a_claim(people, replica_for, engine):
    # what the advances page counts against a trip: a claim of the same engineer's, never
    # a second advance, nor a record that does not say what it is
    wang = replica_for(people["wang"])
    advance = wang.insert("expense_claim", engineer_id=people["wang"].user_id, kind="advance", amount=1500.0,
                          description="赴唐山驻场借支")
    wang.sync()
    unnamed = wang.insert("expense_claim", engineer_id=people["wang"].user_id, amount=300.0, advance_id=advance,
                          description="唐山住宿")
    second = wang.insert("expense_claim", engineer_id=people["wang"].user_id, kind="advance", amount=300.0,
                         advance_id=advance, description="唐山追加借支")
    claim = file_claim(wang, people, 200.0, advance_id=advance)
    wang.sync()
    assert sorted((p.row_id, p.code) for p in wang.parked()) == sorted(
        [(unnamed, "invalid_advance"), (second, "invalid_advance")])
    wang.update("expense_claim", claim, kind=None)  # the claim no longer says what it is
    wang.sync()
    assert [p.code for p in wang.parked() if p.row_id == claim] == ["invalid_advance"]
    assert server_row(engine, "expense_claim", claim)["kind"] == "claim"


def test_advances_are_settled_to_the_cent_trip_by_trip_in_the_order_asked_and_engineer_by_engineer(engine):
    # rows as the server keeps them; 李强's id is a generated one, the desk recorded one
    # advance before naming the engineer. Wang's trip to Handan is stored before his trip
    # to Tangshan though asked after it: a row updated after a later one was made moves to
    # the end of PostgreSQL's table, so the table's order is not the order asked.
    nov = lambda day, hour: datetime(2026, 11, day, hour, 0, tzinfo=timezone.utc)  # noqa: E731
    li = "01a233dc-0a1b-7c2d-8e3f-4a5b6c7d8e9f"
    rows = [
        dict(id="a-邯郸", engineer_id="u-wang", kind="advance", amount=1000.0, status="paid", created_at=nov(20, 9)),
        dict(id="a-唐山", engineer_id="u-wang", kind="advance", amount=1500.0, status="paid", created_at=nov(18, 9)),
        dict(id="c-唐山住宿", engineer_id="u-wang", kind="claim", amount=333.333, status="approved",
             advance_id="a-唐山", created_at=nov(19, 9)),  # typed to a tenth of a fen
        dict(id="c-唐山驻场", engineer_id="u-wang", kind="claim", site_days=2.0, allowance=200.0, status="paid",
             advance_id="a-唐山", created_at=nov(19, 10)),  # the site allowance alone, no amount
        dict(id="c-邯郸", engineer_id="u-wang", kind="claim", amount=456.78, status="approved", advance_id="a-邯郸",
             created_at=nov(21, 9)),
        dict(id="c-邯郸加油", engineer_id="u-wang", kind="claim", amount=88.0, status="submitted",
             advance_id="a-邯郸", created_at=nov(21, 10)),  # not yet decided: not claimed
        dict(id="a-陈", engineer_id="u-chen", kind="advance", amount=500.0, status="paid", created_at=nov(17, 9)),
        dict(id="c-陈", engineer_id="u-chen", kind="claim", amount=120.5, status="approved", advance_id="a-陈",
             created_at=nov(17, 12)),
        dict(id="a-李", engineer_id=li, kind="advance", amount=800.0, status="approved", created_at=nov(16, 9)),
        dict(id="a-未定", kind="advance", amount=300.0, created_at=nov(15, 9)),
    ]
    table = entity_table("expense_claim")
    with engine.begin() as conn:
        for row in rows:
            conn.execute(table.insert().values(version=1, deleted=False, clock="{}", updated_at=row["created_at"],
                                               **row))
        assert advance_balances(conn) == [
            {"engineer_id": None, "advanced": 0.0, "claimed": 0.0, "balance": 0.0, "trips": [
                {"advance_id": "a-未定", "engineer_id": None, "status": "submitted", "asked": 300.0, "advanced": 0.0,
                 "claimed": 0.0, "claims": [], "balance": 0.0}]},
            {"engineer_id": li, "advanced": 0.0, "claimed": 0.0, "balance": 0.0, "trips": [
                {"advance_id": "a-李", "engineer_id": li, "status": "approved", "asked": 800.0, "advanced": 0.0,
                 "claimed": 0.0, "claims": [], "balance": 0.0}]},
            {"engineer_id": "u-chen", "advanced": 500.0, "claimed": 120.5, "balance": 379.5, "trips": [
                {"advance_id": "a-陈", "engineer_id": "u-chen", "status": "paid", "asked": 500.0, "advanced": 500.0,
                 "claimed": 120.5, "claims": ["c-陈"], "balance": 379.5}]},
            {"engineer_id": "u-wang", "advanced": 2500.0, "claimed": 990.11, "balance": 1509.89, "trips": [
                {"advance_id": "a-唐山", "engineer_id": "u-wang", "status": "paid", "asked": 1500.0, "advanced": 1500.0,
                 "claimed": 533.33, "claims": ["c-唐山住宿", "c-唐山驻场"], "balance": 966.67},
                {"advance_id": "a-邯郸", "engineer_id": "u-wang", "status": "paid", "asked": 1000.0, "advanced": 1000.0,
                 "claimed": 456.78, "claims": ["c-邯郸", "c-邯郸加油"], "balance": 543.22}]},
        ]
