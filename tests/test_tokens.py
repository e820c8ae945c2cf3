"""People, devices and their tokens: a lost phone is refused from its next request, and
what it synced before stays."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from server.auth import add_device, add_user, list_devices, revoke_device
from server.cli import main
from server.tables import devices, entity_table
from sync.errors import DeviceRevokedError, NotFoundError, ValidationError
from tests.conftest import Person, auth_header
from tests.scenario import desk_opens_ticket


def test_lost_phone_is_refused_at_once_and_the_work_it_synced_stays(people, replica_for, engine, client):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ids = desk_opens_ticket(desk, people["wang"].user_id)
    wang.sync()
    wang.update("ticket", ids["ticket"], diagnosis="worn drive belt")
    wang.insert("work_log", ticket_id=ids["ticket"], engineer_id=people["wang"].user_id, event="arrived")
    wang.sync()
    with engine.begin() as conn:
        revoke_device(conn, people["wang"].device_id)
    response = client.get("/v1/sync/pull", headers=auth_header(people["wang"]))
    assert (response.status_code, response.json["code"]) == (401, "device_revoked")
    wang.update("ticket", ids["ticket"], diagnosis="someone else's guess")
    with pytest.raises(DeviceRevokedError):
        wang.sync()
    table = entity_table("ticket")
    with engine.connect() as conn:
        assert conn.execute(sa.select(table.c.diagnosis).where(table.c.id == ids["ticket"])).scalar() == \
            "worn drive belt"
    desk.sync()
    assert desk.get("ticket", ids["ticket"])["diagnosis"] == "worn drive belt"
    assert len(desk.all("work_log")) == 1
    with engine.begin() as conn:
        device_id, token = add_device(conn, people["wang"].user_id, "new phone")
    fresh = replica_for(Person(people["wang"].user_id, "engineer", device_id, token))
    fresh.sync()
    assert fresh.get("ticket", ids["ticket"])["diagnosis"] == "worn drive belt"


def test_tokens_are_kept_only_as_hashes(people, engine):
    with engine.connect() as conn:
        stored = [r.token_hash for r in conn.execute(sa.select(devices.c.token_hash))]
    tokens = {p.token for p in people.values()}
    assert len(stored) == len(people) and not tokens & set(stored)
    assert all(len(h) == 64 for h in stored)


def test_revoking_twice_or_an_unknown_device_says_so(people, engine):
    with engine.begin() as conn:
        revoke_device(conn, people["chen"].device_id)
    with engine.begin() as conn, pytest.raises(NotFoundError):
        revoke_device(conn, people["chen"].device_id)
    with engine.begin() as conn, pytest.raises(NotFoundError):
        revoke_device(conn, "no-such-device")


def test_depot_keeper_is_added_with_his_depot(engine):
    with engine.begin() as conn, pytest.raises(ValidationError):
        add_user(conn, "Zhao Min", "depot")
    with engine.begin() as conn, pytest.raises(ValidationError):
        add_user(conn, "Nobody", "janitor")


def test_admin_adds_a_person_and_a_device_lists_them_and_revokes_the_device(database_url, monkeypatch, app, client):
    monkeypatch.setenv("FIELDSYNC_DATABASE_URL", database_url)
    runner = CliRunner()
    added = runner.invoke(main, ["user", "add", "Sun Li", "--role", "engineer"])
    assert added.exit_code == 0, added.output
    user_id = added.output.strip()
    device = runner.invoke(main, ["device", "add", user_id, "--name", "Sun's phone"])
    device_id, token = (line.split()[1] for line in device.output.splitlines())
    assert client.get("/v1/sync/pull", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    people = runner.invoke(main, ["user", "list"]).output
    assert "Sun Li" in people and "devices=1" in people
    assert "Sun's phone" in runner.invoke(main, ["device", "list", "--user", user_id]).output
    assert token not in runner.invoke(main, ["device", "list"]).output
    revoked = runner.invoke(main, ["device", "revoke", device_id])
    assert revoked.exit_code == 0
    response = client.get("/v1/sync/pull", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.json["code"]) == (401, "device_revoked")
    assert "revoked" in runner.invoke(main, ["device", "list", "--user", user_id]).output
    again = runner.invoke(main, ["device", "revoke", device_id])
    assert again.exit_code == 1 and "no active device" in again.output
    with app.extensions["fieldsync"].engine.connect() as conn:
        assert list_devices(conn, user_id)[0]["revoked_at"] is not None
