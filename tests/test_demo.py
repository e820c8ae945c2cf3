"""``make run``'s demo: what a newcomer first sees is Chinese, whole and refused by nothing."""

from __future__ import annotations

from server.demo import DEMO_PEOPLE, load_demo
from sync import hlc

TOKENS = {user_id: token for user_id, _name, _role, _device, token in DEMO_PEOPLE}


def _load(app):
    services = app.extensions["fieldsync"]
    clocks: dict[str, hlc.Clock] = {}

    def hlc_for(device: str) -> str:
        return str(clocks.setdefault(device, hlc.Clock(device)).tick())

    return load_demo(services.engine, services.registry, hlc_for)


def _pull(client, user_id: str) -> list[dict]:
    answer = client.get("/v1/sync/pull?limit=500", headers={"Authorization": f"Bearer {TOKENS[user_id]}"})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["changes"]


def test_demo_shows_wang_his_chinese_customers_and_tickets_and_nothing_of_chens(app, client):
    printed = _load(app)
    assert ("王磊（工程师）", "engineer", "demo-wang-token") in printed

    wang = _pull(client, "u-wang")
    customers = {c["data"]["name"] for c in wang if c["entity"] == "customer"}
    tickets = [c["data"] for c in wang if c["entity"] == "ticket"]
    assert customers == {"华鑫印刷有限公司", "金桥医院"}
    assert {t["assignee_id"] for t in tickets} == {"u-wang"}
    assert all(t["fault_description"] == "设备运行十分钟后停机，报错 E07。" for t in tickets)
    assert {c["data"]["name"] for c in wang if c["entity"] == "part"} == {"传动皮带", "轴承 6204", "主控板"}


def test_demo_loaded_twice_adds_nothing_the_second_time(app, client):
    _load(app)
    office_before = _pull(client, "u-desk")
    _load(app)
    office_after = _pull(client, "u-desk")
    assert len(office_after) == len(office_before)
    assert sum(c["entity"] == "ticket" for c in office_after) == 3
    assert sum(c["entity"] == "maintenance_plan" for c in office_after) == 1


def test_the_demo_desk_signs_in_to_the_console_with_the_printed_password_and_sees_its_chinese_tickets(app, client):
    from server.demo import DEMO_PASSWORD
    from tests.console_pages import sign_in

    _load(app)
    assert sign_in(client, "u-desk", DEMO_PASSWORD).status_code == 302
    board = client.get("/console/tickets", headers={"Accept-Language": "zh-CN"})
    assert board.status_code == 200 and "华鑫印刷有限公司" in board.text
    assert sign_in(app.test_client(), "u-wang", DEMO_PASSWORD).status_code != 302  # an engineer signs in on his device
