"""Whatever values devices write, each mutation gets its answer and every answer after
it still reads.

Hypothesis sends pushes of random fields of every entity, with values of each field's
type and at and past its edges (``tests/edge_values.py``), from each role, to rows new
and already written. Each push must answer 200 with one result per mutation (a refused
value rejects its own mutation only, with a code); then the desk's pull and every
office and depot answer built from stored rows (conflicts, audit, visits generated from
maintenance plans, complaints escalated, stock reconciliation) must still answer 200:
a stored value that breaks an answer later is the failure this looks for. Seeded; the
database carries over from one example to the next, so later pushes meet earlier rows.
"""

from __future__ import annotations

import itertools
import json
import os

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync import hlc
from sync.registry import REGISTRY
from tests.conftest import auth_header
from tests.edge_values import ROW_IDS, field_values

EXAMPLES = 2000 if os.environ.get("FIELDSYNC_SOAK") == "1" else 300
RESULT_STATUSES = {"applied", "merged", "conflict", "rejected"}
_SENT = itertools.count()
ANSWERS_AFTER = [
    ("GET", "/v1/sync/pull?limit=5000", None),
    ("GET", "/v1/office/conflicts", None),
    ("GET", "/v1/office/audit", None),
    ("POST", "/v1/office/maintenance/generate", {"horizon_days": 366}),
    ("POST", "/v1/office/complaints/escalate", None),
    ("GET", "/v1/depot/reconciliation", None),
]


@pytest.fixture
def busy_client(app_factory):
    """The app with its rate limit off: this is one very busy client."""
    return app_factory(RATE_LIMIT_PER_MINUTE=0).test_client()


@st.composite
def mutations(draw, role: str) -> dict:
    """A write of fields ``role`` may write (the rights are the schemathesis run's), to an
    entity it may create rows of."""
    entity = draw(st.sampled_from([e for e in REGISTRY if role in e.creators]))
    # a few row ids per entity: later pushes update, merge and conflict with earlier ones
    return {"entity": entity.name, "id": draw(st.sampled_from(ROW_IDS)), "op": draw(st.sampled_from(["insert", "update"])),
            "fields": draw(field_values(entity, role))}


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data(), name=st.sampled_from(["desk", "desk", "manager", "wang", "depot"]))
def test_any_value_a_device_writes_gets_its_own_answer_and_every_answer_after_still_reads(
        busy_client, people, data, name):
    client, person = busy_client, people[name]
    pushed = data.draw(st.lists(mutations(person.role), min_size=1, max_size=8), label="mutations")
    clock = hlc.Clock(person.device_id)
    numbered = itertools.count()
    changeset_id = f"cs-{next(_SENT)}"
    body = {"changeset_id": changeset_id, "device_id": person.device_id, "schema_version": 1,
            "mutations": [{**m, "mutation_id": f"{changeset_id}-m{next(numbered)}", "hlc": str(clock.tick())}
                          for m in pushed]}
    # json.dumps, not orjson: it writes integers past 64 bits as they are, as other clients do
    answer = client.post("/v1/sync/push", data=json.dumps(body),
                         headers={**auth_header(person), "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.get_data()[:500]
    results = answer.json["results"]
    assert len(results) == len(pushed)
    assert all(r["status"] in RESULT_STATUSES and (r["status"] != "rejected" or r["code"]) for r in results)
    for method, path, sent in ANSWERS_AFTER:
        after = client.open(path, method=method, headers=auth_header(people["desk"]),
                            data=None if sent is None else orjson.dumps(sent), content_type="application/json")
        assert after.status_code == 200, (path, after.get_data()[:500])
