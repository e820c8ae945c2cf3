"""Generated files stay true to the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from server.openapi import render

ROOT = Path(__file__).resolve().parent.parent


def test_checked_in_openapi_yaml_is_what_the_code_generates(app):
    assert (ROOT / "openapi.yaml").read_text() == render(app), "run 'make openapi' and commit openapi.yaml"


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
