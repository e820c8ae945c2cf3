"""The conformance kit in docs/examples/ is what the live server does.

Each exchange of ``docs/examples/examples.json`` is sent in order to the real app on a
new database and a fixed server clock, as 王师傅's tablet; each answer must equal its
file, but for the members the kit marks variable (compared by JSON type only).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server import create_app
from server.auth import add_device, add_user

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
KIT = json.loads((EXAMPLES / "examples.json").read_text(encoding="utf-8"))
TOKENS = {"d-wang": "conformance-wang-token"}


def _read(name: str):
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def _resolve(document, pointer: str):
    """The member at a JSON Pointer (RFC 6901), or KeyError."""
    node = document
    for token in pointer.lstrip("/").split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def _blank(document, pointers):
    """``document`` with each variable member replaced by its JSON type's name."""
    document = json.loads(json.dumps(document))
    for pointer in pointers:
        *parent, last = pointer.lstrip("/").split("/")
        holder = _resolve(document, "/" + "/".join(parent)) if parent else document
        key = int(last) if isinstance(holder, list) else last
        holder[key] = f"<{type(holder[key]).__name__}>"
    return document


@pytest.fixture
def wang_tablet(database_url):
    """The live app on a new database, its clock set per exchange, and 王师傅's tablet."""
    now = {"ms": 0}
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "CLOCK_MS": lambda: now["ms"]})
    with app.extensions["fieldsync"].engine.begin() as conn:
        for person in KIT["people"]:
            add_user(conn, person["name"], person["role"], user_id=person["user_id"])
            add_device(conn, person["user_id"], f"{person['name']}的平板", device_id=person["device_id"],
                       token=TOKENS[person["device_id"]])
    yield app.test_client(), now
    app.extensions["fieldsync"].engine.dispose()


def test_kit_names_only_files_that_exist_and_pointers_that_resolve():
    for exchange in KIT["exchanges"]:
        answer = _read(exchange["response"])
        if "request" in exchange:
            _read(exchange["request"])
        for pointer in exchange["variable"]:
            _resolve(answer, pointer)
    assert {e["name"] for e in KIT["exchanges"]} == set(KIT["server_clock"]["ms"])


def test_王师傅s_offline_ticket_push_rejection_and_pull_answer_as_the_kit_says(wang_tablet):
    client, now = wang_tablet
    for exchange in KIT["exchanges"]:
        now["ms"] = KIT["server_clock"]["ms"][exchange["name"]]
        headers = {"Authorization": f"Bearer {TOKENS[exchange['as']]}"}
        if exchange["method"] == "GET":
            answer = client.get(exchange["path"], headers=headers)
        else:
            answer = client.open(exchange["path"], method=exchange["method"], headers=headers,
                                 json=_read(exchange["request"]))
        expected = _read(exchange["response"])
        assert answer.status_code == exchange["status"], (exchange["name"], answer.json)
        variable = exchange["variable"]
        assert _blank(answer.json, variable) == _blank(expected, variable), exchange["name"]
        # on the same clock, even the variable members are what the kit shows
        assert answer.json == expected, exchange["name"]


def test_the_kits_push_and_pull_bodies_are_typed_by_the_documents_entity_schemas():
    import yaml
    from jsonschema import Draft4Validator

    document = yaml.safe_load((EXAMPLES.parent.parent / "openapi.yaml").read_text(encoding="utf-8"))
    schemas = document["components"]["schemas"]

    def validator(name):
        schema = json.loads(json.dumps(schemas[name]).replace("#/components/schemas/", "#/definitions/"))
        return Draft4Validator({**_nullable(schema), "definitions": {k: _nullable(v) for k, v in json.loads(
            json.dumps(schemas).replace("#/components/schemas/", "#/definitions/")).items()}})

    for exchange in KIT["exchanges"]:
        if exchange["path"] == "/v1/sync/push" and exchange["status"] == 200:
            for mutation in _read(exchange["request"])["mutations"]:
                validator("Mutation").validate(mutation)
                if mutation["entity"] == "ticket" and mutation["op"] == "insert":
                    # the typed schema is no free-form object: a boolean written as text breaks it
                    wrong = {**mutation, "fields": {**mutation["fields"], "carried_back": "否"}}
                    assert not validator("Mutation").is_valid(wrong)
        if exchange["path"].startswith("/v1/sync/pull"):
            validator("PullAnswer").validate(_read(exchange["response"]))


def _nullable(schema):
    """OpenAPI 3.0's ``nullable`` as JSON Schema: null is allowed too."""
    if isinstance(schema, list):
        return [_nullable(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _nullable(v) for k, v in schema.items() if k not in ("nullable", "discriminator")}
    if schema.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out
