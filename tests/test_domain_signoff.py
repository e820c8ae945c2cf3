"""Signed means signed now (server/domain/signoff.py): a ticket is signed, and closed, only
while it holds the customer's signature of its report as it stands; it is completed only
with its service report, and a carried-back one only once returned. Each refusal reaches
the device as a parked mutation with its code; each rule holds whatever order the
devices' writes arrive in."""

from __future__ import annotations

import orjson
import pytest
import sqlalchemy as sa

from server.tables import entity_table
from tests.conftest import auth_header
from tests.scenario import complete_and_sign, desk_opens_ticket

ARRIVED = "2026-11-23T09:40:00+08:00"


def server_row(engine, entity, row_id) -> dict:
    table = entity_table(entity)
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().one())


def notes_about(engine, row_id) -> list[dict]:
    table = entity_table("conflict")
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).where(table.c.row_id == row_id)).mappings()]


def signed_job(desk, wang) -> tuple[str, str]:
    """王师傅 repairs 刘先生's chiller in 上海市浦东新区, the customer signs, he marks it signed."""
    ticket = desk_opens_ticket(desk, "u-wang", fault_description="冷水机组运行十分钟后停机")["ticket"]
    wang.sync()
    signature = complete_and_sign(wang, ticket, image="刘先生的签名笔迹".encode())
    wang.update("ticket", ticket, status="signed")
    wang.sync()
    return ticket, signature


def signs_again(wang, ticket: str) -> str:
    return wang.insert("signature", ticket_id=ticket, blob_sha256=wang.put_blob("刘先生重新签名".encode()),
                       signer_name="刘先生", signed_at="2026-11-24T10:00:00+08:00", report_hash=wang.report_hash(ticket))


def test_a_ticket_whose_report_changed_after_signing_cannot_be_closed_until_re_signed(people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket, first = signed_job(desk, wang)
    assert server_row(engine, "ticket", ticket)["status"] == "signed"

    wang.update("ticket", ticket, actions="更换传动皮带，另换了张紧轮")  # the report changes after the customer signed
    wang.sync()
    assert server_row(engine, "signature", first)["stale"]
    assert server_row(engine, "ticket", ticket)["status"] == "completed"
    assert wang.get("ticket", ticket)["status"] == "completed"  # the tablet learns it by pull

    desk.sync()
    desk.update("ticket", ticket, status="closed", closed_at="2026-11-24T09:00:00+08:00")
    desk.sync()
    [refused] = desk.parked()
    assert (refused.code, refused.field) == ("not_signed", "status")
    assert desk.get("ticket", ticket)["status"] == "completed"

    second = signs_again(wang, ticket)  # 刘先生 signs the report as it now stands
    wang.update("ticket", ticket, status="signed")
    wang.sync()
    desk.retry_mutation(refused.mutation_id)
    desk.sync()
    assert desk.parked() == []
    row = server_row(engine, "ticket", ticket)
    assert row["status"] == "closed" and not row["needs_review"]
    assert server_row(engine, "signature", first)["stale"] and not server_row(engine, "signature", second)["stale"]


@pytest.mark.parametrize("arrives_first", ["the desk's close", "the engineer's edit"])
def test_desk_close_and_an_earlier_report_edit_from_another_device_leave_the_ticket_unsigned_in_either_order(
        people, replica_for, engine, arrives_first):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket, first = signed_job(desk, wang)
    desk.sync()
    wang.update("ticket", ticket, result="运行正常，但压缩机噪音偏大，建议下月复查")  # offline at the site
    desk.update("ticket", ticket, status="closed", closed_at="2026-11-24T09:00:00+08:00")  # the desk saw it signed
    for device in ((desk, wang) if arrives_first == "the desk's close" else (wang, desk)):
        device.sync()
    desk.sync()

    row = server_row(engine, "ticket", ticket)
    assert (row["status"], row["closed_at"], row["result"]) == ("completed", None, "运行正常，但压缩机噪音偏大，建议下月复查")
    assert server_row(engine, "signature", first)["stale"]
    assert desk.get("ticket", ticket)["status"] == "completed"
    if arrives_first == "the desk's close":  # closed, then taken back: flagged, and the desk told
        assert row["needs_review"]
        [note] = [n for n in notes_about(engine, ticket) if n["rule"] == "signature"]
        assert (orjson.loads(note["lost_value"]), orjson.loads(note["kept_value"])) == ("closed", "completed")
        assert note["device_id"] == people["desk"].device_id
        assert any(n["rule"] == "signature" for n in desk.conflict_notes())
    else:  # refused outright: parked on the desk's tablet
        assert [p.code for p in desk.parked()] == ["not_signed"]

    wang.sync()
    signs_again(wang, ticket)
    wang.update("ticket", ticket, status="signed")
    wang.sync()
    desk.sync()
    desk.update("ticket", ticket, status="closed", closed_at="2026-11-25T09:00:00+08:00")
    desk.sync()
    assert server_row(engine, "ticket", ticket)["status"] == "closed"


def test_head_office_restoring_a_close_taken_back_is_refused_until_the_customer_signs_again(
        people, replica_for, engine, client):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket, _ = signed_job(desk, wang)
    wang.update("ticket", ticket, actions="更换传动皮带并调整张紧力")  # offline
    desk.sync()
    desk.update("ticket", ticket, status="closed")
    desk.sync()
    wang.sync()  # the close is taken back
    [note] = [n for n in notes_about(engine, ticket) if n["rule"] == "signature"]
    settle = {"choose": "lost", "reason": "客户已电话确认，按已关闭处理"}

    refused = client.post(f"/v1/office/conflicts/{note['id']}/resolve", headers=auth_header(people["manager"]),
                          json=settle)
    assert (refused.status_code, refused.json["code"]) == (422, "not_signed")
    assert server_row(engine, "ticket", ticket)["status"] == "completed"

    wang.sync()
    signs_again(wang, ticket)
    wang.sync()  # the server took it out of signed: the new signature makes it signed again
    assert server_row(engine, "ticket", ticket)["status"] == "signed"
    settled = client.post(f"/v1/office/conflicts/{note['id']}/resolve", headers=auth_header(people["manager"]),
                          json=settle)
    assert settled.status_code == 200
    assert server_row(engine, "ticket", ticket)["status"] == "closed"


def test_report_edited_and_signed_again_offline_before_syncing_is_signed_on_the_server(people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket, first = signed_job(desk, wang)
    wang.update("ticket", ticket, diagnosis="传动皮带磨损，皮带轮偏心")  # offline; the tablet still shows it signed
    second = signs_again(wang, ticket)
    wang.update("ticket", ticket, status="signed")  # what it holds already: nothing to push
    wang.sync()
    assert server_row(engine, "ticket", ticket)["status"] == "signed"
    assert server_row(engine, "signature", first)["stale"] and not server_row(engine, "signature", second)["stale"]
    assert wang.parked() == []


def test_a_part_consumed_after_signing_takes_the_ticket_out_of_signed(people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    part = desk.insert("part", code="BRG-6204", name="深沟球轴承", unit="个", returnable=False, price=35.0)
    van = desk.insert("stock_location", kind="van", name="王师傅的车", engineer_id=people["wang"].user_id)
    ticket, first = signed_job(desk, wang)
    wang.insert("stock_movement", kind="consume", part_id=part, qty=1.0, from_location_id=van, ticket_id=ticket,
                condition="new")
    wang.sync()
    assert server_row(engine, "signature", first)["stale"]
    assert server_row(engine, "ticket", ticket)["status"] == "completed"


def test_engineer_completing_offline_without_a_diagnosis_is_refused_and_parked_with_the_missing_fields(
        people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id, fault_description="打印机卡纸，开机报错E05")["ticket"]
    wang.sync()
    wang.update("ticket", ticket, status="on_site", arrived_at=ARRIVED)  # no signal in the print room
    wang.update("ticket", ticket, actions="清理进纸通道，更换搓纸轮", result="连续打印五十张无卡纸", status="completed")
    wang.sync()

    [refused] = wang.parked()
    assert (refused.code, refused.field) == ("report_incomplete", "diagnosis")
    assert "diagnosis" in refused.message and "actions" not in refused.message
    assert server_row(engine, "ticket", ticket)["status"] == "on_site"
    assert wang.get("ticket", ticket)["status"] == "on_site"  # put back as the server holds it

    wang.update("ticket", ticket, diagnosis="搓纸轮老化打滑")
    wang.retry_mutation(refused.mutation_id)
    wang.sync()
    assert wang.parked() == []
    assert server_row(engine, "ticket", ticket)["status"] == "completed"


def test_engineer_completing_with_nothing_written_is_told_every_missing_part_of_the_report(people, replica_for):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id)["ticket"]
    wang.sync()
    wang.update("ticket", ticket, status="completed")
    wang.sync()
    [refused] = wang.parked()
    assert refused.code == "report_incomplete"
    assert all(name in refused.message for name in ("diagnosis", "actions", "result", "arrived_at"))


def test_report_written_earlier_in_the_same_sync_and_an_arrival_logged_complete_the_ticket(
        people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id)["ticket"]
    wang.sync()
    wang.insert("work_log", ticket_id=ticket, engineer_id=people["wang"].user_id, event="arrived", at=ARRIVED)
    wang.update("ticket", ticket, status="on_site", diagnosis="温控器失灵")
    wang.update("ticket", ticket, actions="更换温控器", result="库温稳定在零下十八度", status="completed")
    wang.sync()  # all in one change-set, made offline
    assert wang.parked() == []
    assert server_row(engine, "ticket", ticket)["status"] == "completed"


def test_internal_work_is_completed_without_an_arrival_on_a_customers_site(people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id, category="D", fault_description="季度工具保养")["ticket"]
    wang.sync()
    wang.update("ticket", ticket, diagnosis="万用表电池电量低", actions="更换电池并校准", result="工具全部可用",
                status="completed")
    wang.sync()
    assert wang.parked() == []
    assert server_row(engine, "ticket", ticket)["status"] == "completed"


def test_a_carried_back_product_is_completed_only_once_returned_to_the_customer(people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id, fault_description="投影仪无法开机")["ticket"]
    wang.sync()
    wang.update("ticket", ticket, status="on_site", arrived_at=ARRIVED, diagnosis="电源板烧毁")
    wang.update("ticket", ticket, status="carried_back", carried_back=True, receipt_number="R-0077")
    wang.update("ticket", ticket, status="in_workshop", actions="更换电源板", result="通电测试八小时正常")
    wang.update("ticket", ticket, status="completed")  # before it went back to the customer
    wang.sync()
    [refused] = wang.parked()
    assert (refused.code, refused.field) == ("not_returned", "returned_at")
    assert server_row(engine, "ticket", ticket)["status"] == "in_workshop"

    wang.dismiss_mutation(refused.mutation_id)
    wang.update("ticket", ticket, status="returned", returned_at="2026-11-26T15:00:00+08:00")
    wang.update("ticket", ticket, status="completed")
    wang.sync()
    assert wang.parked() == []
    assert server_row(engine, "ticket", ticket)["status"] == "completed"
