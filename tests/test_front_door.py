"""What a browser, a curl user and a load balancer meet first: ``/``, ``/openapi.json``,
the API reference page, ``/docs/*.md``, ``/healthz`` and ``/readyz``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from server import create_app
from server.migrations import revisions, upgrade
from tests.served import free_port

ROOT = Path(__file__).resolve().parent.parent
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_browser_opening_the_root_gets_a_page_pointing_to_the_reference_the_document_and_the_docs(client):
    answer = client.get("/", headers=BROWSER)
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    page = answer.get_data(as_text=True)
    for href in ("/reference", "/openapi.json", "/docs/protocol.md", "/docs/entities.md", "/healthz", "/readyz"):
        assert f'href="{href}"' in page, href


def test_curl_on_the_root_gets_json_links_without_a_token(client):
    for headers in ({}, {"Accept": "*/*"}, {"Accept": "application/json"}):
        answer = client.get("/", headers=headers)
        assert answer.status_code == 200 and answer.mimetype == "application/json"
        links = answer.json["links"]
        assert (links["openapi"], links["reference"], links["readyz"]) == ("/openapi.json", "/reference", "/readyz")
        assert client.get(links["docs"]["protocol"]).status_code == 200


def test_openapi_json_is_the_checked_in_openapi_yaml(client):
    answer = client.get("/openapi.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert answer.json == yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))


def test_reference_page_shows_every_operation_and_schema_and_loads_nothing_from_elsewhere(client):
    page = client.get("/reference").get_data(as_text=True)
    document = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            if method == "parameters":
                continue
            assert f'id="{op["operationId"]}" data-method="{method.upper()}" data-path="{path}"' in page
    for name in document["components"]["schemas"]:
        assert f'id="schema-{name}"' in page, name
    assert not re.search(r'(src|href)="(https?:)?//', page), "the page must work with no network"
    assert "<script src" not in page and "<link" not in page


def test_a_document_is_markdown_in_utf8_said_once_in_its_content_type(client):
    answer = client.get("/docs/protocol.md")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert "王师傅" in answer.get_data(as_text=True)  # the Chinese of the examples arrives as written


def test_an_unknown_document_is_a_json_404(client):
    answer = client.get("/docs/secrets.md")
    assert (answer.status_code, answer.json["code"]) == (404, "not_found")


def test_healthz_answers_while_the_process_runs(client):
    assert (client.get("/healthz").status_code, client.get("/healthz").json) == (200, {"status": "ok"})


def test_readyz_is_ready_on_a_database_at_head(client):
    assert (client.get("/readyz").status_code, client.get("/readyz").json) == (200, {"status": "ready"})


def test_readyz_refuses_a_database_one_migration_behind_head_naming_what_it_lacks(empty_database_url):
    *older, head = revisions()
    upgrade(empty_database_url, older[-1])
    app = create_app({"DATABASE_URL": empty_database_url, "TESTING": True, "CREATE_SCHEMA": False})
    try:
        answer = app.test_client().get("/readyz")
    finally:
        app.extensions["fieldsync"].engine.dispose()
    assert (answer.status_code, answer.json["code"], answer.json["details"]) == (
        503, "migrations_pending", {"pending": [head]})
    assert "fieldsync db upgrade" in answer.json["message"]


def test_readyz_refuses_when_the_database_cannot_be_reached(tmp_path):
    missing = tmp_path / "no-such-directory" / "fieldsync.db"
    app = create_app({"DATABASE_URL": f"sqlite:///{missing}", "TESTING": True, "CREATE_SCHEMA": False})
    try:
        answer = app.test_client().get("/readyz")
    finally:
        app.extensions["fieldsync"].engine.dispose()
    assert (answer.status_code, answer.json["code"]) == (503, "database_unreachable")
    # the process itself still answers while its database does not
    assert app.test_client().get("/healthz").status_code == 200


def test_make_run_upgrades_loads_the_demo_and_serves_the_front_door_on_loopback(tmp_path):
    """What the Makefile's ``run`` target does, command by command, on a new SQLite file."""
    fieldsync = str(Path(sys.executable).with_name("fieldsync"))  # the venv's console script, as make runs it
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'fieldsync.db'}"}
    for command in (["db", "upgrade"], ["demo"]):
        subprocess.run([fieldsync, *command], env=env, cwd=tmp_path, check=True, capture_output=True, timeout=120)
    port = free_port()
    server = subprocess.Popen([fieldsync, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30.0) as http:
            _wait_until_healthy(http, server)
            for path in ("/", "/openapi.json", "/reference", "/healthz", "/readyz"):
                assert http.get(path).status_code == 200, path
            # the demo is loaded: its engineer's token is a device the server knows
            me = http.get("/v1/me", headers={"Authorization": "Bearer demo-wang-token"})
            assert (me.status_code, me.json()["person"]["role"]) == (200, "engineer")
    finally:
        _stop(server)


def _wait_until_healthy(http: httpx.Client, server: subprocess.Popen) -> None:
    """Poll ``/healthz`` until it answers; the cap only guards against a hang."""
    deadline = time.monotonic() + 120
    while True:
        try:
            if http.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert server.poll() is None, f"fieldsync serve exited with {server.returncode}"
        assert time.monotonic() < deadline, "fieldsync serve did not answer /healthz"
        time.sleep(0.1)


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM to gunicorn's master (it stops its workers); SIGKILL to the whole group if it hangs."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
