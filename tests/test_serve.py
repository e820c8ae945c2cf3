"""``fieldsync serve --workers 2`` really serves: gunicorn's master and two worker
processes on the run's database, devices syncing through them at the same time.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from server.cli import main

from tests.scenario import desk_opens_ticket
from tests.served import children, device, free_port, serving


def test_serve_with_two_workers_syncs_devices_at_the_same_time(database_url, people, tmp_path):
    with serving(database_url, "--workers", "2", "--threads", "2") as (server, base_url):
        # the first worker may answer before the second has booted: wait for it (the
        # deadline only stops a broken run from hanging, however busy the machine)
        deadline = time.monotonic() + 300
        while len(children(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(children(server.pid)) == 2, "gunicorn did not start two workers"
        _desk_and_two_engineers_sync_through(base_url, people, tmp_path)
        assert len(children(server.pid)) == 2, "a worker died while serving"
    assert server.returncode == 0 and "Traceback" not in server.output, server.output


def _desk_and_two_engineers_sync_through(base_url: str, people, tmp_path: Path) -> None:
    """The desk opens tickets; both engineers, at once (each has his tickets before either
    starts), diagnose theirs and sync each edit."""
    with device(base_url, people["desk"], tmp_path / "desk.replica") as desk:
        tickets = {name: [desk_opens_ticket(desk, people[name].user_id)["ticket"] for _ in range(3)]
                   for name in ("wang", "chen")}

        both_at_work = threading.Barrier(2, timeout=60)

        def engineer_works(name: str) -> dict[str, str]:
            with device(base_url, people[name], tmp_path / f"{name}.replica") as replica:
                replica.sync()
                both_at_work.wait()  # neither starts his edits before the other has his tickets
                for ticket in tickets[name]:
                    replica.update("ticket", ticket, diagnosis=f"{name}更换了{ticket}的定影器")
                    replica.sync()
                return {ticket: replica.get("ticket", ticket)["diagnosis"] for ticket in tickets[name]}

        with ThreadPoolExecutor(2) as pool:
            diagnosed = dict(zip(tickets, pool.map(engineer_works, tickets), strict=True))
        desk.sync()
        for name, ids in tickets.items():
            for ticket in ids:
                wanted = f"{name}更换了{ticket}的定影器"
                assert diagnosed[name][ticket] == desk.get("ticket", ticket)["diagnosis"] == wanted


def test_serve_refuses_to_start_on_a_postgresql_database_without_its_migrations(empty_database_url):
    if empty_database_url.startswith("sqlite"):
        pytest.skip("the app migrates SQLite itself at start-up")

    result = CliRunner().invoke(main, ["serve", "--port", str(free_port())], env={"DATABASE_URL": empty_database_url})

    assert result.exit_code == 1
    assert "run `fieldsync db upgrade` first" in result.output
