"""Every limit, hit once: each answered with its own error code, never a 500, and
nothing else the device sent is lost."""

from __future__ import annotations

import orjson
import pytest
import sqlalchemy as sa

from server.blobs import DEFAULT_MAX_BYTES
from server.limits import RateLimiter
from server.pull import MAX_PAGE
from server.tables import entity_table
from sync import hlc
from sync.changeset import MAX_JSON_BYTES, MAX_MUTATIONS
from sync.client import Replica
from sync.errors import RateLimitedError, TransportError
from sync.transport import HttpTransport
from tests.conftest import auth_header, http_client
from tests.scenario import desk_opens_ticket


def count(engine, entity) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(entity_table(entity))).scalar()


def test_change_set_over_the_body_limit_gets_413_and_goes_through_cut_smaller(people, app_factory, tmp_path, engine):
    small = app_factory(MAX_CONTENT_LENGTH=20_000)
    transport = HttpTransport(http_client(small), people["desk"].token, sleep=lambda _s: None)
    desk = Replica(tmp_path / "desk.replica", people["desk"].device_id, transport)
    for i in range(100):
        desk.insert("customer", name=f"customer {i}", address="12 Xinyuan Rd, Chaoyang District, Beijing " * 3)
    huge = desk.insert("maintenance_plan", every_months=1,
                       checklist=[{"area": "front-end devices", "item": "cameras clean and focused " * 11}] * 80)
    body = orjson.dumps({"mutations": [{"fields": desk.get("maintenance_plan", huge)}]})
    assert len(body) > 20_000
    report = desk.sync()
    assert report.rejected == 1 and [p.code for p in desk.parked()] == ["too_large"]
    assert desk.pending() == 0 and count(engine, "customer") == 100 and count(engine, "maintenance_plan") == 0
    desk.close()


def test_change_set_with_too_many_mutations_gets_422_and_changes_nothing(client, people, engine):
    clock = hlc.Clock("d-desk")
    mutations = [{"mutation_id": f"m{i}", "entity": "customer", "id": f"c{i}", "op": "insert",
                  "fields": {"name": "x"}, "hlc": str(clock.tick())} for i in range(MAX_MUTATIONS + 1)]
    body = {"changeset_id": "cs-big", "device_id": "d-desk", "schema_version": 1, "mutations": mutations}
    response = client.post("/v1/sync/push", data=orjson.dumps(body),
                           headers={**auth_header(people["desk"]), "Content-Type": "application/json"})
    assert (response.status_code, response.json["code"]) == (422, "invalid")
    assert response.json["details"]["limit"] == MAX_MUTATIONS
    assert count(engine, "customer") == 0


def test_pull_page_over_the_limit_gets_422(client, people):
    response = client.get(f"/v1/sync/pull?limit={MAX_PAGE + 1}", headers=auth_header(people["wang"]))
    assert (response.status_code, response.json["code"], response.json["details"]["limit"]) == (422, "invalid", MAX_PAGE)


def test_blob_over_the_limit_gets_413_before_it_is_stored(client, people, app):
    assert app.config["BLOB_MAX_BYTES"] == DEFAULT_MAX_BYTES
    total = DEFAULT_MAX_BYTES + 1
    response = client.put(f"/v1/blobs/{'ab' * 32}", data=b"x" * 1000, headers={
        **auth_header(people["wang"]), "Content-Range": f"bytes 0-999/{total}"})
    assert (response.status_code, response.json["code"]) == (413, "too_large")
    assert response.json["details"]["limit"] == DEFAULT_MAX_BYTES
    assert client.get(f"/v1/blobs/{'ab' * 32}/status", headers=auth_header(people["wang"])).status_code == 404


@pytest.mark.parametrize("header", [
    "bytes 0-9/x",  # not a number
    "bytes=0-9/10",  # the form of a Range request
    "bytes */10",  # an unsatisfied range
    "bytes 0-9",  # no total
    "bytes -1-9/10",
    "bytes 0-9/10 bytes 0-9/10",
    "bytes ٠-9/10",  # digits, but not ASCII ones
    f"bytes 0-9/{'9' * 16}",  # more digits than any size
    f"bytes 0-9/{'0' * 200}10",  # digits beyond the bound are not read
    "bytes 9-0/10",  # last before first
    "bytes 0-9/9",  # last past the total
    "bytes 0-19/20",  # longer than the body
    "bytes 5-9/10",  # shorter than the body
])
def test_malformed_content_range_gets_422_invalid_range_and_stores_nothing(client, people, header):
    response = client.put(f"/v1/blobs/{'cd' * 32}", data=b"0123456789", headers={
        **auth_header(people["wang"]), "Content-Range": header})
    assert (response.status_code, response.json["code"], response.json["field"]) == (
        422, "invalid_range", "Content-Range")
    assert client.get(f"/v1/blobs/{'cd' * 32}/status", headers=auth_header(people["wang"])).status_code == 404


@pytest.mark.parametrize("content_type", ["image", "image/", "/png", "图片/png", "image/png/x", "image /png",
                                          "image/" + "p" * 100, "image/png; x=" + "y" * 300])
def test_a_blob_whose_content_type_is_no_mime_type_gets_422(client, people, content_type):
    response = client.put(f"/v1/blobs/{'ef' * 32}", data=b"strokes", headers={
        **auth_header(people["wang"]), "Content-Type": content_type.encode("utf-8").decode("latin-1")})
    assert (response.status_code, response.json["code"]) == (422, "invalid_content_type")


def test_too_long_text_and_too_big_json_reject_their_mutation_only(people, replica_for, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id)["ticket"]
    wang.sync()
    wang.update("ticket", ticket, diagnosis="x" * 4001)
    wang.update("ticket", ticket, repair_card={"notes": "y" * MAX_JSON_BYTES})
    wang.update("ticket", ticket, actions="replaced the belt")
    log = wang.insert("work_log", ticket_id=ticket, engineer_id=people["wang"].user_id, event="arrived")
    report = wang.sync()
    assert report.rejected == 2
    assert [(p.code, p.field) for p in wang.parked()] == [("invalid_value", "diagnosis"), ("too_large", "repair_card")]
    table = entity_table("ticket")
    with engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.id == ticket)).mappings().one()
    assert (row["diagnosis"], row["repair_card"], row["actions"]) == (None, None, "replaced the belt")
    assert count(engine, "work_log") == 1 and wang.get("work_log", log) is not None


def test_device_over_its_request_rate_gets_429_and_its_work_goes_through_a_minute_later(
        people, app_factory, tmp_path, engine):
    now = [hlc.now_ms()]
    limited = app_factory(RATE_LIMIT_PER_MINUTE=3, CLOCK_MS=lambda: now[0])
    client = limited.test_client()
    for _ in range(3):
        assert client.get("/v1/sync/pull", headers=auth_header(people["wang"])).status_code == 200
    refused = client.get("/v1/sync/pull", headers=auth_header(people["wang"]))
    assert (refused.status_code, refused.json["code"]) == (429, "rate_limited")
    assert int(refused.headers["Retry-After"]) >= 1
    assert client.get("/v1/sync/pull", headers=auth_header(people["chen"])).status_code == 200  # per device
    transport = HttpTransport(http_client(limited), people["wang"].token, sleep=lambda _s: None)
    wang = Replica(tmp_path / "wang.replica", people["wang"].device_id, transport)
    log = wang.insert("work_log", engineer_id=people["wang"].user_id, event="note", note="waiting for signal")
    with pytest.raises(TransportError):
        wang.sync()  # retried with backoff, still over the limit
    assert wang.pending() == 1 and count(engine, "work_log") == 0
    now[0] += 120_000
    wang.sync()
    assert wang.pending() == 0 and count(engine, "work_log") == 1 and wang.get("work_log", log) is not None
    wang.close()


def test_rate_limit_slides_over_the_minute_and_is_generous_by_default(app):
    now = [0]
    limiter = RateLimiter(600, lambda: now[0])
    for _ in range(600):
        limiter.hit("d-1")
    with pytest.raises(RateLimitedError) as refused:
        limiter.hit("d-1")
    assert refused.value.details["retry_after"] >= 1
    now[0] = 90_000  # half of the last minute's 600 still in the window
    for _ in range(300):
        limiter.hit("d-1")
    with pytest.raises(RateLimitedError):
        limiter.hit("d-1")
    now[0] = 180_000
    limiter.hit("d-1")
    assert app.config["RATE_LIMIT_PER_MINUTE"] == 600


@pytest.mark.parametrize(("path", "value"), [
    pytest.param("/v1/sync/pull?limit=", "0" * 5000 + "1", id="pull limit of 5001 digits"),
    pytest.param("/v1/sync/pull?limit=", "５", id="pull limit in a full-width digit"),
    pytest.param("/v1/sync/pull?limit=", "٣", id="pull limit in an Arabic-Indic digit"),
    pytest.param("/v1/sync/pull?limit=", "²", id="pull limit in a superscript digit"),
    pytest.param("/v1/office/audit?limit=", "0" * 5000 + "1", id="audit limit of 5001 digits"),
    pytest.param("/v1/office/audit?before=", "9" * 20, id="audit page before a 20-digit id"),
    pytest.param("/v1/office/audit?before=", "１２", id="audit page before a full-width id"),
])
def test_a_number_in_a_query_is_counted_in_ascii_digits_before_it_is_read(client, people, path, value):
    """``int()`` of 5,001 digits raises by itself: it answered 500."""
    response = client.get(path + value, headers=auth_header(people["manager"]))
    assert (response.status_code, response.json["code"]) == (422, "invalid")
    assert response.json["field"] in ("limit", "before")


def test_a_query_number_with_leading_zeros_within_19_digits_is_read_as_its_value(client, people):
    response = client.get("/v1/sync/pull?limit=" + "0" * 15 + "0100", headers=auth_header(people["manager"]))
    assert response.status_code == 200
