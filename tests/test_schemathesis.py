"""The checked-in ``openapi.yaml`` is the truth about the live server, whatever it is sent.

Schemathesis reads the document and drives the real app over HTTP (a server thread on a
loopback port), authenticated with a desk device's token, through all its phases:
the documented examples, coverage of every boundary, fuzzing, and stateful sequences
that feed one answer into the next request. Every default check applies — no 5xx, every
answer matches its schema and documented status, valid input accepted, invalid input
refused with the documented error — plus ``ignored_auth``: the same request without
the token, or with a wrong one, is refused.

``make soak`` (``FIELDSYNC_SOAK=1``) runs 200 examples per operation.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
import schemathesis
import yaml
from schemathesis.engine import Status, events, from_schema
from werkzeug.serving import WSGIRequestHandler, make_server

from server import create_app
from server.auth import add_device, add_user
from sync.changeset import SCHEMA_VERSION
from sync.registry import REGISTRY
from tests.conftest import auth_header

ROOT = Path(__file__).resolve().parent.parent
SOAK = os.environ.get("FIELDSYNC_SOAK") == "1"
EXAMPLES = 200 if SOAK else 30
TOKEN = "schemathesis-desk-token"

#: Answers the document cannot promise from a request's shape alone, per operation:
#: a blob's body must hash to the name in its path.
CONTENT_BOUND = {"PUT /v1/blobs/{sha256}": [422]}


class _Unlogged(WSGIRequestHandler):
    def log_request(self, *args) -> None:
        pass


@pytest.fixture
def live_url(database_url):
    """The app, rate limit off (this is one very busy client), served on a loopback port."""
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "RATE_LIMIT_PER_MINUTE": 0})
    with app.extensions["fieldsync"].engine.begin() as conn:
        add_user(conn, "desk", "desk", user_id="u-desk")
        add_device(conn, "u-desk", "desk's phone", device_id="d-desk", token=TOKEN)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Unlogged)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    app.extensions["fieldsync"].engine.dispose()


def _config(base_url: str) -> schemathesis.Config:
    operations = [
        {"include-name": name, "checks": {"positive_data_acceptance": {"expected-statuses": [200, 201, *statuses]}}}
        for name, statuses in CONTENT_BOUND.items()
    ]
    return schemathesis.Config.from_dict({
        "base-url": base_url,
        "auth": {"openapi": {"bearerAuth": {"bearer": TOKEN}}},
        "generation": {"max-examples": EXAMPLES},
        "checks": {"ignored_auth": {"enabled": True}},
        "phases": {name: {"enabled": True} for name in ("examples", "coverage", "fuzzing", "stateful")},
        "operations": operations,
    })


def _failures(stream) -> list[str]:
    found: dict[tuple, str] = {}
    for event in stream:
        if isinstance(event, (events.ScenarioFinished, events.FuzzScenarioFinished)):
            for nodes in event.recorder.checks.values():
                for node in nodes:
                    if node.status == Status.FAILURE and node.failure_info is not None:
                        failure = node.failure_info.failure
                        key = (node.name, event.recorder.label, failure.title)
                        found.setdefault(key, f"{node.name} on {event.recorder.label}: {failure.title}\n"
                                              f"  {failure.message}\n  {node.failure_info.code_sample}")
        elif isinstance(event, events.NonFatalError):
            found.setdefault(("error", event.label), f"error on {event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            found.setdefault(("fatal",), f"schemathesis stopped: {event.exception!r}")
    return list(found.values())


@pytest.mark.soak
def test_every_operation_answers_as_its_document_says_whatever_it_is_sent(live_url):
    schema = schemathesis.openapi.from_path(ROOT / "openapi.yaml", config=_config(live_url))
    failures = _failures(from_schema(schema).execute())
    assert not failures, "\n\n".join(failures)


# -- what schemathesis found, kept as plain scenarios ------------------------------------


def test_office_job_sent_a_json_null_body_is_refused_not_run_with_its_defaults(client, people):
    answer = client.post("/v1/office/maintenance/generate", data="null",
                         headers={**auth_header(people["desk"]), "Content-Type": "application/json"})
    assert (answer.status_code, answer.json["code"]) == (422, "invalid")


@pytest.mark.parametrize("query", ["cursor=", "limit=", "cursor=&limit="])
def test_pull_with_an_empty_cursor_or_limit_is_refused_not_taken_for_a_fresh_snapshot(client, people, query):
    answer = client.get(f"/v1/sync/pull?{query}", headers=auth_header(people["wang"]))
    assert (answer.status_code, answer.json["code"]) == (422, "invalid")


@pytest.mark.parametrize("query", ["device_id=", "row_id=", "entity="])
def test_audit_filter_given_empty_is_refused_as_the_document_says(client, people, query):
    answer = client.get(f"/v1/office/audit?{query}", headers=auth_header(people["desk"]))
    assert (answer.status_code, answer.json["code"]) == (422, "invalid")


@pytest.mark.parametrize("base_version", [2**63, 2**70], ids=["just past 64 bits", "read as a float"])
def test_push_whose_base_version_is_beyond_64_bits_is_refused_whole_as_documented(client, people, base_version):
    mutation = {"mutation_id": "m1", "entity": "customer", "id": "c1", "op": "update", "fields": {},
                "hlc": "000000000000000:00000:d-desk", "base_version": base_version}
    body = {"changeset_id": "cs1", "device_id": "d-desk", "schema_version": 1, "mutations": [mutation]}
    answer = client.post("/v1/sync/push", data=json.dumps(body),
                         headers={**auth_header(people["desk"]), "Content-Type": "application/json"})
    assert (answer.status_code, answer.json["details"]["mutation_index"]) == (422, 0)


def test_document_promises_only_what_the_server_takes_entities_schema_versions_and_audit_bounds():
    document = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    schemas = document["components"]["schemas"]
    assert schemas["Mutation"]["properties"]["entity"]["enum"] == list(REGISTRY.names)
    assert schemas["ChangeSet"]["properties"]["schema_version"]["maximum"] == SCHEMA_VERSION
    assert schemas["Mutation"]["properties"]["base_version"]["maximum"] == 2**63 - 1
    audit = {p["name"]: p["schema"] for p in document["paths"]["/v1/office/audit"]["get"]["parameters"]}
    assert audit["device_id"]["pattern"].endswith("{1,64}$") and audit["before"]["maximum"] == 2**62
