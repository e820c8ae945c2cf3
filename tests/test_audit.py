"""The audit trail: who did what to a row, from which device, when by the server's clock
and by the device's — refused attempts included."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson

from sync import hlc
from sync.ids import new_id
from tests.conftest import auth_header
from tests.scenario import desk_opens_ticket


def audit(client, person, **query) -> list[dict]:
    response = client.get("/v1/office/audit", query_string=query, headers=auth_header(person))
    assert response.status_code == 200, response.json
    return response.json["entries"]


def test_each_pushed_mutation_is_audited_with_person_device_and_both_clocks_refusals_too(
        people, replica_for, client):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    mine = desk_opens_ticket(desk, people["wang"].user_id)["ticket"]
    chens = desk_opens_ticket(desk, people["chen"].user_id)["ticket"]
    wang.sync()
    an_hour_ago = hlc.now_ms() - 3_600_000
    stamp = str(hlc.Timestamp(an_hour_ago, 0, "d-wang"))
    body = {"changeset_id": new_id(), "device_id": "d-wang", "schema_version": 1, "mutations": [
        {"mutation_id": "m-mine", "entity": "ticket", "id": mine, "op": "update",
         "fields": {"diagnosis": "worn belt"}, "hlc": stamp, "base_version": 2},
        {"mutation_id": "m-guess", "entity": "ticket", "id": chens, "op": "update",
         "fields": {"diagnosis": "mine now"}, "hlc": stamp, "base_version": 2},
    ]}
    client.post("/v1/sync/push", data=orjson.dumps(body),
                headers={**auth_header(people["wang"]), "Content-Type": "application/json"})
    [done] = [e for e in audit(client, people["desk"], entity="ticket", row_id=mine) if e["device_id"] == "d-wang"]
    assert (done["user_id"], done["role"], done["op"], done["fields"]) == ("u-wang", "engineer", "update",
                                                                          ["diagnosis"])
    assert done["status"] in ("applied", "merged") and done["code"] is None and done["version"] > 2
    device_time = datetime.fromisoformat(done["device_time"])
    assert abs(device_time - datetime.fromtimestamp(an_hour_ago / 1000, timezone.utc)) < timedelta(seconds=1)
    assert datetime.fromisoformat(done["at"]) - device_time > timedelta(minutes=59)
    [guess] = audit(client, people["desk"], entity="ticket", row_id=chens, device_id="d-wang")
    assert (guess["mutation_id"], guess["status"], guess["code"]) == ("m-guess", "rejected", "not_your_row")
    created = audit(client, people["manager"], entity="ticket", row_id=chens)
    assert [(e["op"], e["device_id"]) for e in created] == [("update", "d-wang"), ("insert", "d-desk")]


def test_a_replayed_change_set_adds_nothing_to_the_trail(people, client):
    body = {"changeset_id": "cs-once", "device_id": "d-desk", "schema_version": 1, "mutations": [
        {"mutation_id": "m1", "entity": "customer", "id": "c1", "op": "insert", "fields": {"name": "Huaxin"},
         "hlc": str(hlc.Timestamp(hlc.now_ms(), 0, "d-desk"))}]}
    for _ in range(2):
        client.post("/v1/sync/push", data=orjson.dumps(body),
                    headers={**auth_header(people["desk"]), "Content-Type": "application/json"})
    assert len(audit(client, people["desk"], entity="customer", row_id="c1")) == 1


def test_trail_pages_back_from_the_newest(people, replica_for, client):
    desk = replica_for(people["desk"])
    for i in range(5):
        desk.insert("customer", name=f"customer {i}")
    desk.sync()
    first = audit(client, people["desk"], device_id="d-desk", limit=3)
    rest = audit(client, people["desk"], device_id="d-desk", limit=3, before=first[-1]["id"])
    ids = [e["id"] for e in first + rest]
    assert len(ids) == 5 and ids == sorted(ids, reverse=True)


def test_audit_is_for_head_office_only_and_its_parameters_are_checked(people, client):
    response = client.get("/v1/office/audit", headers=auth_header(people["wang"]))
    assert (response.status_code, response.json["code"]) == (403, "forbidden")
    for query in ("limit=0", "limit=501", "before=x", f"row_id={'x' * 65}", "entity="):
        response = client.get(f"/v1/office/audit?{query}", headers=auth_header(people["desk"]))
        assert (response.status_code, response.json["code"]) == (422, "invalid"), query
