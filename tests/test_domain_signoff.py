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
from sync.report import report_hash
from server.auth import add_device
from tests.conftest import Person, auth_header
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


def test_a_bearing_fitted_offline_and_synced_after_the_desk_closed_the_ticket_reopens_it_and_tells_the_desk(
        people, replica_for, engine):
    """王师傅 fits a bearing after the customer signed, with no signal; the desk closes the
    signed ticket meanwhile. When his phone syncs, the report the customer signed no longer
    lists every part: the ticket goes back to completed, flagged for review, and the desk,
    who closed it, is told."""
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    part = desk.insert("part", code="BRG-6204", name="深沟球轴承", unit="个", returnable=False, price=35.0)
    van = desk.insert("stock_location", kind="van", name="王师傅的车", engineer_id=people["wang"].user_id)
    ticket, first = signed_job(desk, wang)
    desk.sync()
    desk.update("ticket", ticket, status="closed", closed_at="2026-11-24T09:00:00+08:00")
    desk.sync()
    wang.insert("stock_movement", kind="consume", part_id=part, qty=1.0, from_location_id=van, ticket_id=ticket,
                condition="new", note="离站前补换轴承")
    wang.sync()
    assert wang.parked() == []
    row = server_row(engine, "ticket", ticket)
    assert (row["status"], row["closed_at"], bool(row["needs_review"])) == ("completed", None, True)
    assert server_row(engine, "signature", first)["stale"]
    [note] = [n for n in notes_about(engine, ticket) if n["rule"] == "signature"]
    assert (orjson.loads(note["lost_value"]), orjson.loads(note["kept_value"])) == ("closed", "completed")
    assert note["device_id"] == people["desk"].device_id


def test_the_same_result_saved_again_from_the_engineers_tablet_leaves_both_signatures_current(
        people, replica_for, engine):
    """王师傅 finishes the job on his phone; the customer signs on the new app, and his
    colleague's old app (format 1, quantities as ``2.0``) takes a second signature of the
    same report. 王师傅's tablet, which synced before he wrote the job up, then saves the
    result he had also typed there — the same words. The report is unchanged: both
    signatures stay current and the ticket stays signed."""
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    with engine.begin() as conn:
        _, token = add_device(conn, people["wang"].user_id, "王师傅的平板", device_id="d-wang-tablet")
    tablet = replica_for(Person(people["wang"].user_id, "engineer", "d-wang-tablet", token))
    part = desk.insert("part", code="BLT-200", name="传动皮带", unit="条", returnable=False, price=80.0)
    van = desk.insert("stock_location", kind="van", name="王师傅的车", engineer_id=people["wang"].user_id)
    ticket = desk_opens_ticket(desk, "u-wang", fault_description="冷水机组运行十分钟后停机")["ticket"]
    wang.sync()
    tablet.sync()
    wang.insert("stock_movement", kind="consume", part_id=part, qty=2.0, from_location_id=van, ticket_id=ticket,
                condition="new")
    current = complete_and_sign(wang, ticket, image="刘先生的签名笔迹".encode())
    consumed = [m for m in wang.all("stock_movement").values() if m["kind"] == "consume"]
    old_form = report_hash(ticket, wang.get("ticket", ticket), consumed, 1)
    assert old_form != wang.report_hash(ticket)
    old_app = wang.insert("signature", ticket_id=ticket, blob_sha256=wang.put_blob("刘先生第二份签名".encode()),
                          signer_name="刘先生", signed_at="2026-11-23T11:12:00+08:00", report_hash=old_form,
                          report_format=1)
    wang.update("ticket", ticket, status="signed")
    wang.sync()
    assert [server_row(engine, "signature", s)["stale"] for s in (current, old_app)] == [False, False]
    tablet.update("ticket", ticket, result=wang.get("ticket", ticket)["result"])  # its copy had none: a write
    tablet.sync()
    assert [(p.code, p.message) for p in tablet.parked()] == []
    assert [server_row(engine, "signature", s)["stale"] for s in (current, old_app)] == [False, False]
    assert server_row(engine, "ticket", ticket)["status"] == "signed"


def test_a_signature_gone_stale_is_written_once_however_often_the_report_changes_after(people, replica_for, engine):
    """The report is edited three times after the customer signed: the signature is marked
    stale at the first edit and left alone after, so no device pulls it again for nothing."""
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket, first = signed_job(desk, wang)
    wang.update("ticket", ticket, diagnosis="传动皮带磨损")
    wang.sync()
    marked = server_row(engine, "signature", first)
    assert marked["stale"]
    for result in ("运行正常", "运行正常，噪音偏大", "运行正常，噪音偏大，建议复查"):
        wang.update("ticket", ticket, result=result)
        wang.sync()
    again = server_row(engine, "signature", first)
    assert (again["version"], again["clock"]) == (marked["version"], marked["clock"])


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


def test_a_completion_re_sent_without_its_report_fields_keeps_the_ones_stored(people, replica_for, engine):
    # 王师傅 wrote the report at the site and synced it; the next morning he marks the job
    # completed from the hotel: the push names only the status, the report is the server's
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id, fault_description="空压机排气温度过高报警")["ticket"]
    wang.sync()
    wang.update("ticket", ticket, status="on_site", arrived_at=ARRIVED, diagnosis="散热器积尘堵塞",
                actions="清洗散热器，更换空滤", result="排气温度回落至八十五度")
    wang.sync()
    wang.update("ticket", ticket, status="completed")
    wang.sync()
    assert wang.parked() == []
    assert server_row(engine, "ticket", ticket)["status"] == "completed"


def test_a_completion_over_a_report_emptied_since_it_was_written_is_refused_naming_the_field_emptied(
        people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id, fault_description="空压机排气温度过高报警")["ticket"]
    wang.sync()
    wang.update("ticket", ticket, status="on_site", arrived_at=ARRIVED, diagnosis="散热器积尘堵塞",
                actions="清洗散热器，更换空滤", result="排气温度回落至八十五度")
    wang.sync()
    wang.update("ticket", ticket, diagnosis="   ")  # he wipes the diagnosis, meaning to rewrite it, and forgets
    wang.sync()
    wang.update("ticket", ticket, status="completed")
    wang.sync()
    [refused] = wang.parked()
    assert (refused.code, refused.field) == ("report_incomplete", "diagnosis")
    assert "diagnosis" in refused.message and "actions" not in refused.message
    assert server_row(engine, "ticket", ticket)["status"] == "on_site"


def test_a_ticket_completed_as_internal_work_then_made_a_paid_repair_is_signed_without_its_report_asked_again(
        people, replica_for, engine):
    # the report is asked for once, when the work is completed: the desk re-classing the job
    # afterwards (the customer is billed after all) does not send it back for an arrival
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id, category="D", fault_description="展厅样机季度保养")["ticket"]
    wang.sync()
    wang.update("ticket", ticket, diagnosis="样机滤网积尘", actions="清洗滤网并校准温控", result="运行正常",
                status="completed")
    wang.sync()
    desk.sync()
    desk.update("ticket", ticket, category="A")
    desk.sync()
    wang.sync()
    wang.insert("signature", ticket_id=ticket, blob_sha256=wang.put_blob("客户赵女士签名".encode()),
                signer_name="赵女士", signed_at="2026-11-24T10:00:00+08:00", report_hash=wang.report_hash(ticket))
    wang.update("ticket", ticket, status="signed")
    wang.sync()
    assert wang.parked() == []
    assert server_row(engine, "ticket", ticket)["status"] == "signed"


def test_a_product_marked_returned_without_the_time_is_completed_once_its_status_says_returned(
        people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id, fault_description="投影仪无法开机")["ticket"]
    wang.sync()
    wang.update("ticket", ticket, status="on_site", arrived_at=ARRIVED, diagnosis="电源板烧毁")
    wang.update("ticket", ticket, status="carried_back", carried_back=True, receipt_number="R-0078")
    wang.update("ticket", ticket, status="in_workshop", actions="更换电源板", result="通电测试八小时正常")
    wang.update("ticket", ticket, status="returned")  # handed back to 周老师; the time left blank
    wang.sync()
    wang.update("ticket", ticket, status="completed")
    wang.sync()
    assert wang.parked() == []
    assert server_row(engine, "ticket", ticket)["status"] == "completed"


def test_a_product_taken_to_the_workshop_without_ticking_carried_back_is_completed_only_once_returned(
        people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id, fault_description="投影仪无法开机")["ticket"]
    wang.sync()
    wang.update("ticket", ticket, status="on_site", arrived_at=ARRIVED, diagnosis="电源板烧毁")
    wang.update("ticket", ticket, status="in_workshop", actions="更换电源板", result="通电测试八小时正常")
    wang.sync()  # carried_back never ticked: the status says where the projector is
    wang.update("ticket", ticket, status="completed")
    wang.sync()
    [refused] = wang.parked()
    assert (refused.code, refused.field) == ("not_returned", "returned_at")
    assert server_row(engine, "ticket", ticket)["status"] == "in_workshop"


def test_a_job_done_on_the_spot_and_recorded_afterwards_is_created_completed_only_with_its_report(
        people, replica_for, engine):
    # at 华信印刷厂 for another job, 王师傅 is asked to look at the guillotine too; he records
    # it as a new ticket once it is done, straight in completed, as one with no report
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    customer = desk_opens_ticket(desk, people["wang"].user_id)["customer"]
    wang.sync()
    done = dict(customer_id=customer, assignee_id=people["wang"].user_id, channel="on_site",
                fault_description="切纸机刀片卡住", status="completed", arrived_at=ARRIVED)
    recorded = wang.insert("ticket", **done, diagnosis="刀片螺丝松动", actions="紧固刀片并润滑导轨", result="切纸正常")
    bare = wang.insert("ticket", **done, result="切纸正常")
    wang.sync()
    [refused] = wang.parked()
    assert (refused.row_id, refused.code, refused.field) == (bare, "report_incomplete", "diagnosis")
    assert server_row(engine, "ticket", recorded)["status"] == "completed"


def test_a_ticket_the_engineer_never_marked_signed_is_left_for_him_to_mark_when_the_customer_signs_again(
        people, replica_for, engine):
    # the server signs a ticket again only where it took the signed status away itself; one the
    # engineer left completed (the customer signed, he had not yet marked it) stays his to mark
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id, fault_description="冷水机组运行十分钟后停机")["ticket"]
    wang.sync()
    first = complete_and_sign(wang, ticket, image="刘先生的签名笔迹".encode())
    wang.sync()
    assert server_row(engine, "ticket", ticket)["status"] == "completed"
    wang.update("ticket", ticket, cause="冷却塔风机皮带老化")  # the report changes after the customer signed
    wang.sync()
    assert server_row(engine, "signature", first)["stale"]
    second = signs_again(wang, ticket)
    wang.sync()
    assert not server_row(engine, "signature", second)["stale"]
    assert server_row(engine, "ticket", ticket)["status"] == "completed"
    wang.update("ticket", ticket, status="signed")
    wang.sync()
    assert wang.parked() == []
    assert server_row(engine, "ticket", ticket)["status"] == "signed"


def test_a_ticket_head_office_cancelled_after_signing_stays_cancelled_when_the_report_changes(
        people, replica_for, engine, client):
    # the desk's cancel lost to the signed work and head office settled it for the cancel (the
    # customer called the job off and will not pay); the engineer's later edit stales the
    # signature, and the server takes back only a signed or closed status, never a cancel
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket, first = signed_job(desk, wang)
    desk.sync()
    desk.update("ticket", ticket, status="cancelled", cancel_reason="客户来电取消，不再付费")
    desk.sync()
    assert server_row(engine, "ticket", ticket)["status"] == "signed"
    [note] = [n for n in notes_about(engine, ticket) if n["rule"] == "ticket"]
    settled = client.post(f"/v1/office/conflicts/{note['id']}/resolve", headers=auth_header(people["manager"]),
                          json={"choose": "lost", "reason": "经理确认按客户要求取消"})
    assert settled.status_code == 200, settled.json
    assert server_row(engine, "ticket", ticket)["status"] == "cancelled"
    wang.sync()
    wang.update("ticket", ticket, result="运行正常，客户取消后未再试机")
    wang.sync()
    assert server_row(engine, "signature", first)["stale"]
    assert server_row(engine, "ticket", ticket)["status"] == "cancelled"
    second = signs_again(wang, ticket)  # nor does the customer's new signature make it signed
    wang.sync()
    assert not server_row(engine, "signature", second)["stale"]
    assert server_row(engine, "ticket", ticket)["status"] == "cancelled"
