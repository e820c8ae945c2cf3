"""The checked-in ``openapi.yaml`` is the truth about the live server, whatever it is sent.

Schemathesis reads the document and drives the real app over HTTP (a server thread on a
loopback port) through all its phases: the documented examples, coverage of every
boundary, fuzzing, and stateful sequences that feed one answer into the next request.
Every default check applies — no 5xx, every answer matches its schema and documented
status, valid input accepted, invalid input refused with the documented error — plus
``ignored_auth``: the same request without the token, or with a wrong one, is refused.

It runs once per role (desk, manager, engineer, depot keeper), each with its own device
token. A generated push names the token's own device (:func:`_as_device`) and writes
its entity's typed fields as the document gives them (``<Entity>Fields``), and in the
fuzzing phase values of each field's type and around it — times at the calendar's ends and in every offset, integers past 64 bits and
written as floats, JSON nested hundreds deep (``tests/edge_values.py``) — so it gets
past the device check and the field names to the merge path and the value checks. The
run counts the pushes that reached ``Batch.apply`` (:func:`merges`), prints the count,
and fails when a role's pushes stop short of it. Seeded and derandomized: CI runs the
same requests every time.

``make soak`` (``FIELDSYNC_SOAK=1``) runs 200 examples per operation.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
import weakref
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
import yaml
from hypothesis import strategies as st
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.engine import Status, events, from_schema
from schemathesis.specs.openapi.checks import negative_data_rejection
from werkzeug.serving import WSGIRequestHandler, make_server

from server import create_app
from server.apply import Batch
from server.entity_schemas import class_name
from server.auth import add_device, add_user
from sync.changeset import SCHEMA_VERSION
from sync.registry import REGISTRY
from sync.rules import SYSTEM
from tests.conftest import PG_URL, auth_header
from tests.edge_values import field_values

ROOT = Path(__file__).resolve().parent.parent
SOAK = os.environ.get("FIELDSYNC_SOAK") == "1"
EXAMPLES = 200 if SOAK else 20
#: the push, where the merge and every value check are, is drawn more often in CI
PUSH_EXAMPLES = 200 if SOAK else 60
SEED = 14
#: each role's device, as the live app knows it: (user, device, token)
ROLES = {role: (f"u-{role}", f"d-{role}", f"schemathesis-{role}-token")
         for role in ("desk", "manager", "engineer", "depot")}
#: make test fuzzes every role on SQLite and, on PostgreSQL, the office's and the field's:
#: the manager's and the depot keeper's requests take the same database paths as theirs
#: (make soak runs all four on both)
POSTGRES_ROLES = ("desk", "engineer")
#: the fewest pushes that must reach the merge path, per role and run
MIN_MERGES = 40
PUSH = "POST /v1/sync/push"
_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.:-]{0,63}")

#: Answers the document cannot promise from a request's shape alone, per operation:
#: a blob's body must hash to the name in its path.
#: a conflict's chosen value must fit the type of the field it is about, which the
#: document cannot know from the conflict's id (refused 422 as a pushed value would be);
#: its other answers are the ones schemathesis expects by default (no such conflict, not
#: the office's, already resolved).
#: an enrollment code must be one the office issued and not yet spent or expired.
#: a report's date range must run forwards and within the report's cap, which spans two
#: parameters, and a cursor (a report's, the depot's paged lists') must be one the server
#: handed out, which no schema says (refused 422).
CONTENT_BOUND = {"PUT /v1/blobs/{sha256}": [422],
                 # a well-formed code is one the office issued only by chance (and the run's
                 # wrong codes lock its address out)
                 "POST /v1/devices/enroll": [404, 409, 410, 422, 429],
                 "POST /v1/office/conflicts/{conflict_id}/resolve": [401, 403, 404, 409, 422, 429],
                 **{f"GET /v1/office/reports/{path}": [401, 403, 422, 429]
                    for path in ("daily", "sla-board", "quality", "appraisal", "reconciliation",
                                 "reconciliation/open-consumptions", "reconciliation/old-parts",
                                 "reconciliation/supplier-claims", "contracts-expiring", "overdue-complaints",
                                 "carry-back")},
                 # the depot's paged lists take the reports' cursor
                 **{f"GET /v1/depot/{path}": [401, 403, 422, 429] for path in ("reconciliation", "vans")}}


class _Unlogged(WSGIRequestHandler):
    def log_request(self, *args) -> None:
        pass


@pytest.fixture
def live_url(database_url):
    """The app, rate limit off (this is one very busy client), served on a loopback port,
    with one person and device per role."""
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "RATE_LIMIT_PER_MINUTE": 0})
    with app.extensions["fieldsync"].engine.begin() as conn:
        for role, (user_id, device_id, token) in ROLES.items():
            add_user(conn, role, role, user_id=user_id, depot_id="depot-main" if role == "depot" else None)
            add_device(conn, user_id, f"{role}'s phone", device_id=device_id, token=token)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Unlogged)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    app.extensions["fieldsync"].engine.dispose()


@pytest.fixture
def merges(monkeypatch) -> Counter:
    """Per role, the pushes that reached ``Batch.apply``: counted by wrapping it here."""
    counted: Counter = Counter()
    seen: weakref.WeakSet = weakref.WeakSet()
    lock = threading.Lock()
    apply = Batch.apply

    def counting(batch: Batch, mutation, caller):
        if caller.role != SYSTEM:
            with lock:
                if batch not in seen:
                    seen.add(batch)
                    counted[caller.role] += 1
        return apply(batch, mutation, caller)

    monkeypatch.setattr(Batch, "apply", counting)
    return counted


def _config(base_url: str, token: str) -> schemathesis.Config:
    operations = [
        {"include-name": name, "checks": {"positive_data_acceptance": {"expected-statuses": [200, 201, *statuses]}}}
        for name, statuses in CONTENT_BOUND.items()
    ] + [{"include-name": PUSH, "generation": {"max-examples": PUSH_EXAMPLES, "deterministic": True,
                                               "database": "none"},
          # a push refuses what its document forbids in its own way: see push_refuses_what_it_forbids
          "checks": {"negative_data_rejection": {"enabled": False}}}]
    return schemathesis.Config.from_dict({
        "base-url": base_url,
        # a service report's PDF takes a second on a quiet machine and many under a shared
        # one's load: a slow answer is not the failure this test looks for (a speed is bench/'s)
        "request-timeout": 120,
        "seed": SEED,
        "auth": {"openapi": {"bearerAuth": {"bearer": token}}},
        "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
        "checks": {"ignored_auth": {"enabled": True}},
        "phases": {name: {"enabled": True} for name in ("examples", "coverage", "fuzzing", "stateful")},
        "operations": operations,
    })


def _as_device(device_id: str):
    """Hooks by which a push names ``device_id``, is a change-set not sent before
    (``map_case``, every phase), and, when it is meant to be valid, writes values of each
    field's type and around it (``flatmap_case``, the phases that draw with Hypothesis).

    Only what is already well formed is replaced (an id by another), so an invalid case
    stays invalid for the same reason; the fields of an invalid case are left as drawn,
    since a typed field (``<Entity>Fields``) is where a push's case is often invalid. A
    change-set id is numbered in the order the cases come: the same every run.
    """
    sent = itertools.count()

    def map_case(context, case):
        body = case.body
        if context.operation.label != PUSH or not isinstance(body, dict):
            return case
        if isinstance(body.get("device_id"), str) and _ID.fullmatch(body["device_id"]):
            body["device_id"] = device_id
        if isinstance(body.get("changeset_id"), str) and _ID.fullmatch(body["changeset_id"]):
            body["changeset_id"] = f"{body['changeset_id'][:50]}.{next(sent)}"
        return case

    def flatmap_case(context, case):
        written = [m for m in _mutations(case) if isinstance(m.get("fields"), dict)]
        negative = case.meta is not None and case.meta.generation.mode.is_negative
        if context.operation.label != PUSH or not written or negative:
            return st.just(case)
        drawn = [field_values(REGISTRY.get(m["entity"])) for m in written]

        def put(values: tuple) -> object:
            for mutation, fields in zip(written, values):
                mutation["fields"] = fields
            return case

        return st.tuples(*drawn).map(put)

    return map_case, flatmap_case


@schemathesis.check
def push_refuses_what_it_forbids(ctx, response, case):
    """``negative_data_rejection`` for the push: a change-set its document forbids is
    refused, whole (4xx), or, when what breaks the document is a mutation's typed fields
    (a value of the wrong type, too long, an unknown field), that mutation alone: the
    answer is 200 and the result ``rejected`` (docs/protocol.md, docs/entities.md)."""
    if case.operation.label != PUSH:
        return None
    try:
        return negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData:
        results = response.json().get("results", []) if response.status_code == 200 else []
        if any(result.get("status") == "rejected" for result in results):
            return None
        raise


def _mutations(case) -> list[dict]:
    """The mutations of a push case that name a known entity."""
    body = case.body
    found = body.get("mutations") if isinstance(body, dict) else None
    return [m for m in found if isinstance(m, dict) and isinstance(m.get("entity"), str) and m["entity"] in REGISTRY
            ] if isinstance(found, list) else []


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
@pytest.mark.parametrize("role", [pytest.param(role, marks=pytest.mark.skipif(
    bool(PG_URL) and not SOAK and role not in POSTGRES_ROLES, reason="on PostgreSQL in make soak"))
    for role in ROLES])
def test_every_operation_answers_as_its_document_says_whatever_each_role_sends(live_url, merges, capsys, role):
    _user_id, device_id, token = ROLES[role]
    schema = schemathesis.openapi.from_path(ROOT / "openapi.yaml", config=_config(live_url, token))
    for hook in _as_device(device_id):
        schema.hook(hook)
    failures = _failures(from_schema(schema).execute())
    with capsys.disabled():
        print(f"\nschemathesis as the {role}: {merges[role]} pushes reached the merge path")
    assert not failures, "\n\n".join(failures)
    assert merges[role] >= MIN_MERGES, f"only {merges[role]} of the {role}'s pushes reached Batch.apply"


# -- what schemathesis found, kept as plain scenarios ------------------------------------


def test_desk_clearing_a_requisitions_lines_gets_an_answer_not_a_server_error(client, people):
    def push(n: int, op: str, fields: dict):
        mutation = {"mutation_id": f"m{n}", "entity": "requisition", "id": "r1", "op": op, "fields": fields,
                    "hlc": f"0017960022{n:05d}:00000:{people['desk'].device_id}", "base_version": None}
        body = {"changeset_id": f"cs-desk-{n}", "device_id": people["desk"].device_id, "schema_version": 1,
                "mutations": [mutation]}
        return client.post("/v1/sync/push", data=json.dumps(body),
                           headers={**auth_header(people["desk"]), "Content-Type": "application/json"})

    made = push(1, "insert", {"engineer_id": people["wang"].user_id, "reason": "王师傅下周去浦东换皮带",
                              "lines": [{"part_id": "p-belt", "qty": 2}]})
    assert made.json["results"][0]["status"] == "applied", made.json
    cleared = push(2, "update", {"lines": None})
    assert cleared.status_code == 200, cleared.json
    assert cleared.json["results"][0]["status"] in ("applied", "merged")


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
    assert list(schemas["Mutation"]["discriminator"]["mapping"]) == list(REGISTRY.names)
    assert schemas["ChangeSet"]["properties"]["schema_version"]["maximum"] == SCHEMA_VERSION
    for entity in REGISTRY.names:
        assert schemas[f"{class_name(entity)}Mutation"]["properties"]["base_version"]["maximum"] == 2**63 - 1
    audit = {p["name"]: p["schema"] for p in document["paths"]["/v1/office/audit"]["get"]["parameters"]}
    assert audit["device_id"]["pattern"].endswith("{1,64}$") and audit["before"]["maximum"] == 2**62
