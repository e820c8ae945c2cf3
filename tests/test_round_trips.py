"""A sync on a weak link costs as few round trips as it can: the push brings the first
pull page back, and the images' statuses are asked in one request.

Each test counts the requests the device's transport sends (an httpx event hook), never
how long they take.
"""

from __future__ import annotations

import hashlib
import random

import httpx
import orjson
import pytest

from sync.transport import HttpTransport
from tests.conftest import auth_header
from tests.scenario import desk_opens_ticket


@pytest.fixture
def counted(app):
    """``counted(person)``: a transport for the person's device, and the list of the
    requests it sends (method and path)."""

    def make(person):
        sent: list[tuple[str, str]] = []
        client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://fieldsync",
                              event_hooks={"request": [lambda r: sent.append((r.method, r.url.path))]})
        return HttpTransport(client, person.token, sleep=lambda _s: None), sent

    return make


def test_an_engineer_finishing_a_job_syncs_in_one_request(people, replica_for, counted):
    """Wang marks his ticket on site while the desk raises its urgency: his sync pushes his
    edit and pulls the desk's in one round trip."""
    desk = replica_for(people["desk"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id, fault_description="复印机卡纸，显示错误代码E-203")["ticket"]
    transport, sent = counted(people["wang"])
    wang = replica_for(people["wang"], transport=transport)
    wang.sync()
    desk.update("ticket", ticket, urgency="emergency")
    desk.sync()
    wang.update("ticket", ticket, status="on_site")
    sent.clear()
    report = wang.sync()
    assert sent == [("POST", "/v1/sync/push")]
    assert (report.pushed, report.pulled) >= (1, 1)
    held = wang.get("ticket", ticket)
    assert (held["status"], held["urgency"]) == ("on_site", "emergency")
    assert wang.pending() == 0


def test_a_push_carrying_a_page_that_is_not_the_last_is_followed_by_plain_pulls(people, replica_for, counted):
    desk = replica_for(people["desk"])
    for k in range(12):
        desk.insert("customer", name=f"华信印刷{k}号", zone="ring2", phone="010-6555-0101")
    desk.sync()
    transport, sent = counted(people["manager"])
    manager = replica_for(people["manager"], transport=transport, page_size=5)
    manager.insert("customer", name="天津港务集团", zone="ring3", phone="022-2570-0000")
    report = manager.sync()
    # the push brings 5 of the 13 customers; two pulls bring 5 and 3
    assert sent == [("POST", "/v1/sync/push"), ("GET", "/v1/sync/pull"), ("GET", "/v1/sync/pull")]
    assert report.pulled == 13
    assert len(manager.all("customer")) == 13


def test_a_sync_with_nothing_to_push_is_one_pull(people, replica_for, counted):
    transport, sent = counted(people["chen"])
    chen = replica_for(people["chen"], transport=transport)
    chen.sync()
    assert sent == [("GET", "/v1/sync/pull")]


def test_the_images_statuses_are_asked_in_one_request(people, replica_for, counted, client):
    """Three receipts waiting: one status request, then only the pieces the server lacks
    (one of them already went up whole from this device before)."""
    rng = random.Random(20)
    photos = [rng.randbytes(3000 + k) for k in range(3)]
    transport, sent = counted(people["wang"])
    wang = replica_for(people["wang"], transport=transport)
    names = [wang.put_blob(photo, "image/jpeg") for photo in photos]
    first = names[0]
    assert client.put(f"/v1/blobs/{first}", data=photos[0], content_type="image/jpeg",
                      headers=auth_header(people["wang"])).status_code == 201
    report = wang.upload_blobs()
    assert report.blobs_uploaded == 3
    puts = sorted(path for method, path in sent if method == "PUT")
    assert sent[0] == ("POST", "/v1/blobs/status/batch")
    assert puts == sorted(f"/v1/blobs/{n}" for n in names[1:])
    assert not [path for method, path in sent if method == "GET"]
    served = client.get(f"/v1/blobs/{names[2]}", headers=auth_header(people["wang"]))
    assert served.data == photos[2]


def _statuses(client, person, body):
    return client.post("/v1/blobs/status/batch", data=body if isinstance(body, bytes) else orjson.dumps(body),
                       headers=auth_header(person), content_type="application/json")


def test_a_status_request_tells_a_device_only_of_blobs_it_may_know(people, client):
    photo = b"\x89PNG" + "签名".encode() * 500
    name = hashlib.sha256(photo).hexdigest()
    stranger = hashlib.sha256(b"no such image").hexdigest()
    assert client.put(f"/v1/blobs/{name}", data=photo[:1000], content_type="image/png",
                      headers={**auth_header(people["wang"]), "Content-Range": f"bytes 0-999/{len(photo)}"}
                      ).status_code == 200
    wang = _statuses(client, people["wang"], {"sha256": [name, stranger, name]}).get_json()
    assert wang["unknown"] == [stranger]
    assert [(s["sha256"], s["received"], s["total"], s["complete"]) for s in wang["known"]] == [
        (name, 1000, len(photo), False)]
    # Chen's device has no upload of it and no row naming it: nothing tells him it is there
    assert _statuses(client, people["chen"], {"sha256": [name]}).get_json() == {"known": [], "unknown": [name]}


@pytest.mark.parametrize("body", [
    {"sha256": []},
    {"sha256": ["a" * 64] * 101},
    {"sha256": ["A" * 64]},
    {"sha256": ["５" * 64]},
    {"sha256": "a" * 64},
    {"sha256": [64]},
    {"sha256": None},
    {},
    [],
    None,
    b"{not json",
    b"",
])
def test_a_status_request_that_is_not_a_list_of_names_is_refused(people, client, body):
    response = _statuses(client, people["wang"], body)
    assert response.status_code == 422
    assert response.get_json()["code"] == "invalid"


@pytest.mark.parametrize("query", ["pull=2", "pull=１", "pull=1&cursor=abc", "pull=1&cursor=", "pull=1&limit=0",
                                   "pull=1&limit=5001", "pull=1&format=3", "limit=5001", "format=2.0", "cursor=-1"])
def test_a_push_asking_for_a_page_it_cannot_have_is_refused_before_it_applies(people, client, query):
    changeset = {"changeset_id": "cs-bad-1", "device_id": people["desk"].device_id, "schema_version": 1,
                 "mutations": [{"mutation_id": "m-1", "entity": "customer", "id": "c-bad", "op": "insert",
                                "fields": {"name": "华信印刷", "zone": "ring2"}, "hlc": "001764000000000:00000:d-desk",
                                "base_version": None}]}
    response = client.post(f"/v1/sync/push?{query}", data=orjson.dumps(changeset), headers=auth_header(people["desk"]),
                           content_type="application/json")
    assert response.status_code == 422
    assert client.get("/v1/sync/rows/customer/c-bad", headers=auth_header(people["desk"])).status_code == 404


def test_a_push_without_pull_answers_as_before(people, client):
    changeset = {"changeset_id": "cs-old-1", "device_id": people["desk"].device_id, "schema_version": 1,
                 "mutations": [{"mutation_id": "m-1", "entity": "customer", "id": "c-old", "op": "insert",
                                "fields": {"name": "华信印刷", "zone": "ring2"}, "hlc": "001764000000000:00000:d-desk",
                                "base_version": None}]}
    answer = client.post("/v1/sync/push", data=orjson.dumps(changeset), headers=auth_header(people["desk"]),
                         content_type="application/json").get_json()
    assert "pull" not in answer and answer["results"][0]["status"] == "applied"
    again = client.post("/v1/sync/push?pull=1&format=2", data=orjson.dumps(changeset),
                        headers=auth_header(people["desk"]), content_type="application/json").get_json()
    assert again["replayed"] is True
    assert again["pull"]["format"] == 2
    assert [row[0] for row in again["pull"]["entities"]["customer"]["rows"]] == ["c-old"]
