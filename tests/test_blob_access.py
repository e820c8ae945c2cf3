"""Who may read a blob, and whose upload a piece belongs to: a signature's image and a
receipt's photo go where the rows naming them go, a hash alone tells nothing, and no
device touches another's upload in progress."""

from __future__ import annotations

import hashlib
import random

import httpx
from click.testing import CliRunner

from server.auth import add_device
from server.cli import main
from sync import hlc
from sync.transport import HttpTransport
from tests.conftest import Person, auth_header
from tests.scenario import desk_opens_ticket

SIGNATURE = b"\x89PNG \xe5\x88\x98\xe5\x85\x88\xe7\x94\x9f\xe7\x9a\x84\xe7\xad\xbe\xe5\x90\x8d" * 50  # 刘先生的签名


def signed_by_the_customer(desk, wang, people) -> tuple[dict, str]:
    """Wang repairs the machine and 刘先生 signs the report on his device; both sync."""
    ids = desk_opens_ticket(desk, people["wang"].user_id, fault_description="运行十分钟后停机")
    wang.sync()
    wang.update("ticket", ids["ticket"], status="on_site", arrived_at="2026-11-23T09:40:00+08:00")
    wang.update("ticket", ids["ticket"], diagnosis="传动皮带磨损", actions="更换传动皮带", result="运行正常")
    wang.update("ticket", ids["ticket"], status="completed", completed_at="2026-11-23T11:05:00+08:00")
    image = wang.put_blob(SIGNATURE)
    wang.insert("signature", ticket_id=ids["ticket"], blob_sha256=image, signer_name="刘先生",
                signed_at="2026-11-23T11:10:00+08:00", report_hash=wang.report_hash(ids["ticket"]))
    wang.sync()
    return ids, image


def answer(client, person, path):
    response = client.get(path, headers=auth_header(person))
    return response.status_code, response.get_json(silent=True) if response.status_code != 200 else response.data


def test_engineer_cannot_read_another_engineers_signature_image_but_the_office_and_the_tickets_engineer_can(
        people, replica_for, client):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ids, image = signed_by_the_customer(desk, wang, people)
    never = hashlib.sha256("从未上传的图片".encode()).hexdigest()
    for name in ("chen", "depot"):
        for path in (f"/v1/blobs/{image}", f"/v1/blobs/{image}/status"):
            status, body = answer(client, people[name], path)
            assert (status, body["code"]) == (404, "not_found")
            # the same answer as for a hash nobody ever uploaded
            assert (status, body) == answer(client, people[name], path.replace(image, never))
    for name in ("desk", "manager", "wang"):
        assert answer(client, people[name], f"/v1/blobs/{image}") == (200, SIGNATURE)
    # the desk gives the ticket to Chen: the signature goes with it, and so does its image
    desk.update("ticket", ids["ticket"], assignee_id=people["chen"].user_id)
    desk.sync()
    assert answer(client, people["chen"], f"/v1/blobs/{image}") == (200, SIGNATURE)
    assert client.get(f"/v1/blobs/{image}/status", headers=auth_header(people["chen"])).json["complete"] is True


def test_engineer_cannot_read_another_engineers_receipt_photo_but_his_own_new_phone_can(
        people, replica_for, client, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id)["ticket"]
    wang.sync()
    photo = random.Random(14).randbytes(40_000)
    receipt = wang.put_blob(photo, "image/jpeg")
    wang.insert("expense_claim", engineer_id=people["wang"].user_id, ticket_id=ticket, kind="claim", amount=386.5,
                description="北京至天津高速通行费", receipts=[receipt], status="submitted")
    wang.sync()
    with engine.begin() as conn:
        device_id, token = add_device(conn, people["wang"].user_id, "王工的新手机")
    new_phone = Person(people["wang"].user_id, "engineer", device_id, token)
    assert answer(client, new_phone, f"/v1/blobs/{receipt}") == (200, photo)  # his claim names it
    assert answer(client, people["chen"], f"/v1/blobs/{receipt}")[0] == 404
    response = client.get(f"/v1/blobs/{receipt}", headers=auth_header(people["manager"]))
    assert (response.data, response.mimetype) == (photo, "image/jpeg")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_upload_in_progress_cannot_be_reset_or_extended_by_another_device(people, client):
    data = random.Random(7).randbytes(300_000)
    sha = hashlib.sha256(data).hexdigest()

    def put(person, first, last, body=None):
        return client.put(f"/v1/blobs/{sha}", data=data[first:last + 1] if body is None else body, headers={
            **auth_header(person), "Content-Type": "image/jpeg", "Content-Range": f"bytes {first}-{last}/{len(data)}"})

    wang, chen = people["wang"], people["chen"]
    assert put(wang, 0, 99_999).json["received"] == 100_000
    assert answer(client, chen, f"/v1/blobs/{sha}/status")[0] == 404  # nothing of Wang's upload shows
    extend = put(chen, 100_000, 199_999)
    assert (extend.status_code, extend.json["code"], extend.json["details"]["received"]) == (409, "conflict", 0)
    complete = put(chen, 100_000, 299_999)
    assert (complete.status_code, complete.json["details"]["received"]) == (409, 0)
    reset = put(chen, 0, 99_999, body="陈工的另一张照片".encode().ljust(100_000, b"\0"))
    assert (reset.status_code, reset.json["received"]) == (200, 100_000)  # his own upload, not Wang's
    assert client.get(f"/v1/blobs/{sha}/status", headers=auth_header(wang)).json["received"] == 100_000
    # a piece at 0 does not start Wang's upload again: it stands at 100,000
    again = put(wang, 0, 99_999)
    assert (again.status_code, again.json["code"], again.json["details"]["received"]) == (409, "conflict", 100_000)
    done = put(wang, 100_000, 299_999)
    assert (done.status_code, done.json["complete"]) == (201, True)  # Chen's bytes never got into it
    assert answer(client, wang, f"/v1/blobs/{sha}") == (200, data)
    assert answer(client, chen, f"/v1/blobs/{sha}")[0] == 404
    behind = put(chen, 200_000, 299_999)  # his own upload still stands at 100,000
    assert (behind.status_code, behind.json["details"]["received"]) == (409, 100_000)


def test_a_device_uploading_a_stored_blob_it_may_not_read_is_answered_as_if_it_were_new(people, client):
    data = "刘先生的签名".encode() * 2000
    sha = hashlib.sha256(data).hexdigest()
    wang = {**auth_header(people["wang"]), "Content-Type": "image/png; charset=binary"}
    chen = {**auth_header(people["chen"]), "Content-Type": "image/png"}
    first = client.put(f"/v1/blobs/{sha}", data=data, headers=wang)
    assert (first.status_code, first.json["content_type"]) == (201, "image/png")
    assert client.put(f"/v1/blobs/{sha}", data=data, headers=wang).status_code == 200  # his, and stored: no upload
    piece = client.put(f"/v1/blobs/{sha}", data=data[:1000], headers={**chen, "Content-Range": f"bytes 0-999/{len(data)}"})
    assert (piece.status_code, piece.json["received"], piece.json["complete"]) == (200, 1000, False)
    wrong = client.put(f"/v1/blobs/{sha}", data=b"x" * len(data), headers=chen)
    assert (wrong.status_code, wrong.json["code"]) == (422, "hash_mismatch")
    assert answer(client, people["chen"], f"/v1/blobs/{sha}/status")[0] == 404  # the wrong bytes were dropped
    again = client.put(f"/v1/blobs/{sha}", data=data, headers=chen)
    assert (again.status_code, again.json["complete"]) == (201, True)  # he held the bytes: now he may read them
    response = client.get(f"/v1/blobs/{sha}", headers=chen)
    assert (response.data, response.mimetype) == (data, "image/png")


class LosesTheSecondPieceAnswer(httpx.BaseTransport):
    """The server takes the second piece, and its answer is lost on the way back."""

    def __init__(self, inner: httpx.BaseTransport):
        self.inner = inner
        self.puts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "PUT":
            self.puts += 1
            if self.puts == 2:
                raise httpx.ReadError("signal lost before the answer came", request=request)
        return response


def test_a_piece_whose_answer_was_lost_is_sent_again_and_the_upload_goes_on_where_the_server_stands(
        people, app, replica_for, client):
    network = LosesTheSecondPieceAnswer(httpx.WSGITransport(app=app))
    transport = HttpTransport(httpx.Client(transport=network, base_url="http://fieldsync"), people["wang"].token,
                              sleep=lambda _s: None)
    wang = replica_for(people["wang"], transport=transport)
    photo = random.Random(16).randbytes(700_000)  # three pieces
    name = wang.put_blob(photo, "image/jpeg")
    report = wang.upload_blobs()
    assert (report.blobs_uploaded, report.blobs_parked) == (1, 0)
    assert network.puts == 4  # the resent second piece was refused with where to go on
    assert client.get(f"/v1/blobs/{name}", headers=auth_header(people["wang"])).data == photo


def test_compaction_drops_uploads_abandoned_longer_than_the_configured_age_and_keeps_younger_ones(
        people, app_factory, client, database_url):
    ten_days_ago = hlc.now_ms() - 10 * 86_400_000
    back_then = app_factory(CLOCK_MS=lambda: ten_days_ago).test_client()
    photos = {name: random.Random(name).randbytes(5000) for name in ("wang", "chen")}
    names = {name: hashlib.sha256(data).hexdigest() for name, data in photos.items()}
    for name, at in (("wang", back_then), ("chen", client)):
        response = at.put(f"/v1/blobs/{names[name]}", data=photos[name][:1000], headers={
            **auth_header(people[name]), "Content-Range": "bytes 0-999/5000"})
        assert response.json["received"] == 1000
    result = CliRunner().invoke(main, ["db", "compact", "--upload-days", "7"], env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert "1 upload in progress untouched for 7 days" in result.output
    assert answer(client, people["wang"], f"/v1/blobs/{names['wang']}/status")[0] == 404
    assert client.get(f"/v1/blobs/{names['chen']}/status", headers=auth_header(people["chen"])).json["received"] == 1000
