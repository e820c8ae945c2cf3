"""Generated files stay true to the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from server import entity_reference
from server.openapi import render
from sync.registry import REGISTRY
from sync.rules import ticket

ROOT = Path(__file__).resolve().parent.parent


def test_checked_in_openapi_yaml_is_what_the_code_generates(app):
    assert (ROOT / "openapi.yaml").read_text() == render(app), "run 'make openapi' and commit openapi.yaml"


def test_checked_in_entity_reference_is_what_the_registry_and_rules_generate():
    assert (ROOT / "docs" / "entities.md").read_text(encoding="utf-8") == entity_reference.render(), \
        "run 'fieldsync docs write docs/entities.md' and commit it"


def test_entity_reference_names_every_field_with_its_sqlite_column_and_the_ticket_transitions():
    text = entity_reference.render()
    for entity in REGISTRY:
        section = text.split(f"### `{entity.name}`\n", 1)[1].split("\n### ", 1)[0]
        for field in entity.fields:
            assert f"| `{field.name}` | {field.type} |" in section, (entity.name, field.name)
    assert "| boolean | boolean | INTEGER |" in text and "| json | object or array | TEXT |" in text
    # the desk cancelling a ticket the engineer is on site for: taken only if the desk had seen it
    assert ticket.transition("desk", "on_site", "cancelled", False)[0] == "keep"
    row = next(line for line in text.splitlines() if line.startswith("| `on_site` | keep | take if seen"))
    assert row.endswith("| take ⚑ if seen, else keep ⚑ |")


def test_importing_sync_pulls_in_neither_flask_nor_sqlalchemy_nor_the_server():
    code = (
        "import sys, sync, sync.client, sync.transport, sync.rules, sync.changeset, sync.registry\n"
        "bad = [m for m in ('flask', 'sqlalchemy', 'server') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_every_cli_command_has_help():
    from click.testing import CliRunner

    from server.cli import main

    def walk(group, path):
        for name, command in group.commands.items():
            assert command.help, f"'fieldsync {' '.join(path + [name])}' has no help"
            if hasattr(command, "commands"):
                walk(command, path + [name])

    walk(main, [])
    assert CliRunner().invoke(main, ["--help"]).exit_code == 0
