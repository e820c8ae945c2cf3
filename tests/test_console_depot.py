"""The depot keeper's console: old parts back, issues against approved requisitions, count
sheets and open consumptions, on a small depot known by heart (tests/depot_world.py).

Every write is the console device's push, so the rules answer: the lifecycle rule says who
books an old part received, the requisition rule how much may still be issued.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from server.tables import audit, entity_table, users
from tests.conftest import auth_header
from tests.console_pages import csrf_of, sign_in, signed_in
from tests.depot_world import NORTH_PASSWORD, depot_world

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def world(engine, people, replica_for):
    return depot_world(engine, people, replica_for)


@pytest.fixture
def keeper(app, world):
    return signed_in(app, "u-depot")


def _row(engine, entity: str, row_id: str) -> dict | None:
    table = entity_table(entity)
    with engine.connect() as conn:
        found = conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().first()
    return dict(found) if found else None


def _movements(engine, **where) -> list[dict]:
    table = entity_table("stock_movement")
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).where(
            *(table.c[k] == v for k, v in where.items()))).mappings()]


def _form(client, url: str, row_id: str) -> dict:
    """The CSRF token and version of a row's form on a page."""
    page = client.get(url, headers=ZH)
    assert page.status_code == 200
    version = re.search(rf'/{row_id}/[a-z]+">\s*<input type="hidden" name="csrf_token" value="[^"]+">\s*'
                        r'<input type="hidden" name="version" value="(\d+)"', page.text)
    return {"csrf_token": csrf_of(page.text), "version": version.group(1) if version else "1"}


def _flashes(page_text: str) -> str:
    return " ".join(re.findall(r'class="flash [a-z]+" role="status">([^<]*)<', page_text))


def test_depot_keeper_sees_old_parts_of_his_depot_by_engineer_in_chinese(keeper, world):
    page = keeper.get("/console/depot/old-parts", headers=ZH)
    assert page.status_code == 200
    assert "待交回的旧件" in page.text
    assert "传动皮带" in page.text and "主控板" in page.text
    assert "王磊" in page.text and "陈浩" in page.text
    assert "压缩机阀门" not in page.text  # the north depot's
    only_wang = keeper.get("/console/depot/old-parts?engineer=u-wang", headers=ZH)
    assert 'data-return="%s"' % world.belt_back in only_wang.text
    assert 'data-return="%s"' % world.board_back not in only_wang.text


def test_booking_an_old_part_received_moves_it_into_the_depot_and_the_engineer_pulls_it(
        app, keeper, world, engine, people, replica_for):
    form = _form(keeper, "/console/depot/old-parts", world.belt_back)
    answer = keeper.post(f"/console/depot/old-parts/{world.belt_back}/receive", data=form, headers=ZH,
                         follow_redirects=True)
    assert answer.status_code == 200
    assert "旧件已登记收到。" in _flashes(answer.text)
    back = _row(engine, "old_part_return", world.belt_back)
    assert (back["status"], back["received_by"]) == ("received", "u-depot")
    [moved] = _movements(engine, kind="old_part_received", return_id=world.belt_back)
    assert (moved["from_location_id"], moved["to_location_id"], moved["condition"], moved["qty"], moved["held_by"]) \
        == (world.van_wang, world.main, "old", 1.0, "u-wang")
    with engine.connect() as conn:
        trail = conn.execute(sa.select(audit.c.user_id, audit.c.device_id, audit.c.status).where(
            audit.c.row_id == world.belt_back, audit.c.entity == "old_part_return",
            audit.c.device_id == "console-u-depot")).all()
    assert [tuple(t) for t in trail] == [("u-depot", "console-u-depot", "applied")]
    wang = replica_for(people["wang"])
    wang.sync()
    assert wang.get("old_part_return", world.belt_back)["status"] == "received"
    again = keeper.post(f"/console/depot/old-parts/{world.belt_back}/receive", data=form, headers=ZH,
                        follow_redirects=True)
    assert "这件旧件已经登记收到。" in _flashes(again.text)
    assert len(_movements(engine, kind="old_part_received", return_id=world.belt_back)) == 1


def test_an_old_part_sent_back_on_a_supplier_claim_waits_for_the_suppliers_answer(keeper, world, engine):
    form = _form(keeper, "/console/depot/old-parts", world.board_back)
    refused = keeper.post(f"/console/depot/old-parts/{world.board_back}/dispose", headers=ZH, follow_redirects=True,
                          data={**form, "disposition": "supplier_claim", "note": "索赔单 SC-0012"})
    assert "旧件须先登记收到才能处置" in _flashes(refused.text) and "old_part_not_received" in refused.text
    assert _row(engine, "old_part_return", world.board_back)["status"] == "expected"
    keeper.post(f"/console/depot/old-parts/{world.board_back}/receive", data=form, headers=ZH)
    page = keeper.get("/console/depot/old-parts", headers=ZH)
    assert 'id="back"' in page.text and "主控板" in page.text.split('id="back"')[1]
    form = _form(keeper, "/console/depot/old-parts", world.board_back)
    done = keeper.post(f"/console/depot/old-parts/{world.board_back}/dispose", headers=ZH, follow_redirects=True,
                       data={**form, "disposition": "supplier_claim", "note": "索赔单 SC-0012"})
    assert "旧件已处置：向供应商索赔。" in _flashes(done.text)
    back = _row(engine, "old_part_return", world.board_back)
    assert (back["status"], back["disposition"], back["claim_outcome"], back["note"]) == \
        ("disposed", "supplier_claim", "pending", "索赔单 SC-0012")
    [claim] = _movements(engine, kind="supplier_claim", return_id=world.board_back)
    assert (claim["from_location_id"], claim["condition"]) == (world.main, "old")


def test_the_desk_reads_the_old_parts_but_the_rule_keeps_booking_them_in_for_the_depot(app, world, engine):
    desk = signed_in(app, "u-desk")
    page = desk.get("/console/depot/old-parts", headers=ZH)
    assert page.status_code == 200 and "压缩机阀门" in page.text  # head office sees every depot
    assert "/receive" not in page.text
    answer = desk.post(f"/console/depot/old-parts/{world.belt_back}/receive", headers=ZH, follow_redirects=True,
                       data={"csrf_token": csrf_of(page.text), "version": "1"})
    assert "已拒绝：您的角色不能填写这一项（field_not_owned）。" in _flashes(answer.text)
    assert _row(engine, "old_part_return", world.belt_back)["status"] == "expected"
    assert _movements(engine, kind="old_part_received") == []


def test_a_depot_keeper_cannot_see_or_book_another_depots_parts(app, world, engine):
    north = signed_in(app, "u-north", NORTH_PASSWORD)
    page = north.get("/console/depot/old-parts", headers=ZH)
    assert "压缩机阀门" in page.text and "传动皮带" not in page.text
    token = csrf_of(page.text)
    answer = north.post(f"/console/depot/old-parts/{world.belt_back}/receive", headers=ZH,
                        data={"csrf_token": token, "version": "1"})
    assert answer.status_code == 404 and "您的仓库没有这件旧件。" in answer.text
    assert north.get(f"/console/depot/requisitions/{world.requisition}", headers=ZH).status_code == 404
    assert "月底盘点" not in north.get("/console/depot/counts", headers=ZH).text
    assert "传动皮带" not in north.get("/console/depot/consumptions", headers=ZH).text
    assert _row(engine, "old_part_return", world.belt_back)["status"] == "expected"


def test_an_engineer_cannot_sign_in_to_the_depot_pages(app, world, engine):
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == "u-wang").values(
            password_hash=PasswordHasher().hash("王磊设备上才用的密码")))
    client = app.test_client()
    answer = sign_in(client, "u-wang", "王磊设备上才用的密码")
    assert answer.status_code == 403 and "工程师请在自己的设备上登录" in answer.text
    assert client.get("/console/depot/old-parts").status_code == 302  # to the sign-in page


def test_issuing_an_approved_requisition_to_the_van_within_what_is_left(keeper, world, engine, people, replica_for):
    listed = keeper.get("/console/depot/requisitions", headers=ZH)
    assert f'data-requisition="{world.requisition}"' in listed.text and "王磊" in listed.text
    page = keeper.get(f"/console/depot/requisitions/{world.requisition}", headers=ZH)
    assert "液压软管" in page.text and "已批准" in page.text
    answer = keeper.post(f"/console/depot/requisitions/{world.requisition}/issue", headers=ZH, follow_redirects=True,
                         data={"csrf_token": csrf_of(page.text), f"qty-{world.belt}": "1", f"qty-{world.hose}": "1.5"})
    assert "已发到服务车：传动皮带、液压软管。" in _flashes(answer.text)  # in the requisition's line order
    issued = {m["part_id"]: (m["qty"], m["from_location_id"], m["to_location_id"], m["held_by"])
              for m in _movements(engine, kind="issue", requisition_id=world.requisition)}
    assert issued == {world.belt: (1.0, world.main, world.van_wang, "u-wang"),
                      world.hose: (1.5, world.main, world.van_wang, "u-wang")}
    over = keeper.post(f"/console/depot/requisitions/{world.requisition}/issue", headers=ZH, follow_redirects=True,
                       data={"csrf_token": csrf_of(page.text), f"qty-{world.belt}": "2"})
    said = _flashes(over.text)
    assert "传动皮带 × 2：已拒绝：超出批准后可发的数量（over_issue）。" in said and "批准 2，已发 1，剩余 1。" in said
    assert len(_movements(engine, kind="issue", requisition_id=world.requisition)) == 2
    keeper.post(f"/console/depot/requisitions/{world.requisition}/issue", headers=ZH,
                data={"csrf_token": csrf_of(page.text), f"qty-{world.belt}": "1"})
    assert _row(engine, "requisition", world.requisition)["issued"] is True
    assert f'data-requisition="{world.requisition}"' not in keeper.get("/console/depot/requisitions").text
    wang = replica_for(people["wang"])
    wang.sync()
    assert wang.get("requisition", world.requisition)["issued"] is True


BAD_QUANTITIES = [
    ({"belt": "-1"}, "传动皮带：数量不能为负。"),
    ({"belt": "1.5"}, "传动皮带按整数计（个）。"),
    ({"belt": "２"}, "传动皮带：请用数字 0 到 9 填写数量。"),
    ({"belt": "٣"}, "传动皮带：请用数字 0 到 9 填写数量。"),
    ({"belt": "1e3"}, "传动皮带：“1e3”不是数量。"),
    ({"hose": "99999999999"}, "液压软管：一次最多 100000。"),
    ({"belt": "", "hose": "0"}, "请至少填写一种备件的发放数量。"),
]


def test_quantities_that_are_not_quantities_get_a_message_and_issue_nothing(keeper, world, engine):
    page = keeper.get(f"/console/depot/requisitions/{world.requisition}", headers=ZH)
    token = csrf_of(page.text)
    for typed, message in BAD_QUANTITIES:
        data = {"csrf_token": token, **{f"qty-{getattr(world, part)}": value for part, value in typed.items()}}
        answer = keeper.post(f"/console/depot/requisitions/{world.requisition}/issue", data=data, headers=ZH)
        assert (answer.status_code, message in answer.text) == (422, True), (typed, answer.text[-2000:])
    assert _movements(engine, kind="issue") == []


def test_wrong_ids_pages_and_versions_get_a_message_never_a_500(keeper, world):
    page = keeper.get("/console/depot/old-parts", headers=ZH)
    token = csrf_of(page.text)
    for url in ("/console/depot/old-parts/no-such-part/receive", f"/console/depot/old-parts/{'x' * 500}/dispose"):
        answer = keeper.post(url, data={"csrf_token": token, "version": "1"}, headers=ZH)
        assert answer.status_code == 404 and "您的仓库没有这件旧件。" in answer.text
    assert keeper.get("/console/depot/requisitions/无此领料单", headers=ZH).status_code == 404
    for query in ("page=abc", "page=0", "page=１", "engineer=" + "x" * 100):
        answer = keeper.get(f"/console/depot/old-parts?{query}", headers=ZH)
        assert answer.status_code == 422 and 'class="problem"' in answer.text
    assert keeper.get("/console/depot/consumptions?page=-3", headers=ZH).status_code == 422
    damaged = keeper.post(f"/console/depot/old-parts/{world.belt_back}/receive", headers=ZH,
                          data={"csrf_token": token, "version": "１"})
    assert damaged.status_code == 422 and "表单已损坏" in damaged.text
    odd = keeper.post(f"/console/depot/old-parts/{world.belt_back}/dispose", headers=ZH,
                      data={"csrf_token": token, "version": "1", "disposition": "burn"})
    assert odd.status_code == 422 and "请选择旧件的去向" in odd.text


def test_every_depot_form_refuses_a_post_without_its_csrf_token(keeper, world, engine):
    for url, data in ((f"/console/depot/old-parts/{world.belt_back}/receive", {"version": "1"}),
                      (f"/console/depot/old-parts/{world.belt_back}/dispose", {"version": "1", "disposition": "scrap"}),
                      (f"/console/depot/requisitions/{world.requisition}/issue", {f"qty-{world.belt}": "1"})):
        answer = keeper.post(url, data=data, headers=ZH)
        assert answer.status_code == 400 and "表单已过期" in answer.text, url
        forged = keeper.post(url, data={**data, "csrf_token": "forged"}, headers=ZH)
        assert forged.status_code == 400
    assert _row(engine, "old_part_return", world.belt_back)["status"] == "expected"
    assert _movements(engine, kind="issue") == []


def test_the_count_sheet_shows_its_differences_until_the_manager_approves_it(keeper, world, people, replica_for):
    page = keeper.get("/console/depot/counts", headers=ZH)
    pending = page.text.split('id="approved"')[0]
    assert f'data-count="{world.count}"' in pending and "待审批" in pending and "月底盘点" in pending
    assert "传动皮带" in pending and "-2" in pending  # 8 counted, 10 in the ledger
    assert "液压软管" not in pending  # 20 counted, as the ledger says as of the count
    manager = replica_for(people["manager"])
    manager.sync()
    manager.update("stock_count", world.count, approved=True)
    manager.sync()
    page = keeper.get("/console/depot/counts", headers=ZH)
    pending, approved = page.text.split('id="approved"')
    assert f'data-count="{world.count}"' not in pending and "没有待审批的盘点表。" in pending
    assert "周杰" in approved and "总仓" in approved


def test_open_consumptions_wait_for_signature_and_old_part_and_write_offs_name_the_holder(keeper, world):
    page = keeper.get("/console/depot/consumptions", headers=ZH)
    assert f'data-movement="{world.belt_back}"' in page.text and f'data-movement="{world.board_back}"' in page.text
    assert f'data-movement="{world.valve_back}"' not in page.text  # drawn from a north van, back to the north
    row = page.text.split(f'data-movement="{world.belt_back}"')[1].split("</tr>")[0]
    assert "王磊" in row and "签字" in row and "旧件" in row
    written = page.text.split('id="write-offs"')[1]
    assert "液压软管" in written and "软管被叉车压破" in written and "赵敏" in written
    only_chen = keeper.get("/console/depot/consumptions?engineer=u-chen", headers=ZH)
    assert f'data-movement="{world.belt_back}"' not in only_chen.text


def test_an_old_belt_scrapped_in_the_console_is_written_off_in_the_keepers_name(keeper, world, engine, client, people):
    form = _form(keeper, "/console/depot/old-parts", world.belt_back)
    keeper.post(f"/console/depot/old-parts/{world.belt_back}/receive", data=form, headers=ZH)
    form = _form(keeper, "/console/depot/old-parts", world.belt_back)
    done = keeper.post(f"/console/depot/old-parts/{world.belt_back}/dispose", headers=ZH, follow_redirects=True,
                       data={**form, "disposition": "scrap", "note": "皮带开裂，无法修复"})
    assert "旧件已处置：报废。" in _flashes(done.text)
    [scrapped] = _movements(engine, kind="write_off", return_id=world.belt_back)
    assert (scrapped["from_location_id"], scrapped["condition"], scrapped["note"]) == (world.main, "old", "皮带开裂，无法修复")
    written = keeper.get("/console/depot/consumptions", headers=ZH).text.split('id="write-offs"')[1]
    assert "旧件报废: 皮带开裂，无法修复" in written
    answer = client.get("/v1/depot/reconciliation", headers=auth_header(people["depot"])).json
    [entry] = [w for w in answer["write_offs"] if w["return_id"] == world.belt_back]
    assert entry["written_off_by"] == "u-depot"
