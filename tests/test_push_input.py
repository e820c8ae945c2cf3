"""Bad input to the push endpoint gets a 4xx JSON error with a stable code, never a 500."""

from __future__ import annotations

import orjson
import pytest
import sqlalchemy as sa

from server.tables import entity_table
from sync import hlc
from tests.conftest import auth_header

STAMP = str(hlc.Timestamp(hlc.now_ms(), 0, "d-desk"))


def mutation(**overrides):
    body = {"mutation_id": "m1", "entity": "customer", "id": "c1", "op": "insert",
            "fields": {"name": "Huaxin"}, "hlc": STAMP, "base_version": None}
    body.update(overrides)
    return body


def changeset(*mutations, **overrides):
    body = {"changeset_id": "cs1", "device_id": "d-desk", "schema_version": 1, "mutations": list(mutations)}
    body.update(overrides)
    return body


def post(client, person, body, raw: bytes | None = None):
    data = raw if raw is not None else orjson.dumps(body)
    return client.post("/v1/sync/push", data=data, headers={**auth_header(person), "Content-Type": "application/json"})


def count_rows(engine, entity: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(entity_table(entity))).scalar()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        pytest.param(changeset(mutation(entity="spaceship")), 422, "unknown_entity", id="unknown entity"),
        pytest.param(changeset(mutation(id=None)), 422, "invalid", id="missing id"),
        pytest.param(changeset(mutation(op="upsert")), 422, "invalid", id="unknown op"),
        pytest.param(changeset(mutation(fields=["name"])), 422, "invalid", id="fields not an object"),
        pytest.param(changeset(mutation(hlc="yesterday")), 422, "invalid", id="bad clock"),
        pytest.param(changeset(mutation(base_version="3")), 422, "invalid", id="version as text"),
        pytest.param(changeset(mutations="all of them"), 422, "invalid", id="mutations not a list"),
        pytest.param(changeset(schema_version="1"), 422, "invalid", id="schema version as text"),
        pytest.param(changeset(schema_version=99), 422, "schema_version", id="schema from the future"),
        pytest.param(changeset(changeset_id=""), 422, "invalid", id="empty change-set id"),
        pytest.param(changeset(device_id="d-wang"), 403, "forbidden", id="another device's id"),
        pytest.param([1, 2, 3], 422, "invalid", id="not an object"),
        pytest.param(changeset(*[mutation(mutation_id=f"m{i}", id=f"c{i}") for i in range(1001)]), 422, "invalid",
                     id="too many mutations"),
    ],
)
def test_malformed_changeset_gets_a_4xx_json_error_with_a_code(client, people, body, status, code):
    response = post(client, people["desk"], body)
    assert response.status_code == status
    assert response.json["code"] == code
    assert response.json["message"]


def test_body_that_is_not_json_is_refused_with_a_code(client, people):
    response = post(client, people["desk"], None, raw=b"{not json")
    assert (response.status_code, response.json["code"]) == (422, "invalid")


def test_huge_payload_is_refused_before_it_is_read(client, people):
    huge = b'{"padding": "' + b"x" * (9 * 1024 * 1024) + b'"}'
    response = post(client, people["desk"], None, raw=huge)
    assert (response.status_code, response.json["code"]) == (413, "too_large")


def test_malformed_mutation_error_names_its_index_so_the_device_can_park_it(client, people):
    body = changeset(mutation(), mutation(mutation_id="m2", id="c2", entity="spaceship"))
    response = post(client, people["desk"], body)
    assert response.json["details"]["mutation_index"] == 1


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"name": 42}, "invalid_value"),
        ({"name": "x" * 201}, "invalid_value"),
        ({"colour": "red"}, "unknown_field"),
    ],
)
def test_wrong_field_values_reject_only_that_mutation(client, people, fields, code):
    body = changeset(mutation(fields=fields), mutation(mutation_id="m2", id="c2"))
    response = post(client, people["desk"], body)
    assert response.status_code == 200
    first, second = response.json["results"]
    assert (first["status"], first["code"]) == ("rejected", code)
    assert second["status"] == "applied"


def test_no_token_and_unknown_token_get_401(client, people):
    assert client.post("/v1/sync/push", data=b"{}").status_code == 401
    response = client.get("/v1/sync/pull", headers={"Authorization": "Bearer nope"})
    assert (response.status_code, response.json["code"]) == (401, "unauthorized")


@pytest.mark.parametrize("query", ["cursor=abc", "cursor=-1", "limit=0", "limit=5001", "limit=ten"])
def test_bad_pull_parameters_get_422(client, people, query):
    response = client.get(f"/v1/sync/pull?{query}", headers=auth_header(people["desk"]))
    assert response.status_code == 422 and response.json["code"] == "invalid"


def test_unknown_route_and_wrong_method_answer_json(client, people):
    assert client.get("/nowhere").json["code"] == "not_found"
    assert client.get("/v1/sync/push", headers=auth_header(people["desk"])).json["code"] == "method_not_allowed"


@pytest.mark.parametrize("query", ["cursor=9424322362339421676", "cursor=9223372036854775808.1"])
def test_a_cursor_beyond_64_bits_is_refused_not_a_database_error(client, people, query):
    """Found by schemathesis on PostgreSQL: a bigint overflow answered 500."""
    response = client.get(f"/v1/sync/pull?{query}", headers=auth_header(people["desk"]))
    assert (response.status_code, response.json["code"]) == (422, "invalid")


def test_an_audit_filter_with_a_nul_byte_is_refused_not_a_database_error(client, people):
    """Found by schemathesis on PostgreSQL: text with NUL answered 500."""
    response = client.get("/v1/office/audit?row_id=%00abc", headers=auth_header(people["manager"]))
    assert (response.status_code, response.json["code"]) == (422, "invalid")


def test_text_with_a_nul_character_rejects_only_that_mutation(client, people):
    body = changeset(mutation(fields={"name": "Hua\x00xin"}), mutation(mutation_id="m2", id="c2"))
    first, second = post(client, people["desk"], body).json["results"]
    assert (first["status"], first["code"], second["status"]) == ("rejected", "invalid_value", "applied")


def test_a_clock_naming_an_unprintable_node_is_refused(client, people):
    response = post(client, people["desk"], changeset(mutation(hlc=STAMP.split(":d-")[0] + ":\x00")))
    assert (response.status_code, response.json["code"]) == (422, "invalid")


# -- clocks --------------------------------------------------------------------------


@pytest.mark.parametrize("wall", [
    pytest.param("０" * 15, id="full-width digits, which sort after ASCII ones"),
    pytest.param("٣" * 15, id="Arabic-Indic digits"),
    pytest.param(f"{hlc.MAX_WALL_MS + 1:015d}", id="the year 10000"),
    pytest.param("999999999999999", id="the year 33658"),
])
def test_a_clock_that_is_not_ascii_digits_up_to_the_year_9999_is_refused_naming_its_mutation(
        client, people, engine, wall):
    """A full-width clock was taken and sorted after every honest one: it won every race.
    Past the year 9999 the device time could not be stored: it answered 500."""
    body = changeset(mutation(), mutation(mutation_id="m2", id="c2", hlc=f"{wall}:00000:d-desk"))
    response = post(client, people["desk"], body)
    assert (response.status_code, response.json["details"]["mutation_index"]) == (422, 1)
    assert count_rows(engine, "customer") == 0


def test_the_last_millisecond_of_the_year_9999_is_a_clock_and_is_re_stamped(client, people):
    response = post(client, people["desk"], changeset(mutation(hlc=f"{hlc.MAX_WALL_MS:015d}:00000:d-desk")))
    (result,) = response.json["results"]
    assert result["status"] == "applied" and hlc.parse(result["restamped_hlc"]).wall < hlc.MAX_WALL_MS
