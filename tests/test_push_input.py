"""Bad input to the push endpoint gets a 4xx JSON error with a stable code, never a 500."""

from __future__ import annotations

import json

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


# -- values ---------------------------------------------------------------------------
#
# Each bad value rejects its own mutation (invalid_value, or too_large) and the mutation
# next to it applies; each good one applies. Sent as JSON text, as other clients write it.


def push_values(client, person, entity: str, fields: dict, *, raw: str | None = None) -> tuple[dict, dict]:
    """Push ``fields`` to a new ``entity`` row, then a customer: both results. ``raw``
    is the JSON text of the fields, for what no Python encoder writes."""
    stamp = str(hlc.Timestamp(hlc.now_ms(), 0, person.device_id))
    first = {"mutation_id": "m1", "entity": entity, "id": "r1", "op": "insert", "fields": "@FIELDS@", "hlc": stamp}
    second = {"mutation_id": "m2", "entity": "customer", "id": "c2", "op": "insert", "fields": {"name": "张伟"},
              "hlc": stamp}
    body = {"changeset_id": "cs1", "device_id": person.device_id, "schema_version": 1, "mutations": [first, second]}
    text = json.dumps(body).replace('"@FIELDS@"', raw if raw is not None else json.dumps(fields))
    response = post(client, person, None, raw=text.encode())
    assert response.status_code == 200, response.get_data()[:300]
    return tuple(response.json["results"])


def _deep(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


REFUSED = [
    # time fields: strict ISO-8601, ASCII digits, years 1 to 9999 in UTC too
    ("complaint", {"received_at": "10000-01-01T00:00:00+00:00"}, "invalid_value", "the year 10000"),
    ("complaint", {"received_at": "9999-12-31T23:00:00-05:00"}, "invalid_value", "the year 10000 in UTC"),
    ("complaint", {"received_at": "0001-01-01T00:30:00+01:00"}, "invalid_value", "the year 0 in UTC"),
    ("complaint", {"received_at": "２０２６-11-23"}, "invalid_value", "full-width digits"),
    ("complaint", {"received_at": "٢٠٢٦-١١-٢٣"}, "invalid_value", "Arabic-Indic digits"),
    ("complaint", {"received_at": "20261123T083000"}, "invalid_value", "ISO basic format"),
    ("complaint", {"received_at": "2026-W47-1"}, "invalid_value", "a week date"),
    ("complaint", {"received_at": "2026-11-23T08:30:00.123456+08:00:00.123456"}, "invalid_value",
     "an offset with seconds, 42 characters: wider than PostgreSQL's column"),
    ("complaint", {"received_at": "2026-11-23T08:30:00.1234567+08:00"}, "invalid_value", "seven fraction digits"),
    ("complaint", {"received_at": "2026-02-30"}, "invalid_value", "30 February"),
    ("complaint", {"received_at": "2026-11-23T24:00:00"}, "invalid_value", "hour 24"),
    ("complaint", {"received_at": "2026-11-23\n"}, "invalid_value", "a trailing newline"),
    # integer fields: whole numbers of 64 bits, written without a fraction
    ("maintenance_plan", {"every_months": 1.5}, "invalid_value", "1.5 months"),
    ("maintenance_plan", {"every_months": 2.0}, "invalid_value", "2.0 months, written as a float"),
    ("maintenance_plan", {"every_months": 2**63}, "invalid_value", "2^63 months"),
    ("maintenance_plan", {"every_months": 2**70}, "invalid_value", "2^70 months, read as a float"),
    ("maintenance_plan", {"every_months": True}, "invalid_value", "true months"),
    ("maintenance_plan", {"every_months": "3"}, "invalid_value", "months as text"),
    # json fields: 32 levels, 64 KiB, 64-bit numbers, text as in a text field
    ("maintenance_plan", {"checklist": _deep(33)}, "invalid_value", "JSON 33 levels deep"),
    ("maintenance_plan", {"checklist": _deep(300)}, "invalid_value", "JSON 300 levels deep, past orjson's 254"),
    ("maintenance_plan", {"checklist": [2**64 - 1]}, "invalid_value", "a JSON number of 64 unsigned bits"),
    ("maintenance_plan", {"checklist": [2**70]}, "invalid_value", "a JSON number past 64 bits, read rounded"),
    ("maintenance_plan", {"checklist": [1e300]}, "invalid_value", "a JSON number past 2^63 as a float"),
    ("maintenance_plan", {"checklist": {"区域": "前端\x00设备"}}, "invalid_value", "NUL in a JSON string"),
    ("maintenance_plan", {"checklist": {"区\x00域": "前端设备"}}, "invalid_value", "NUL in a JSON key"),
    ("maintenance_plan", {"checklist": {"notes": "皮" * 22_000}}, "too_large", "JSON of 66 KB in UTF-8"),
    ("maintenance_plan", {"checklist": {"notes": "\x01" * 11_000}}, "too_large", "JSON of 66 KB as escapes"),
    # text and refs
    ("equipment", {"customer_id": "c" * 65}, "invalid_value", "a ref of 65 characters: wider than the column"),
    ("customer", {"name": "张伟\x00"}, "invalid_value", "NUL in text"),
]


@pytest.mark.parametrize(("entity", "fields", "code"), [pytest.param(*case[:3], id=case[3]) for case in REFUSED])
def test_a_value_no_database_or_client_could_hold_rejects_only_its_own_mutation(client, people, entity, fields, code):
    first, second = push_values(client, people["desk"], entity, fields)
    assert (first["status"], first["code"], first["field"]) == ("rejected", code, next(iter(fields)))
    assert second["status"] == "applied"


TAKEN = [
    ("equipment", {"warranty_end": "2026-11-23"}, "a date"),
    ("equipment", {"warranty_end": "2026-11-23T08:30:00+08:00"}, "a time with its offset"),
    ("equipment", {"warranty_end": "2026-11-23T08:30"}, "a time without seconds or offset"),
    ("equipment", {"warranty_end": "2026-11-23 08:30:00.123456Z"}, "a space, microseconds and Z"),
    ("equipment", {"warranty_end": "9999-12-31T23:59:59.999999+00:00"}, "the last instant there is"),
    ("equipment", {"warranty_end": "0001-01-01T00:00:00-01:00"}, "the year 1, an hour into it in UTC"),
    ("maintenance_plan", {"every_months": 2**63 - 1}, "the largest 64-bit whole number"),
    ("maintenance_plan", {"checklist": _deep(32)}, "JSON 32 levels deep"),
    ("maintenance_plan", {"checklist": {"notes": "皮" * 21_000, "n": [-(2**63) + 1, 1.5]}}, "JSON of 63 KB"),
    ("equipment", {"customer_id": "c" * 64}, "a ref of 64 characters"),
]


@pytest.mark.parametrize(("entity", "fields"), [pytest.param(*case[:2], id=case[2]) for case in TAKEN])
def test_a_value_at_the_edge_of_its_type_is_taken_as_sent(client, people, engine, entity, fields):
    first, second = push_values(client, people["desk"], entity, fields)
    assert (first["status"], second["status"]) == ("applied", "applied")
    pulled = client.get("/v1/sync/pull?limit=5000", headers=auth_header(people["desk"])).json["changes"]
    (row,) = [c["data"] for c in pulled if (c["entity"], c["id"]) == (entity, "r1")]
    assert {name: row[name] for name in fields} == fields


@pytest.mark.parametrize(("raw", "field"), [
    pytest.param('{"name": "张伟\\ud83d"}', "name", id="text cut in the middle of an emoji"),
    pytest.param('{"name": "\\udc00张伟"}', "name", id="text starting with a low surrogate"),
    pytest.param('{"phone": 1e400}', "phone", id="a number too large for a double"),
])
def test_json_text_orjson_refuses_but_json_allows_rejects_only_its_own_mutation(client, people, raw, field):
    """orjson refuses these whole, so the change-set was refused whole and came back on
    every sync, holding up the device's queue."""
    first, second = push_values(client, people["desk"], "customer", {}, raw=raw)
    assert (first["status"], first["code"], first["field"], second["status"]) == (
        "rejected", "invalid_value", field, "applied")


def test_a_field_name_holding_half_a_character_is_unknown_and_the_answer_and_audit_still_read(client, people):
    first, second = push_values(client, people["desk"], "customer", {}, raw='{"na\\ud800me": "张伟"}')
    assert (first["status"], first["code"], first["field"]) == ("rejected", "unknown_field", "na\\ud800me")
    assert second["status"] == "applied"
    audit = client.get("/v1/office/audit?row_id=r1", headers=auth_header(people["manager"]))
    assert audit.status_code == 200 and audit.json["entries"][0]["fields"] == ["na\\ud800me"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_and_refuse_the_change_set_whole(client, people, constant):
    body = json.dumps(changeset(mutation(fields={"name": "张伟"})), ensure_ascii=False).replace('"张伟"', constant)
    response = post(client, people["desk"], None, raw=body.encode())
    assert (response.status_code, response.json["code"]) == (422, "invalid")


# -- what the document promises ---------------------------------------------------------


def test_a_member_this_server_does_not_know_is_ignored_so_a_newer_device_may_send_more(client, people, engine):
    body = changeset(mutation(fields={"name": "张伟"}, signed_offline=True), sent_from="北京市朝阳区")
    (result,) = post(client, people["desk"], body).json["results"]
    assert result["status"] == "applied" and count_rows(engine, "customer") == 1


def test_a_mutation_whose_fields_are_null_is_answered_as_one_with_no_fields(client, people):
    body = changeset(mutation(fields=None), mutation(mutation_id="m2", id="c2", fields={}))
    null, empty = post(client, people["desk"], body).json["results"]
    assert null["status"] == empty["status"] == "applied"


def test_an_entity_nested_a_thousand_lists_deep_is_an_unknown_entity_not_a_500(client, people):
    """Its name was shown with repr(), which raised RecursionError."""
    raw = json.dumps(changeset(mutation(entity="@ENTITY@"))).replace('"@ENTITY@"', "[" * 1000 + "]" * 1000)
    response = post(client, people["desk"], None, raw=raw.encode())
    assert (response.status_code, response.json["code"]) == (422, "unknown_entity")


@pytest.mark.parametrize("horizon", [2.0, "31", 1.5])
def test_an_office_job_horizon_that_is_not_written_as_a_whole_number_is_refused(client, people, horizon):
    answer = client.post("/v1/office/maintenance/generate", data=json.dumps({"horizon_days": horizon}),
                         headers={**auth_header(people["desk"]), "Content-Type": "application/json"})
    assert (answer.status_code, answer.json["code"]) == (422, "invalid")
