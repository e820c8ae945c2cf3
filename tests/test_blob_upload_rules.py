"""Blob uploads as the server enforces them: a piece lands only where this device's
upload stands — a piece at 0 included — so nothing the server holds is thrown away
unasked; the owner starts again by dropping its upload; the content type a photo is
sent with is the one it is stored and served with."""

from __future__ import annotations

import hashlib
import random

from tests.conftest import auth_header

RECEIPT = random.Random(17).randbytes(600_000)  # 王师傅's receipt photo from 上海市浦东新区, in three pieces
NAME = hashlib.sha256(RECEIPT).hexdigest()


def put(client, person, first, last, *, total=len(RECEIPT), body=None, content_type="image/jpeg"):
    headers = {**auth_header(person), "Content-Range": f"bytes {first}-{last}/{total}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return client.put(f"/v1/blobs/{NAME}", data=RECEIPT[first:last + 1] if body is None else body, headers=headers)


def status(client, person):
    return client.get(f"/v1/blobs/{NAME}/status", headers=auth_header(person))


def test_a_first_piece_sent_again_late_is_refused_and_keeps_what_the_server_holds(people, client):
    wang = people["wang"]
    assert put(client, wang, 0, 199_999).json["received"] == 200_000
    assert put(client, wang, 200_000, 399_999).json["received"] == 400_000
    late = put(client, wang, 0, 199_999)  # the first piece again, its answer lost on the way
    assert (late.status_code, late.json["code"], late.json["details"]) == (409, "conflict",
                                                                          {"received": 400_000, "total": 600_000})
    assert status(client, wang).json["received"] == 400_000  # nothing thrown away
    done = put(client, wang, 400_000, 599_999)
    assert (done.status_code, done.json["complete"]) == (201, True)
    assert client.get(f"/v1/blobs/{NAME}", headers=auth_header(wang)).data == RECEIPT


def test_a_piece_naming_another_total_is_refused_and_the_owner_starts_again_by_dropping_his_upload(people, client):
    wang, chen = people["wang"], people["chen"]
    assert put(client, wang, 0, 99_999, total=700_000).json["received"] == 100_000  # a wrong size, a broken app
    wrong = put(client, wang, 100_000, 199_999)
    assert (wrong.status_code, wrong.json["details"]) == (409, {"received": 100_000, "total": 700_000})
    assert put(client, chen, 0, 99_999).status_code == 200  # Chen's own upload of the same photo
    assert client.delete(f"/v1/blobs/{NAME}/upload", headers=auth_header(wang)).status_code == 204
    assert status(client, wang).status_code == 404  # nothing of his left: send from byte 0
    assert status(client, chen).json["received"] == 100_000  # Chen's upload stands
    assert client.delete(f"/v1/blobs/{NAME}/upload", headers=auth_header(wang)).status_code == 204  # again: the same
    for first in range(0, 600_000, 200_000):
        answer = put(client, wang, first, first + 199_999)
    assert (answer.status_code, answer.json["complete"]) == (201, True)
    bad = client.delete(f"/v1/blobs/{NAME.upper()}/upload", headers=auth_header(wang))
    assert (bad.status_code, bad.json["code"]) == (422, "invalid")


def test_the_content_type_a_photo_is_sent_with_is_the_one_it_is_stored_and_served_with(people, client):
    wang, desk = people["wang"], people["desk"]
    assert put(client, wang, 0, 199_999, content_type="image/jpeg; quality=90").json["content_type"] == "image/jpeg"
    assert status(client, wang).json["content_type"] == "image/jpeg"
    put(client, wang, 200_000, 399_999, content_type="application/octet-stream")  # later pieces' type is not read
    done = put(client, wang, 400_000, 599_999)
    assert (done.status_code, done.json["content_type"]) == (201, "image/jpeg")
    for person in (wang, desk):
        served = client.get(f"/v1/blobs/{NAME}", headers=auth_header(person))
        assert (served.status_code, served.headers["Content-Type"], served.data) == (200, "image/jpeg", RECEIPT)
    untyped = "陈工的签名".encode() * 10
    sha = hashlib.sha256(untyped).hexdigest()
    sent = client.put(f"/v1/blobs/{sha}", data=untyped, headers=auth_header(wang), content_type="")
    assert (sent.status_code, sent.json["content_type"]) == (201, "application/octet-stream")


def test_the_engine_sends_each_images_type_and_resumes_where_the_server_stands(people, replica_for, client):
    wang = replica_for(people["wang"])
    name = wang.put_blob(RECEIPT, "image/jpeg")
    assert put(client, people["wang"], 0, 262_143).status_code == 200  # a first piece sent before the app restarted
    report = wang.upload_blobs()
    assert (report.blobs_uploaded, report.blobs_parked) == (1, 0)
    served = client.get(f"/v1/blobs/{name}", headers=auth_header(people["desk"]))
    assert (served.headers["Content-Type"], served.data) == ("image/jpeg", RECEIPT)


def test_the_engine_drops_an_upload_of_another_size_and_sends_the_photo_again_from_the_start(people, replica_for,
                                                                                            client):
    wang = replica_for(people["wang"])
    name = wang.put_blob(RECEIPT, "image/jpeg")
    assert put(client, people["wang"], 0, 99_999, total=900_000).status_code == 200  # left by a broken build
    report = wang.upload_blobs()
    assert (report.blobs_uploaded, report.blobs_parked) == (1, 0)
    assert client.get(f"/v1/blobs/{name}", headers=auth_header(people["wang"])).data == RECEIPT
