"""docs/protocol.md stays true to the build: a mobile team writes its client from the
document alone, so every file, step and fixed value it names must be the real one.

The worked report examples are checked in tests/test_report_canonical.py, the
conformance fixtures in tests/test_conformance_examples.py; this file checks the rest
of what the document states and the build fixes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import client_schema
from tests.conftest import auth_header

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = ROOT / "docs" / "protocol.md"
STEPS = {path.stem for path in client_schema.steps()}


def protocol() -> str:
    return PROTOCOL.read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text of one ``## title`` section of the document, up to the next one."""
    return protocol().split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_every_step_the_protocol_names_is_a_step_file_of_that_very_name():
    text = protocol()
    named = set(re.findall(r"\b(\d{4}_[a-z0-9_]+)\b", text))
    assert named, "the document names the steps it speaks of"
    assert named <= STEPS, f"no such step in client_schema/steps/: {sorted(named - STEPS)}"
    # a bare number drifts when steps are added (it once said 0011 for 0013_report_format)
    bare = re.findall(r"\bsteps? (\d{4})\b(?!_)", text)
    assert not bare, f"name a step by its file name, not its number alone: {bare}"


def test_every_client_schema_file_the_protocol_names_is_there():
    named = set(re.findall(r"`(client_schema/[\w./-]+)`", protocol()))
    assert {"client_schema/sql/migrations_table.sql", "client_schema/sql/triggers.sql"} <= named
    assert [path for path in sorted(named) if not (ROOT / path).exists()] == []


def test_the_replica_section_builds_the_replica_from_files_and_names_the_migrations_table():
    replica = section("The replica")
    assert f"`{client_schema.MIGRATIONS_TABLE}`" in replica and f"'{client_schema.MIGRATION_SET}'" in replica
    made = (ROOT / "client_schema/sql/migrations_table.sql").read_text(encoding="utf-8")
    assert f'CREATE TABLE "{client_schema.MIGRATIONS_TABLE}"' in made
    assert not re.search(r"client_schema\.\w+\(", protocol()), "a client in another language runs files, not Python"


def test_the_me_example_has_the_answers_shape_and_the_versions_and_default_limits_of_this_build(people, client):
    example = json.loads(re.search(r"```json\n(.*?)\n```", section("Who am I: `GET /v1/me`"), re.S).group(1))
    answer = client.get("/v1/me", headers=auth_header(people["wang"])).json

    def shape(value):
        return {key: shape(inner) for key, inner in value.items()} if isinstance(value, dict) else type(value)

    assert shape(example) == shape(answer)
    assert example["versions"] == answer["versions"]
    assert example["limits"] == answer["limits"]  # the defaults, on a device that has uploaded nothing yet
