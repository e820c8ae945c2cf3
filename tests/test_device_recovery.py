"""A lost phone is revoked; when it turns up, head office pushes its unsent work from the
replica file (``fieldsync device recover``) as its engineer would have: once, audited,
and nothing the engineer could not have written."""

from __future__ import annotations

import sqlite3
from collections import Counter

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from server.audit import read as read_audit
from server.auth import revoke_device
from server.cli import main
from server.tables import entity_table
from sync.errors import TransportError
from tests.conftest import Person
from tests.scenario import complete_and_sign, desk_opens_ticket


class AnswerLost:
    """The network drops every push's answer on the way back: the server applied it, the
    phone never learns so."""

    def __init__(self, inner):
        self.inner = inner

    def push(self, changeset: dict) -> dict:
        self.inner.push(changeset)
        raise TransportError("the answer was lost on the way back")

    def __getattr__(self, name):
        return getattr(self.inner, name)


def server_row(engine, entity, row_id) -> dict | None:
    table = entity_table(entity)
    with engine.connect() as conn:
        found = conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().first()
    return dict(found) if found else None


@pytest.fixture
def run(database_url, monkeypatch):
    monkeypatch.setenv("FIELDSYNC_DATABASE_URL", database_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


@pytest.fixture
def lost_phone(people, replica_for, transport_for, engine, tmp_path) -> dict:
    """Wang's phone: a change-set sent whose answer never came back, then a morning of
    work on site with no signal — a diagnosis, an address, a signed report, a work log
    on Chen's ticket whose id he guessed, the urgency only the desk sets — and then the
    phone is lost and revoked."""
    desk = replica_for(people["desk"])
    mine = desk_opens_ticket(desk, people["wang"].user_id, fault_description="开机十分钟后停机")
    chens = desk_opens_ticket(desk, people["chen"].user_id)["ticket"]
    phone = replica_for(people["wang"])
    phone.sync()
    phone.update("ticket", mine["ticket"], status="travelling")
    phone.close()
    phone = replica_for(people["wang"], transport=AnswerLost(transport_for(people["wang"])))
    with pytest.raises(TransportError):
        phone.sync()
    phone.update("customer", mine["customer"], address="北京市朝阳区建国路88号院3号楼")
    signature = complete_and_sign(phone, mine["ticket"])
    guessed = phone.insert("work_log", ticket_id=chens, engineer_id=people["wang"].user_id, event="arrived",
                           at="2026-11-23T09:40:00+08:00")
    phone.update("ticket", mine["ticket"], urgency="emergency")
    phone.close()
    with engine.begin() as conn:
        revoke_device(conn, people["wang"].device_id)
    return {"file": str(tmp_path / f"{people['wang'].device_id}.replica"), "ticket": mine["ticket"],
            "customer": mine["customer"], "signature": signature, "guessed": guessed, "chens": chens}


def test_head_office_recovers_a_lost_phones_work_once_audited_and_only_what_its_engineer_could_write(
        people, engine, run, lost_phone):
    done = run("device", "recover", lost_phone["file"], "--by", people["manager"].user_id)
    assert done.exit_code == 0, done.output
    assert "2 refused" in done.output and "not_your_row" in done.output and "field_not_owned" in done.output
    ticket = server_row(engine, "ticket", lost_phone["ticket"])
    assert (ticket["status"], ticket["diagnosis"], ticket["urgency"]) == ("completed", "worn drive belt", "normal")
    assert server_row(engine, "customer", lost_phone["customer"])["address"] == "北京市朝阳区建国路88号院3号楼"
    assert server_row(engine, "signature", lost_phone["signature"])["stale"] is not True
    assert server_row(engine, "work_log", lost_phone["guessed"]) is None

    with engine.connect() as conn:
        trail = read_audit(conn, device_id=people["wang"].device_id)
    assert {e["user_id"] for e in trail} == {people["wang"].user_id}
    assert Counter(e["mutation_id"] for e in trail).most_common(1)[0][1] == 1  # each once
    recovered = [e for e in trail if e["recovered_by"] is not None]
    assert {e["recovered_by"] for e in recovered} == {people["manager"].user_id}
    assert sorted(e["code"] for e in recovered if e["status"] == "rejected") == ["field_not_owned", "not_your_row"]
    [sent_by_the_phone] = [e for e in trail if e["recovered_by"] is None and e["entity"] == "ticket"]
    assert sent_by_the_phone["fields"] == ["status"]  # the change-set whose answer was lost, applied once

    again = run("device", "recover", lost_phone["file"], "--by", people["manager"].user_id)
    assert again.exit_code == 0 and "0 change(s) recovered" in again.output
    with engine.connect() as conn:
        assert len(read_audit(conn, device_id=people["wang"].device_id)) == len(trail)
    with sqlite3.connect(lost_phone["file"]) as db:
        parked = sorted(code for (code,) in db.execute("SELECT code FROM _parked"))
    assert parked == ["field_not_owned", "not_your_row"]  # the file keeps why, as the phone would


def test_recovery_refuses_what_is_not_a_revoked_device_of_this_server_with_a_message(
        people, engine, run, replica_for, lost_phone, tmp_path):
    notes = tmp_path / "维修记录.txt"
    notes.write_text("皮带磨损，已更换", encoding="utf-8")
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    stranger = replica_for(Person("u-li", "engineer", "d-other-server-phone", "no-token"))
    stranger.close()
    chen = replica_for(people["chen"])
    chen.sync()
    chen.close()
    for args, message in [
        ((str(notes), "--by", people["manager"].user_id), "is not a fieldsync device replica"),
        ((str(empty), "--by", people["manager"].user_id), "is not a fieldsync device replica"),
        ((str(tmp_path / "d-other-server-phone.replica"), "--by", people["manager"].user_id),
         "which this server does not know"),
        ((str(tmp_path / f"{people['chen'].device_id}.replica"), "--by", people["manager"].user_id),
         "is not revoked"),
        ((lost_phone["file"], "--by", people["wang"].user_id), "only head office recovers"),
        ((lost_phone["file"], "--by", "u-nobody"), "only head office recovers"),
    ]:
        answer = run("device", "recover", *args)
        assert answer.exit_code == 1 and message in answer.output, (args, answer.output)
        assert "Traceback" not in answer.output
    assert server_row(engine, "work_log", lost_phone["guessed"]) is None
    assert server_row(engine, "ticket", lost_phone["ticket"])["status"] == "travelling"
    assert notes.read_text(encoding="utf-8") == "皮带磨损，已更换"
    with sqlite3.connect(empty) as db:
        assert db.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
