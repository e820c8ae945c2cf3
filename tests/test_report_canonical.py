"""The signed service report is RFC 8785 canonical JSON: the worked examples of
docs/protocol.md hold, a client in JavaScript signs bytes the server agrees with, and the
signatures made in the old form (format 1) still verify in it."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import orjson
import rfc8785
import sqlalchemy as sa

from server.auth import add_device
from server.db import make_engine
from server.migrations import upgrade
from server.tables import entity_table
from sync import hlc
from sync.ids import new_id
from sync.report import REPORT_FORMAT, canonical_report, report_hash
from tests.conftest import auth_header
from tests.scenario import desk_opens_ticket, stock_setup

PROTOCOL = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"


def worked_examples() -> list[tuple[dict, bytes, str]]:
    """``(inputs, canonical bytes, SHA-256)`` of each worked example, read from the docs."""
    text = PROTOCOL.read_text(encoding="utf-8")
    inputs = re.findall(r"```json report-input\n(.*?)\n```", text, re.S)
    written = re.findall(r"```text report-bytes\n(.*?)\n```", text, re.S)
    hashes = re.findall(r"^SHA-256: `([0-9a-f]{64})`$", text, re.M)
    assert len(inputs) == len(written) == len(hashes) >= 2, "each worked example has its inputs, bytes and hash"
    return [(json.loads(i), b.encode("utf-8"), h) for i, b, h in zip(inputs, written, hashes)]


def server_row(engine, entity: str, row_id: str) -> dict:
    table = entity_table(entity)
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().one())


def test_the_worked_examples_in_the_protocol_hash_to_what_the_docs_say_and_are_what_the_engine_writes():
    examples = worked_examples()
    assert any("张三" in written.decode() for _, written, _ in examples), "one example is in Chinese"
    for inputs, written, sha256 in examples:
        assert hashlib.sha256(written).hexdigest() == sha256  # the docs' own bytes give the docs' hash
        assert rfc8785.dumps(json.loads(written)) == written  # the bytes are canonical by RFC 8785
        assert canonical_report(inputs["ticket_id"], inputs["ticket"], inputs["consumed"]) == written
        assert report_hash(inputs["ticket_id"], inputs["ticket"], inputs["consumed"]) == sha256
        assert b".0," not in written and b".0]" not in written  # whole quantities are written 2, not 2.0


def test_a_parts_total_is_the_same_double_whatever_order_the_consumptions_come_in():
    ticket = {"fault_description": "压缩机不启动", "actions": "更换启动电容"}
    rows = [{"part_id": "p-wire", "qty": 0.1}, {"part_id": "p-wire", "qty": 0.2}, {"part_id": "p-wire", "qty": 0.3},
            {"part_id": "p-cap", "qty": 1}, {"part_id": "p-cap", "qty": None}]
    written = {canonical_report("T2611-00108", ticket, order) for order in itertools.permutations(rows)}
    assert len(written) == 1
    assert b'["p-cap",1],["p-wire",0.6000000000000001]' in written.pop()  # smallest first, as docs/protocol.md says


def test_a_signature_hashed_as_a_javascript_client_writes_it_is_current_on_the_server(people, replica_for, client,
                                                                                      engine):
    """王师傅's colleagues write their tablet app in JavaScript: JSON.stringify writes the
    two belts consumed as ``2``, where Python's float would write ``2.0``."""
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    where = stock_setup(desk, people)
    ticket = desk_opens_ticket(desk, people["wang"].user_id, fault_description="客户 张三：压缩机不启动")["ticket"]
    wang.sync()
    wang.update("ticket", ticket, status="on_site", arrived_at="2026-11-23T09:40:00+08:00")
    wang.update("ticket", ticket, diagnosis="启动电容损坏", actions="更换启动电容", result="制冷正常")
    for _ in range(2):
        wang.insert("stock_movement", kind="consume", part_id=where["part"], qty=1, from_location_id=where["van_wang"],
                    ticket_id=ticket)
    wang.update("ticket", ticket, status="completed", completed_at="2026-11-23T11:05:00+08:00")
    wang.sync()
    assert [m["qty"] for m in wang.all("stock_movement").values() if m["kind"] == "consume"] == [1.0, 1.0]

    with engine.begin() as conn:
        device, token = add_device(conn, people["wang"].user_id, "王师傅的平板 (JavaScript)")
    # what the JavaScript app's JSON.stringify gives, written out by hand
    js_bytes = ('{"parts":[["' + where["part"] + '",2]],"report":{"actions":"更换启动电容","cause":null,'
                '"diagnosis":"启动电容损坏","diagnosis_check":null,"diagnosis_listen":null,"diagnosis_look":null,'
                '"fault_description":"客户 张三：压缩机不启动","result":"制冷正常"},"ticket_id":"' + ticket + '"}'
                ).encode("utf-8")
    consumed = [m for m in wang.all("stock_movement").values() if m["kind"] == "consume"]
    assert canonical_report(ticket, wang.get("ticket", ticket), consumed) == js_bytes  # the Python engine agrees
    js = {"Authorization": f"Bearer {token}"}
    image = "张三的签名".encode() * 40
    image_sha = hashlib.sha256(image).hexdigest()
    assert client.put(f"/v1/blobs/{image_sha}", data=image, headers={**js, "Content-Type": "image/png"}).status_code == 201
    signature, now = new_id(), hlc.now_ms()
    changeset = ('{"changeset_id":"' + new_id() + '","device_id":"' + device + '","schema_version":1,"mutations":['
                 '{"mutation_id":"' + new_id() + '","entity":"signature","id":"' + signature + '","op":"insert",'
                 '"fields":{"ticket_id":"' + ticket + '","blob_sha256":"' + image_sha + '","signer_name":"张三",'
                 '"signed_at":"2026-11-23T11:10:00+08:00","report_hash":"' + hashlib.sha256(js_bytes).hexdigest() +
                 '","report_format":2},"hlc":"' + hlc.format_hlc(now, 0, device) + '","base_version":null},'
                 '{"mutation_id":"' + new_id() + '","entity":"ticket","id":"' + ticket + '","op":"update",'
                 '"fields":{"status":"signed"},"hlc":"' + hlc.format_hlc(now, 1, device) + '","base_version":' +
                 str(server_row(engine, "ticket", ticket)["version"]) + '}]}')
    answer = client.post("/v1/sync/push", data=changeset.encode("utf-8"),
                         headers={**js, "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.json
    assert [r["status"] for r in answer.json["results"]] == ["applied", "applied"], answer.json
    assert server_row(engine, "ticket", ticket)["status"] == "signed"  # a current signature, its image whole
    stored = server_row(engine, "signature", signature)
    assert (stored["stale"], stored["report_format"]) == (False, 2)
    python_floats = canonical_report(ticket, wang.get("ticket", ticket), consumed, 1)  # the old form
    assert b'",2.0]]' in python_floats and hashlib.sha256(python_floats).hexdigest() != stored["report_hash"]
    wang.sync()
    assert (wang.get("signature", signature)["stale"], wang.get("signature", signature)["report_format"]) == (False, 2)


def test_a_signature_made_in_the_old_form_still_verifies_in_it_and_goes_stale_when_the_report_changes(
        people, replica_for, engine, client):
    """An older app (no report_format, ``2.0`` for two belts) signs offline; the server
    finds the format its hash was made in, keeps it current, and marks it stale once 王师傅
    changes the actions afterwards — checked in format 1 still. A signature that states
    format 2 is checked in format 2 only: an old-form hash under it is stale."""
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    where = stock_setup(desk, people)
    ticket = desk_opens_ticket(desk, people["wang"].user_id, fault_description="运行十分钟后停机")["ticket"]
    wang.sync()
    wang.update("ticket", ticket, status="on_site", arrived_at="2026-11-23T09:40:00+08:00")
    wang.update("ticket", ticket, diagnosis="传动皮带磨损", actions="更换传动皮带", result="运行正常")
    wang.insert("stock_movement", kind="consume", part_id=where["part"], qty=2, from_location_id=where["van_wang"],
                ticket_id=ticket)
    wang.update("ticket", ticket, status="completed", completed_at="2026-11-23T11:05:00+08:00")
    consumed = [m for m in wang.all("stock_movement").values() if m["kind"] == "consume"]
    old_hash = report_hash(ticket, wang.get("ticket", ticket), consumed, 1)
    assert old_hash != wang.report_hash(ticket)
    signature = wang.insert("signature", ticket_id=ticket, blob_sha256=wang.put_blob(b"\x89PNG strokes"),
                            signer_name="刘先生", signed_at="2026-11-23T11:10:00+08:00", report_hash=old_hash,
                            report_format=None)
    # an app that says format 2 but hashed in the old form signed nothing the server can show
    claimed = wang.insert("signature", ticket_id=ticket, blob_sha256=wang.put_blob(b"\x89PNG other strokes"),
                          signer_name="刘先生", signed_at="2026-11-23T11:11:00+08:00", report_hash=old_hash,
                          report_format=2)
    wang.sync()
    stored = server_row(engine, "signature", signature)
    assert (stored["stale"], stored["report_format"]) == (False, 1)
    said = server_row(engine, "signature", claimed)
    assert (said["stale"], said["report_format"]) == (True, 2)
    pulled = client.get(f"/v1/sync/rows/signature/{signature}", headers=auth_header(people["wang"])).json
    assert (pulled["data"]["stale"], pulled["data"]["report_format"]) == (False, 1)
    wang.update("ticket", ticket, actions="更换传动皮带和张紧轮")
    wang.sync()
    assert server_row(engine, "signature", signature)["stale"] is True
    assert wang.get("signature", signature)["stale"] is True


def test_a_signature_whose_hash_matches_no_format_is_stale_from_arrival_and_says_false_or_true_in_every_answer(
        people, replica_for, client, engine):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id)["ticket"]
    wang.sync()
    wang.update("ticket", ticket, status="on_site", arrived_at="2026-11-23T09:40:00+08:00", diagnosis="传动皮带磨损",
                actions="更换传动皮带", result="运行正常")
    wang.update("ticket", ticket, status="completed")
    good = wang.insert("signature", ticket_id=ticket, blob_sha256=wang.put_blob(b"strokes"), signer_name="刘先生",
                       report_hash=wang.report_hash(ticket))
    bad = wang.insert("signature", ticket_id=ticket, blob_sha256=wang.put_blob(b"other strokes"),
                      signer_name="刘先生", report_hash="0" * 64, report_format=None)
    wang.sync()
    assert (server_row(engine, "signature", good)["stale"], server_row(engine, "signature", bad)["stale"]) == (False,
                                                                                                              True)
    assert server_row(engine, "signature", bad)["report_format"] == REPORT_FORMAT
    page = client.get("/v1/sync/pull?limit=5000", headers=auth_header(people["wang"])).json
    stale = {c["id"]: c["data"]["stale"] for c in page["changes"] if c["entity"] == "signature"}
    assert stale == {good: False, bad: True} and all(type(v) is bool for v in stale.values())  # not 0, 1 or null
    row = client.get(f"/v1/sync/rows/signature/{good}", headers=auth_header(people["desk"])).json
    assert row["data"]["stale"] is False
    answer = wang.transport.push({
        "changeset_id": new_id(), "device_id": people["wang"].device_id, "schema_version": 1,
        "mutations": [{"mutation_id": new_id(), "entity": "signature", "id": good, "op": "update",
                       "fields": {"signer_name": "刘先生 (改)"}, "hlc": hlc.format_hlc(hlc.now_ms(), 0, "d-wang"),
                       "base_version": 2}]})
    [refused] = answer["results"]
    assert (refused["code"], refused["server_row"]["data"]["stale"]) == ("signature_immutable", False)
    assert type(refused["server_row"]["data"]["stale"]) is bool


def test_signatures_stored_before_the_upgrade_are_format_1_and_not_stale_in_their_rows_and_in_the_log(
        empty_database_url):
    upgrade(empty_database_url, "0007_writeoff")
    engine = make_engine(empty_database_url)
    now = datetime.now(timezone.utc)
    old = {"ticket_id": "t-1", "blob_sha256": "a" * 64, "signer_name": "刘先生", "signed_at": None,
           "report_hash": "b" * 64, "stale": None}
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO signature (id, ticket_id, blob_sha256, signer_name, report_hash, "
                                 "version, deleted, clock, created_at, updated_at) VALUES ('s-1', 't-1', :blob, "
                                 "'刘先生', :hash, 1, false, '{}', :now, :now)"),
                         {"blob": "a" * 64, "hash": "b" * 64, "now": now})
            conn.execute(sa.text("INSERT INTO change_log (seq, entity, row_id, op, version, data, changed_at) "
                                 "VALUES (1, 'signature', 's-1', 'upsert', 1, :data, :now)"),
                         {"data": orjson.dumps(old).decode(), "now": now})
        upgrade(empty_database_url)
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT stale, report_format FROM signature")).one()
            logged = orjson.loads(conn.execute(sa.text("SELECT data FROM change_log WHERE seq = 1")).scalar_one())
    finally:
        engine.dispose()
    assert (bool(row[0]) if row[0] is not None else None, row[1]) == (False, 1)
    assert logged == {**old, "stale": False, "report_format": 1}
