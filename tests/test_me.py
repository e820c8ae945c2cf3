"""``GET /v1/me``: a client learns from its token who it is — person, role, device id,
depot — and the server's time, the versions it speaks and the limits in force."""

from __future__ import annotations

import hashlib

import pytest

from server.auth import add_device, revoke_device
from sync import PROTOCOL_VERSION
from sync.changeset import MAX_JSON_BYTES, MAX_MUTATIONS, SCHEMA_VERSION
from sync.report import REPORT_FORMAT
from tests.conftest import auth_header

WHO = {
    "desk": ("u-desk", "desk", None, "d-desk"),
    "manager": ("u-manager", "manager", None, "d-manager"),
    "wang": ("u-wang", "engineer", None, "d-wang"),
    "depot": ("u-depot", "depot", "depot-main", "d-depot"),
}


@pytest.mark.parametrize("name", sorted(WHO))
def test_each_role_learns_its_person_device_and_depot_from_its_token(name, people, client):
    answer = client.get("/v1/me", headers=auth_header(people[name]))
    assert answer.status_code == 200
    user_id, role, depot_id, device_id = WHO[name]
    assert answer.json["person"] == {"id": user_id, "name": name, "role": role, "depot_id": depot_id}
    assert answer.json["device"] == {"id": device_id, "name": f"{name}'s device"}


def test_the_answer_carries_the_servers_time_versions_and_every_limit_in_force(people, app_factory):
    app = app_factory(CLOCK_MS=lambda: 1_796_067_217_652, MAX_CONTENT_LENGTH=4 * 1024 * 1024,
                      BLOB_MAX_BYTES=10 * 1024 * 1024, BLOB_QUOTA_BYTES=2 * 1024 ** 3, RATE_LIMIT_PER_MINUTE=120)
    client = app.test_client()
    photo = "王师傅拍的收据".encode() * 100
    assert client.put(f"/v1/blobs/{hashlib.sha256(photo).hexdigest()}", data=photo,
                      headers={**auth_header(people["wang"]), "Content-Type": "image/jpeg"}).status_code == 201
    body = client.get("/v1/me", headers=auth_header(people["wang"])).json
    assert (body["server_time_ms"], body["server_time"]) == (1_796_067_217_652, "2026-11-30T19:33:37.652+00:00")
    steps = body["versions"].pop("client_schema")
    assert body["versions"] == {"protocol": PROTOCOL_VERSION, "changeset_schema": SCHEMA_VERSION,
                                "client_schema_steps": int(steps[:4]), "report_format": REPORT_FORMAT}
    assert steps == "0013_report_format"
    assert body["limits"] == {
        "request_body_bytes": 4_194_304, "changeset_mutations": MAX_MUTATIONS, "json_field_bytes": MAX_JSON_BYTES,
        "json_depth": 32, "pull_page_max": 5000, "pull_page_default": 500, "blob_bytes": 10_485_760,
        "blob_quota_bytes": 2_147_483_648, "blob_quota_used_bytes": len(photo), "rate_limit_per_minute": 120,
        "clock_tolerance_ms": 10_000,
    }


def test_another_persons_token_answers_as_that_person_and_a_second_device_as_itself(people, client, engine):
    chen = client.get("/v1/me", headers=auth_header(people["chen"])).json
    assert (chen["person"]["id"], chen["device"]["id"]) == ("u-chen", "d-chen")
    with engine.begin() as conn:
        tablet, token = add_device(conn, "u-wang", "王师傅的平板")
    second = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).json
    assert (second["person"]["id"], second["device"]) == ("u-wang", {"id": tablet, "name": "王师傅的平板"})


def test_a_revoked_device_and_a_made_up_token_are_refused(people, client, engine):
    with engine.begin() as conn:
        revoke_device(conn, "d-wang")
    lost = client.get("/v1/me", headers=auth_header(people["wang"]))
    assert (lost.status_code, lost.json["code"]) == (401, "device_revoked")
    made_up = client.get("/v1/me", headers={"Authorization": "Bearer 王师傅猜的"})
    assert (made_up.status_code, made_up.json["code"]) == (401, "unauthorized")
    assert client.get("/v1/me").status_code == 401


def test_the_engine_asks_the_server_which_device_it_is(people, transport_for):
    assert transport_for(people["depot"]).me()["device"]["id"] == "d-depot"
