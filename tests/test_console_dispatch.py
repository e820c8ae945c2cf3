"""Dispatching, reassigning and cancelling from the console: the push path as the office's
own device, so the rules, the trail and the conflict queue hold and engineers pull it."""

from __future__ import annotations

import re

import orjson
import pytest
import sqlalchemy as sa

from server.tables import audit, change_log, entity_table
from tests.console_pages import csrf_of, give_passwords, signed_in
from tests.scenario import desk_opens_ticket


@pytest.fixture
def call(people, replica_for):
    """A customer rang: the desk's phone recorded the ticket, nobody assigned yet."""
    desk_phone = replica_for(people["desk"])
    return desk_opens_ticket(desk_phone, None, status="reported", zone="ring2",
                             fault_description="数控机床主轴过热报警")["ticket"]


@pytest.fixture
def office(app, people):
    give_passwords(app.extensions["fieldsync"].engine)
    return {name: signed_in(app, f"u-{name}") for name in ("desk", "depot")}


def _ticket(app, ticket_id: str) -> dict:
    table = entity_table("ticket")
    with app.extensions["fieldsync"].engine.connect() as conn:
        return dict(conn.execute(sa.select(table).where(table.c.id == ticket_id)).mappings().one())


def _form(client, ticket_id: str) -> tuple[str, str]:
    """The ticket page's CSRF token and the version it shows."""
    page = client.get(f"/console/tickets/{ticket_id}", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    return csrf_of(page.text), re.search(r'name="version" value="(\d+)"', page.text).group(1)


def _dispatch(client, ticket_id: str, engineer: str, token: str, version: str):
    return client.post(f"/console/tickets/{ticket_id}/dispatch", headers={"Accept-Language": "zh-CN"},
                       data={"csrf_token": token, "assignee": engineer, "version": version}, follow_redirects=True)


def test_desk_dispatches_from_the_console_and_the_engineer_pulls_the_job(app, office, call, people, replica_for):
    token, version = _form(office["desk"], call)
    answer = _dispatch(office["desk"], call, "u-wang", token, version)
    assert answer.status_code == 200
    assert "已派给wang。" in answer.text
    stored = _ticket(app, call)
    assert (stored["status"], stored["assignee_id"], stored["author_device"]) == ("dispatched", "u-wang", "d-desk")
    assert stored["answered_at"] is not None  # dispatching answers the request (the SLA's answer clock)
    wang = replica_for(people["wang"])
    wang.sync()
    assert wang.get("ticket", call)["status"] == "dispatched"
    assert wang.get("ticket", call)["fault_description"] == "数控机床主轴过热报警"
    with app.extensions["fieldsync"].engine.connect() as conn:
        trail = conn.execute(sa.select(audit.c.user_id, audit.c.role, audit.c.device_id, audit.c.status,
                                       audit.c.fields).where(audit.c.entity == "ticket", audit.c.row_id == call)
                             .order_by(audit.c.id)).all()
        logged = conn.execute(sa.select(change_log.c.hlc).where(change_log.c.entity == "ticket",
                                                                change_log.c.row_id == call)).scalars().all()
    assert trail[-1][:4] == ("u-desk", "desk", "console-u-desk", "applied")
    assert sorted(orjson.loads(trail[-1][4])) == ["assignee_id", "status"]
    assert len(logged) == 2  # the desk phone's insert, then the console's dispatch: engineers pull it
    clock = orjson.loads(stored["clock"])
    assert clock["assignee_id"][0].endswith(":console-u-desk") and clock["status"][0].endswith(":console-u-desk")


def test_dispatch_lists_engineers_of_the_ticket_zone_first_with_their_open_load(app, office, call, people,
                                                                              replica_for):
    desk_phone = replica_for(people["desk"])
    for fault in ("冷库不制冷", "叉车漏油"):
        desk_opens_ticket(desk_phone, people["chen"].user_id, zone="ring3", fault_description=fault)
    desk_opens_ticket(desk_phone, people["wang"].user_id, zone="ring2", fault_description="空调滴水")
    page = office["desk"].get(f"/console/tickets/{call}", headers={"Accept-Language": "zh-CN"}).text
    rows = re.findall(r'<label for="engineer-\d+">([^<]+)</label>.*?<td>([^<]+)</td><td>(\d+)</td>', page, re.S)
    assert rows == [("wang", "ring2", "1"), ("chen", "ring3", "2")]


def test_reassigning_moves_the_job_to_the_second_engineer(app, office, call, people, replica_for):
    token, version = _form(office["desk"], call)
    _dispatch(office["desk"], call, "u-wang", token, version)
    wang = replica_for(people["wang"])
    wang.sync()
    wang.update("ticket", call, status="accepted")
    wang.sync()
    token, version = _form(office["desk"], call)
    answer = _dispatch(office["desk"], call, "u-chen", token, version)
    assert "已派给chen。" in answer.text
    assert (_ticket(app, call)["status"], _ticket(app, call)["assignee_id"]) == ("dispatched", "u-chen")
    chen = replica_for(people["chen"])
    chen.sync()
    assert chen.get("ticket", call)["assignee_id"] == "u-chen"
    wang.sync()
    assert wang.get("ticket", call) is None  # it left his scope


def test_desk_cancels_with_a_reason(app, office, call):
    token, version = _form(office["desk"], call)
    answer = office["desk"].post(f"/console/tickets/{call}/cancel", headers={"Accept-Language": "zh-CN"},
                                 data={"csrf_token": token, "reason": "客户自行修好了", "version": version},
                                 follow_redirects=True)
    assert "已取消。" in answer.text
    stored = _ticket(app, call)
    assert (stored["status"], stored["cancel_reason"]) == ("cancelled", "客户自行修好了")
    assert "不能再在这里派工或取消" in office["desk"].get(f"/console/tickets/{call}",
                                                      headers={"Accept-Language": "zh-CN"}).text


@pytest.mark.parametrize("reason", ["", "   ", "原" * 1001])
def test_a_cancel_without_a_fit_reason_changes_nothing(app, office, call, reason):
    token, version = _form(office["desk"], call)
    answer = office["desk"].post(f"/console/tickets/{call}/cancel",
                                 data={"csrf_token": token, "reason": reason, "version": version})
    assert answer.status_code == 422
    assert _ticket(app, call)["status"] == "reported"


def test_desk_cancel_over_field_work_it_had_not_seen_goes_to_the_conflict_queue(app, office, call, people,
                                                                               replica_for):
    token, version = _form(office["desk"], call)
    _dispatch(office["desk"], call, "u-wang", token, version)
    token, seen = _form(office["desk"], call)  # the desk opens the page, the phone rings meanwhile...
    wang = replica_for(people["wang"])
    wang.sync()
    wang.update("ticket", call, status="accepted")
    wang.update("ticket", call, status="on_site", arrived_at="2026-12-01T10:20:00+08:00")
    wang.sync()
    answer = office["desk"].post(f"/console/tickets/{call}/cancel", headers={"Accept-Language": "zh-CN"},
                                 data={"csrf_token": token, "reason": "客户说不用来了", "version": seen},
                                 follow_redirects=True)
    assert "您的修改已进入冲突队列" in answer.text
    assert _ticket(app, call)["status"] == "on_site"
    conflict = entity_table("conflict")
    with app.extensions["fieldsync"].engine.connect() as conn:
        notes = conn.execute(sa.select(conflict.c.field, conflict.c.lost_value, conflict.c.device_id)
                             .where(conflict.c.row_id == call, conflict.c.status == "open")).all()
    assert [(f, d) for f, _v, d in notes] == [("status", "console-u-desk")]


def test_a_depot_keeper_can_neither_see_the_board_nor_dispatch(app, office, call):
    keeper = office["depot"]
    assert keeper.get("/console/tickets").status_code == 403
    assert keeper.get(f"/console/tickets/{call}").status_code == 403
    home = keeper.get("/console/")
    answer = keeper.post(f"/console/tickets/{call}/dispatch",
                         data={"csrf_token": csrf_of(home.text), "assignee": "u-wang", "version": "1"})
    assert answer.status_code == 403
    assert _ticket(app, call)["status"] == "reported"


def test_a_dispatch_without_its_csrf_token_is_refused(app, office, call):
    _token, version = _form(office["desk"], call)
    answer = office["desk"].post(f"/console/tickets/{call}/dispatch", data={"assignee": "u-wang", "version": version})
    assert answer.status_code == 400
    other = office["desk"].post(f"/console/tickets/{call}/dispatch", headers={"X-CSRFToken": "伪造的令牌"},
                                data={"assignee": "u-wang", "version": version})
    assert other.status_code == 400
    assert _ticket(app, call)["assignee_id"] is None


@pytest.mark.parametrize(("assignee", "version"), [
    ("u-depot", None), ("u-nobody", None), ("x" * 65, None), ("u-wang", "５"), ("u-wang", "-1"), ("u-wang", "9" * 30),
])
def test_a_dispatch_to_no_engineer_or_at_a_strange_version_is_refused_plainly(app, office, call, assignee, version):
    token, shown = _form(office["desk"], call)
    answer = office["desk"].post(f"/console/tickets/{call}/dispatch",
                                 data={"csrf_token": token, "assignee": assignee, "version": version or shown})
    assert answer.status_code == 422
    assert _ticket(app, call)["assignee_id"] is None


def test_a_ticket_nobody_has_is_not_found(office):
    assert office["desk"].get("/console/tickets/没有这张单").status_code == 404
    assert office["desk"].get("/console/tickets/" + "t" * 5000).status_code == 404
