"""A bad image never jams a device: a photo over the limit, one over the device's quota or
one whose file changed on the device is parked with its reason like a refused mutation,
and everything else syncs; the person retries or dismisses what is parked, and marks the
conflict notes they have read."""

from __future__ import annotations

import random

import orjson
import sqlalchemy as sa

from server.tables import blobs, entity_table
from sync.transport import HttpTransport
from tests.conftest import auth_header, http_client
from tests.scenario import desk_opens_ticket

SIGNATURE = "刘先生的签名笔迹".encode() * 400


def on(app, person) -> HttpTransport:
    return HttpTransport(http_client(app), person.token, sleep=lambda _s: None)


def server_row(engine, entity, row_id):
    table = entity_table(entity)
    with engine.connect() as conn:
        return conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().first()


def stored_blobs(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(blobs.c.sha256)).scalars())


def work_done(wang, ticket) -> None:
    wang.update("ticket", ticket, status="on_site", arrived_at="2026-11-23T09:40:00+08:00")
    wang.update("ticket", ticket, diagnosis="传动皮带磨损", actions="更换传动皮带", result="运行正常")
    wang.update("ticket", ticket, status="completed", completed_at="2026-11-23T11:05:00+08:00")


def test_a_photo_over_the_limit_and_a_changed_signature_image_are_parked_while_everything_else_syncs(
        people, app_factory, replica_for, client, engine):
    small = app_factory(BLOB_MAX_BYTES=300_000)
    desk = replica_for(people["desk"])
    ids = desk_opens_ticket(desk, people["wang"].user_id, fault_description="运行十分钟后停机")
    wang = replica_for(people["wang"], transport=on(small, people["wang"]))
    wang.sync()
    work_done(wang, ids["ticket"])
    image = wang.put_blob(SIGNATURE)
    signature = wang.insert("signature", ticket_id=ids["ticket"], blob_sha256=image, signer_name="刘先生",
                            signed_at="2026-11-23T11:10:00+08:00", report_hash=wang.report_hash(ids["ticket"]))
    rng = random.Random(14)
    photo = wang.put_blob(rng.randbytes(400_000), "image/jpeg")  # a full-size photo of the hotel invoice
    toll = wang.put_blob(rng.randbytes(50_000), "image/jpeg")
    claim = wang.insert("expense_claim", engineer_id=people["wang"].user_id, ticket_id=ids["ticket"], kind="claim",
                        amount=386.5, description="住宿发票和高速通行费", receipts=[photo, toll], status="submitted")
    note = wang.insert("work_log", ticket_id=ids["ticket"], engineer_id=people["wang"].user_id, event="note",
                       note="客户要求下周回访")
    wang.db.execute("UPDATE _blobs SET data = ? WHERE sha256 = ?", ("被别的应用改过的文件".encode(), image))
    desk.update("ticket", ids["ticket"], urgency="emergency")
    desk.sync()

    report = wang.sync()

    assert (report.blobs_uploaded, report.blobs_parked, report.rejected) == (1, 2, 0)
    parked = {p.sha256: p for p in wang.parked_blobs()}
    assert (parked[photo].code, parked[photo].named_by) == ("too_large", (("expense_claim", claim),))
    assert (parked[image].code, parked[image].named_by) == ("hash_mismatch", (("signature", signature),))
    assert parked[photo].size == 400_000 and parked[photo].content_type == "image/jpeg"
    assert stored_blobs(engine) == {toll}
    assert server_row(engine, "work_log", note)["note"] == "客户要求下周回访"  # mutations pushed
    assert orjson.loads(server_row(engine, "expense_claim", claim)["receipts"]) == [photo, toll]
    assert server_row(engine, "signature", signature)["blob_sha256"] == image
    assert wang.get("ticket", ids["ticket"])["urgency"] == "emergency"  # the pull arrived
    assert wang.get("expense_claim", claim)["receipts"] == [photo, toll]  # the rows naming them stay as they are
    assert wang.pending() == 0
    again = wang.sync()  # a parked image is not sent again by itself
    assert (again.blobs_uploaded, again.blobs_parked) == (0, 0) and len(wang.parked_blobs()) == 2

    # The pad saves the customer's strokes again; the photo is taken again, smaller.
    wang.put_blob(SIGNATURE)
    wang.retry_blob(image)
    smaller = wang.put_blob(rng.randbytes(200_000), "image/jpeg")
    wang.update("expense_claim", claim, receipts=[smaller, toll])
    wang.dismiss_blob(photo)
    wang.update("ticket", ids["ticket"], status="signed")
    report = wang.sync()

    assert (report.blobs_uploaded, report.blobs_parked, report.rejected) == (2, 0, 0)
    assert wang.parked_blobs() == [] and wang.parked() == []
    assert stored_blobs(engine) == {toll, image, smaller}
    assert server_row(engine, "ticket", ids["ticket"])["status"] == "signed"
    assert orjson.loads(server_row(engine, "expense_claim", claim)["receipts"]) == [smaller, toll]
    assert client.get(f"/v1/blobs/{image}", headers=auth_header(people["desk"])).data == SIGNATURE
    assert wang.db.execute("SELECT count(*) FROM _blobs WHERE sha256 = ?", (photo,)).fetchone() == (0,)


def test_a_device_over_its_storage_quota_is_answered_quota_exceeded_parks_the_photo_and_keeps_syncing(
        people, app_factory, replica_for, engine):
    tight = app_factory(BLOB_QUOTA_BYTES=150_000)
    desk = replica_for(people["desk"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id)["ticket"]
    wang = replica_for(people["wang"], transport=on(tight, people["wang"]))
    wang.sync()
    rng = random.Random(15)
    receipts = [wang.put_blob(rng.randbytes(100_000), "image/jpeg") for _ in range(2)]
    claim = wang.insert("expense_claim", engineer_id=people["wang"].user_id, ticket_id=ticket, kind="claim",
                        amount=120.0, description="配件快递费", receipts=receipts, status="submitted")
    desk.update("ticket", ticket, urgency="emergency")
    desk.sync()

    report = wang.sync()

    assert (report.blobs_uploaded, report.blobs_parked) == (1, 1)
    [parked] = wang.parked_blobs()
    assert parked.code == "quota_exceeded" and parked.named_by == (("expense_claim", claim),)
    assert server_row(engine, "expense_claim", claim) is not None
    assert wang.get("ticket", ticket)["urgency"] == "emergency"
    # the answer itself: a stable code, and what the quota holds
    refused = tight.test_client().put(f"/v1/blobs/{parked.sha256}", data=rng.randbytes(1000), headers={
        **auth_header(people["wang"]), "Content-Range": "bytes 0-999/100000"})
    assert (refused.status_code, refused.json["code"]) == (507, "quota_exceeded")
    assert refused.json["details"] == {"quota": 150_000, "used": 100_000, "needed": 100_000}
    # an upload in progress counts too: Chen's first piece holds room for all of it
    chen = tight.test_client()
    headers = {**auth_header(people["chen"]), "Content-Range": "bytes 0-999/100000"}
    assert chen.put(f"/v1/blobs/{'a' * 64}", data=rng.randbytes(1000), headers=headers).status_code == 200
    assert chen.put(f"/v1/blobs/{'b' * 64}", data=rng.randbytes(1000), headers=headers).status_code == 507

    # the office raises the quota; the person retries
    roomy = app_factory(BLOB_QUOTA_BYTES=1_000_000)
    wang = replica_for(people["wang"], transport=on(roomy, people["wang"]))
    wang.retry_blob(parked.sha256)
    assert wang.sync().blobs_uploaded == 1 and wang.parked_blobs() == []
    assert set(receipts) <= stored_blobs(engine)


def test_a_refused_write_is_retried_once_fixed_and_another_dismissed_back_to_the_servers_row(
        people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id)["ticket"]
    wang.sync()
    work_done(wang, ticket)
    image = wang.put_blob(SIGNATURE)
    wang.insert("signature", ticket_id=ticket, blob_sha256=image, signer_name="刘先生",
                report_hash=wang.report_hash(ticket))
    wang.update("ticket", ticket, status="signed")
    wang.update("ticket", ticket, assignee_id=people["chen"].user_id)  # only the desk assigns
    wang.push()  # without uploading the image
    signed, assigned = wang.parked()
    assert (signed.code, assigned.code) == ("signature_image_missing", "field_not_owned")
    assert signed.server_row["data"]["status"] == "completed" and signed.fields == {"status": "signed"}
    assert wang.get("ticket", ticket)["status"] == "completed"

    wang.upload_blobs()
    wang.retry_mutation(signed.mutation_id)
    assert wang.get("ticket", ticket)["status"] == "signed" and wang.pending() == 1
    wang.update("ticket", ticket, run_hours_reading=1250.5)
    wang.dismiss_mutation(assigned.mutation_id)
    row = wang.get("ticket", ticket)
    assert (row["assignee_id"], row["status"], row["run_hours_reading"]) == (people["wang"].user_id, "signed", 1250.5)
    wang.sync()
    assert wang.parked() == []
    stored = server_row(engine, "ticket", ticket)
    assert (stored["status"], stored["assignee_id"], stored["run_hours_reading"]) == ("signed", people["wang"].user_id,
                                                                                     1250.5)


def test_a_conflict_note_marked_seen_stays_seen_on_the_device_and_is_never_pushed(people, timeline, engine):
    desk, wang = timeline.device(people["desk"]), timeline.device(people["wang"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id)["ticket"]
    wang.sync()
    wang.update("ticket", ticket, fault_description="运行十分钟后停机，伴有异响")  # offline, earlier
    timeline.advance(120_000)  # the desk's edit is two minutes later
    desk.update("ticket", ticket, fault_description="客户来电：开机即停")
    desk.sync()
    wang.sync()  # his earlier value loses: the note comes back to him
    wang.sync()
    [note] = wang.conflict_notes()
    assert (note["field"], note["lost_value"], note["seen"]) == ("fault_description", "运行十分钟后停机，伴有异响", False)

    wang.mark_conflict_seen(note["id"])
    wang.sync()

    assert wang.conflict_notes(unseen_only=True) == [] and wang.conflict_notes()[0]["seen"] is True
    assert wang.pending() == 0
    assert server_row(engine, "conflict", note["id"])["status"] == "open"
