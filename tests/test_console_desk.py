"""The desk's rooms of the console: taking a call, the conflict queue, follow-up calls
and complaints — each write through the push path as ``console-<user>``, each form
refusing bad input plainly, none open to a depot keeper or an engineer."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from server.tables import audit, entity_table, users
from tests.console_pages import PASSWORDS, csrf_of, give_passwords, sign_in, signed_in
from tests.scenario import complete_and_sign, desk_opens_ticket

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def office(app, people):
    give_passwords(app.extensions["fieldsync"].engine)
    return {name: signed_in(app, f"u-{name}") for name in ("desk", "manager", "depot")}


@pytest.fixture
def huaxin(people, replica_for):
    """A customer the desk knows, with equipment under warranty until mid-2027."""
    desk_phone = replica_for(people["desk"])
    customer = desk_phone.insert("customer", name="北京华信印刷厂", phone="010-6555-0101", address="海淀区中关村大街1号",
                                 zone="ring2")
    equipment = desk_phone.insert("equipment", customer_id=customer, model="海德堡 SM52", serial="HD-0042",
                                  warranty_end="2099-06-30")
    desk_phone.sync()
    return {"customer": customer, "equipment": equipment}


def _rows(app, entity: str, **where) -> list[dict]:
    table = entity_table(entity)
    with app.extensions["fieldsync"].engine.connect() as conn:
        query = sa.select(table).where(*(table.c[k] == v for k, v in where.items()))
        return [dict(r) for r in conn.execute(query).mappings()]


def _token(client, path: str = "/console/intake") -> str:
    return csrf_of(client.get(path, headers=ZH).text)


# -- taking a call -------------------------------------------------------------------------


def test_desk_finds_the_customer_by_a_piece_of_the_chinese_name_or_the_phone(office, huaxin):
    for typed in ("华信", "6555-01"):
        found = office["desk"].get("/console/intake/customers", query_string={"q": typed}, headers=ZH).text
        assert f'data-customer="{huaxin["customer"]}"' in found
        assert "海德堡 SM52" in found and "保修至 2099-06-30" in found
    nothing = office["desk"].get("/console/intake/customers", query_string={"q": "上海"}, headers=ZH).text
    assert "没有匹配的客户" in nothing


def test_category_and_deadline_are_shown_before_saving_and_the_ticket_gets_them(app, office, huaxin):
    shown = office["desk"].get("/console/intake/preview", headers=ZH, query_string={
        "customer_id": huaxin["customer"], "equipment_id": huaxin["equipment"], "zone": "ring2",
        "urgency": "emergency"}).text
    assert re.search(r'id="category">C · 免费保修服务<', shown)
    deadline = re.search(r'id="deadline">([^<]+)<', shown).group(1)
    answer = office["desk"].post("/console/intake", headers=ZH, data={
        "csrf_token": _token(office["desk"]), "customer_id": huaxin["customer"], "equipment_id": huaxin["equipment"],
        "fault": "印刷机滚筒异响，印品有条纹", "channel": "phone", "urgency": "emergency", "zone": "ring2", "category": ""})
    assert answer.status_code == 302
    ticket_id = answer.headers["Location"].rsplit("/", 1)[1]
    (ticket,) = _rows(app, "ticket", id=ticket_id)
    assert (ticket["category"], ticket["status"], ticket["customer_id"]) == ("C", "reported", huaxin["customer"])
    assert re.fullmatch(r"T\d{4}-\d{5}", ticket["number"])
    stored = datetime.fromisoformat(ticket["deadline"]).astimezone(timezone(timedelta(hours=8)))
    assert stored.strftime("%Y-%m-%d %H:%M") == deadline  # what the desk saw is what the server set
    page = office["desk"].get(answer.headers["Location"], headers=ZH).text
    assert "来电已记录为工单。" in page and "印刷机滚筒异响" in page


def test_a_call_from_a_new_customer_makes_customer_equipment_and_ticket_in_one_change_set(app, office):
    answer = office["desk"].post("/console/intake", headers=ZH, data={
        "csrf_token": _token(office["desk"]), "customer_id": "new", "new_name": "天津港散货码头",
        "new_phone": "022-2570-8800", "new_address": "天津市滨海新区", "equipment_id": "new", "model": "门座起重机 MQ40",
        "serial": "MQ-7", "warranty_end": "2020-01-31", "fault": "变幅机构制动失灵", "channel": "phone",
        "urgency": "normal", "zone": "nearby", "category": ""})
    assert answer.status_code == 302
    (customer,) = _rows(app, "customer", name="天津港散货码头")
    (equipment,) = _rows(app, "equipment", customer_id=customer["id"])
    (ticket,) = _rows(app, "ticket", customer_id=customer["id"])
    assert (ticket["equipment_id"], ticket["category"]) == (equipment["id"], "A")  # warranty over, no contract
    with app.extensions["fieldsync"].engine.connect() as conn:
        trail = conn.execute(sa.select(audit.c.entity, audit.c.device_id, audit.c.op, audit.c.status)
                             .where(audit.c.user_id == "u-desk", audit.c.entity != "console_session")
                             .order_by(audit.c.id)).all()
    assert [tuple(t) for t in trail] == [("customer", "console-u-desk", "insert", "applied"),
                                         ("equipment", "console-u-desk", "insert", "applied"),
                                         ("ticket", "console-u-desk", "insert", "applied")]


@pytest.mark.parametrize(("change", "said"), [
    ({"fault": ""}, "必填"),
    ({"fault": "   "}, "必填"),
    ({"fault": "故" * 4001}, "4000"),
    ({"customer_id": ""}, "请选择客户"),
    ({"customer_id": "c-没有这个客户"}, "没有这个客户"),
    ({"customer_id": "c" * 5000}, "64"),
    ({"customer_id": "new", "new_name": " "}, "新客户需要名称"),
    ({"customer_id": "new", "new_name": "名" * 201}, "200"),
    ({"equipment_id": "e-别家的设备"}, "请选择该客户的设备"),
    ({"equipment_id": "new", "model": ""}, "新设备需要型号"),
    ({"equipment_id": "new", "model": "X", "warranty_end": "明年"}, "日期"),
    ({"urgency": "火急"}, "选择"),
    ({"category": "Z"}, "选择"),
    ({"zone": "环\x00路"}, "无法保存"),
])
def test_a_call_with_bad_input_is_refused_plainly_and_nothing_is_written(app, office, huaxin, change, said):
    data = {"csrf_token": _token(office["desk"]), "customer_id": huaxin["customer"], "equipment_id": "",
            "fault": "电机过热", "channel": "phone", "urgency": "normal", "zone": "ring2", "category": "", **change}
    answer = office["desk"].post("/console/intake", headers=ZH, data=data)
    assert answer.status_code == 422
    assert said in answer.text
    assert _rows(app, "ticket") == []


def test_the_intake_form_without_its_csrf_token_is_refused(app, office, huaxin):
    answer = office["desk"].post("/console/intake", headers=ZH, data={
        "customer_id": huaxin["customer"], "fault": "电机过热", "channel": "phone", "urgency": "normal"})
    assert answer.status_code == 400
    assert _rows(app, "ticket") == []


# -- the conflict queue --------------------------------------------------------------------


@pytest.fixture
def cancel_lost(app, office, people, replica_for):
    """The desk cancelled a job Wang had meanwhile reached on site: the cancel lost."""
    desk_phone = replica_for(people["desk"])
    ticket = desk_opens_ticket(desk_phone, "u-wang", zone="ring2", fault_description="冷库压缩机不启动")["ticket"]
    page = office["desk"].get(f"/console/tickets/{ticket}", headers=ZH).text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    wang = replica_for(people["wang"])
    wang.sync()
    wang.update("ticket", ticket, status="on_site", arrived_at="2026-12-01T10:20:00+08:00")
    wang.sync()
    office["desk"].post(f"/console/tickets/{ticket}/cancel", data={
        "csrf_token": csrf_of(page), "reason": "客户说不用来了", "version": version})
    (note,) = _rows(app, "conflict", row_id=ticket, status="open")
    return {"ticket": ticket, "note": note["id"]}


def test_the_queue_shows_both_values_side_by_side_and_who_wrote_each(office, cancel_lost):
    page = office["desk"].get("/console/conflicts", headers=ZH).text
    row = re.search(rf'<tr data-conflict="{cancel_lost["note"]}">(.*?)</tr>', page, re.S).group(1)
    kept = re.search(r'class="kept"><strong>([^<]+)</strong><br><span class="muted">([^<]*)<', row).groups()
    lost = re.search(r'class="lost"><strong>([^<]+)</strong><br><span class="muted">([^<]*)<', row).groups()
    assert kept == ("已到现场", "wang") and lost == ("已取消", "desk")


def test_desk_keeps_the_field_value_and_the_note_is_settled_with_the_desk_named(app, office, cancel_lost):
    token = _token(office["desk"], "/console/conflicts")
    answer = office["desk"].post(f"/console/conflicts/{cancel_lost['note']}/resolve", headers=ZH, data={
        "csrf_token": token, "choose": "kept", "reason": "师傅已到现场，照常维修"}, follow_redirects=True)
    assert answer.status_code == 200 and "已处理。" in answer.text
    (note,) = _rows(app, "conflict", id=cancel_lost["note"])
    assert note["status"] == "resolved"
    assert '"by":"u-desk"' in note["resolution"] and '"device_id":"console-u-desk"' in note["resolution"]
    assert _rows(app, "ticket", id=cancel_lost["ticket"])[0]["status"] == "on_site"
    with app.extensions["fieldsync"].engine.connect() as conn:
        entry = conn.execute(sa.select(audit.c.user_id, audit.c.device_id).where(
            audit.c.entity == "conflict", audit.c.row_id == cancel_lost["note"])).one()
    assert tuple(entry) == ("u-desk", "console-u-desk")
    again = office["desk"].post(f"/console/conflicts/{cancel_lost['note']}/resolve", headers=ZH, data={
        "csrf_token": token, "choose": "kept", "reason": "再点一次"})
    assert again.status_code == 409 and "已经处理" in again.text


@pytest.mark.parametrize(("data", "status", "said"), [
    ({"choose": "kept", "reason": ""}, 422, "必填"),
    ({"choose": "kept", "reason": "理" * 1001}, 422, "1000"),
    ({"choose": "都要", "reason": "试试"}, 422, "请选择一方"),
    ({"choose": "value", "value": "不是一个状态", "reason": "试试"}, 422, "冲突未处理：所填的值不符合要求"),
    ({"choose": "value", "value": "状" * 4001, "reason": "试试"}, 422, "4000"),
])
def test_a_settlement_with_bad_input_leaves_the_note_open(app, office, cancel_lost, data, status, said):
    token = _token(office["desk"], "/console/conflicts")
    answer = office["desk"].post(f"/console/conflicts/{cancel_lost['note']}/resolve", headers=ZH,
                                 data={"csrf_token": token, **data})
    assert answer.status_code == status
    assert said in answer.text
    assert _rows(app, "conflict", id=cancel_lost["note"])[0]["status"] == "open"


def test_settling_a_note_nobody_has_or_without_the_csrf_token_is_refused(app, office, cancel_lost):
    token = _token(office["desk"], "/console/conflicts")
    for conflict_id in ("没有这条", "n" * 300):
        answer = office["desk"].post(f"/console/conflicts/{conflict_id}/resolve", headers=ZH,
                                     data={"csrf_token": token, "choose": "kept", "reason": "试试"})
        assert answer.status_code == 404 and "没有这条冲突" in answer.text
    forged = office["desk"].post(f"/console/conflicts/{cancel_lost['note']}/resolve",
                                 data={"choose": "kept", "reason": "试试"})
    assert forged.status_code == 400
    assert _rows(app, "conflict", id=cancel_lost["note"])[0]["status"] == "open"


def test_the_queue_filters_by_ticket_number_in_sql_and_says_what_is_wrong(app, office, cancel_lost):
    number = _rows(app, "ticket", id=cancel_lost["ticket"])[0]["number"]
    assert cancel_lost["note"] in office["desk"].get("/console/conflicts", query_string={"ticket": number}).text
    assert cancel_lost["note"] not in office["desk"].get("/console/conflicts", query_string={"status": "resolved"}).text
    for args, status in (({"ticket": "T0000-00000"}, 404), ({"rule": "乱写"}, 422), ({"cursor": "x"}, 422),
                         ({"ticket": "t" * 500}, 422), ({"person": "u-没有"}, 422),
                         ({"person": "u-nobody"}, 404)):
        answer = office["desk"].get("/console/conflicts", query_string=args, headers=ZH)
        assert answer.status_code == status, args
        assert 'class="problem"' in answer.text


def test_the_queue_pages_by_keyset_through_every_note(app, office, people):
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    with app.extensions["fieldsync"].engine.begin() as conn:
        conn.execute(entity_table("conflict").insert(), [{
            "id": f"n-{k:03d}", "entity": "ticket", "row_id": f"t-{k}", "field": "status", "rule": "ticket",
            "winner": "stored", "kept_value": '"on_site"', "lost_value": '"cancelled"', "status": "open",
            "version": 1, "deleted": False, "clock": "{}", "created_at": now - timedelta(minutes=k),
            "updated_at": now} for k in range(120)])
    seen, path = [], "/console/conflicts"
    while path:
        page = office["desk"].get(path).text
        seen += re.findall(r'data-conflict="([^"]+)"', page)
        following = re.search(r'href="(/console/conflicts\?cursor=[^"]+)">', page)
        path = following.group(1).replace("&amp;", "&") if following else None
    assert seen == [f"n-{k:03d}" for k in range(120)]


# -- follow-up calls -----------------------------------------------------------------------


@pytest.fixture
def finished(people, replica_for):
    desk_phone = replica_for(people["desk"])
    ticket = desk_opens_ticket(desk_phone, "u-wang", zone="ring2", fault_description="空调不制冷")["ticket"]
    wang = replica_for(people["wang"])
    wang.sync()
    complete_and_sign(wang, ticket)
    wang.sync()
    return ticket


def test_desk_calls_back_and_records_the_four_ratings_of_the_engineer(app, office, finished):
    listed = office["desk"].get("/console/followups", headers=ZH).text
    assert f'data-ticket="{finished}"' in listed
    token = _token(office["desk"], f"/console/followups/{finished}")
    answer = office["desk"].post(f"/console/followups/{finished}", headers=ZH, data={
        "csrf_token": token, "attitude": "4", "skill": "3", "arrival_time": "2", "follow_through": "4",
        "comment": "师傅很耐心，就是来晚了"}, follow_redirects=True)
    assert "回访已记录。" in answer.text
    (survey,) = _rows(app, "satisfaction_survey", ticket_id=finished)
    assert (survey["engineer_id"], survey["attitude"], survey["skill"], survey["arrival_time"],
            survey["follow_through"], survey["author_device"]) == ("u-wang", 4, 3, 2, 4, "console-u-desk")
    assert f'data-ticket="{finished}"' not in answer.text
    twice = office["desk"].post(f"/console/followups/{finished}", headers=ZH, data={
        "csrf_token": token, "attitude": "1", "skill": "1", "arrival_time": "1", "follow_through": "1"})
    assert twice.status_code == 409 and "已经回访过了" in twice.text
    assert "很好" in twice.text and 'id="followup"' not in twice.text  # the survey taken is shown, not a form
    assert len(_rows(app, "satisfaction_survey", ticket_id=finished)) == 1


@pytest.mark.parametrize("change", [{"skill": ""}, {"skill": "5"}, {"attitude": "很好"}, {"comment": "评" * 2001}])
def test_a_follow_up_with_bad_ratings_is_refused_plainly(app, office, finished, change):
    data = {"csrf_token": _token(office["desk"], f"/console/followups/{finished}"), "attitude": "4", "skill": "3",
            "arrival_time": "2", "follow_through": "4", **change}
    answer = office["desk"].post(f"/console/followups/{finished}", headers=ZH, data=data)
    assert answer.status_code == 422 and 'class="problem"' in answer.text
    assert _rows(app, "satisfaction_survey") == []


def test_a_ticket_still_open_or_unknown_is_not_followed_up(app, office, people, replica_for):
    ticket = desk_opens_ticket(replica_for(people["desk"]), "u-wang", zone="ring2")["ticket"]
    token = _token(office["desk"], f"/console/followups/{ticket}")
    answer = office["desk"].post(f"/console/followups/{ticket}", headers=ZH, data={
        "csrf_token": token, "attitude": "4", "skill": "4", "arrival_time": "4", "follow_through": "4"})
    assert answer.status_code == 422 and "完工后" in answer.text
    assert office["desk"].get("/console/followups/没有这张单").status_code == 404
    assert office["desk"].get("/console/followups?page=零").status_code == 422


# -- complaints ----------------------------------------------------------------------------


def test_desk_takes_a_complaint_about_a_ticket_with_its_deadline_and_settles_it(app, office, finished):
    number = _rows(app, "ticket", id=finished)[0]["number"]
    token = _token(office["desk"], "/console/complaints/new")
    answer = office["desk"].post("/console/complaints/new", headers=ZH, data={
        "csrf_token": token, "ticket": number, "description": "修完第二天又不制冷了"})
    assert answer.status_code == 302
    (complaint,) = _rows(app, "complaint")
    assert re.fullmatch(r"C\d{4}-\d{3}", complaint["number"])
    assert (complaint["engineer_id"], complaint["author_device"]) == ("u-wang", "console-u-desk")
    days = datetime.fromisoformat(complaint["deadline"]) - datetime.fromisoformat(complaint["received_at"])
    assert days == timedelta(days=13)
    listed = office["desk"].get("/console/complaints", headers=ZH).text
    assert complaint["number"] in listed and "剩 12 天" in listed
    page = office["desk"].get(answer.headers["Location"], headers=ZH)
    settled = office["desk"].post(answer.headers["Location"], headers=ZH, follow_redirects=True, data={
        "csrf_token": csrf_of(page.text), "resolution": "上门更换了膨胀阀，客户满意", "service_fault": "yes"})
    assert "投诉已处理。" in settled.text
    (complaint,) = _rows(app, "complaint")
    assert (complaint["status"], complaint["service_fault"]) == ("resolved", True)


def test_overdue_complaints_come_first_and_are_escalated(app, office, huaxin):
    old = (datetime.now(timezone.utc) - timedelta(days=20)).isoformat()
    with app.extensions["fieldsync"].engine.begin() as conn:
        base = {"version": 1, "deleted": False, "clock": "{}", "created_at": datetime.now(timezone.utc),
                "updated_at": datetime.now(timezone.utc), "customer_id": huaxin["customer"], "status": "open"}
        conn.execute(entity_table("complaint").insert(), [
            {**base, "id": "k-new", "number": "C2612-002", "description": "态度差",
             "deadline": (datetime.now(timezone.utc) + timedelta(days=10)).isoformat()},
            {**base, "id": "k-old", "number": "C2611-001", "description": "拖了很久没人管", "deadline": old}])
    listed = office["desk"].get("/console/complaints", headers=ZH).text
    assert re.findall(r'data-complaint="([^"]+)"', listed) == ["k-old", "k-new"]
    assert "逾期" in listed
    answer = office["desk"].post("/console/complaints/escalate", headers=ZH, follow_redirects=True,
                                 data={"csrf_token": csrf_of(listed)})
    assert "1 条逾期投诉已升级" in answer.text
    assert [c["id"] for c in _rows(app, "complaint", escalated=True)] == ["k-old"]


@pytest.mark.parametrize(("change", "said"), [
    ({"description": ""}, "必填"),
    ({"description": "诉" * 4001}, "4000"),
    ({"ticket": "T0000-00000"}, "没有这个编号的工单"),
    ({"ticket": ""}, "请填写工单"),
    ({"ticket": "t" * 65}, "64"),
])
def test_a_complaint_with_bad_input_is_refused_plainly(app, office, change, said):
    data = {"csrf_token": _token(office["desk"], "/console/complaints/new"), "ticket": "",
            "description": "维修后漏水", **change}
    answer = office["desk"].post("/console/complaints/new", headers=ZH, data=data)
    assert answer.status_code == 422 and said in answer.text
    assert _rows(app, "complaint") == []


def test_complaint_lists_and_pages_that_do_not_exist_say_so(office):
    assert office["desk"].get("/console/complaints?status=乱写", headers=ZH).status_code == 422
    assert office["desk"].get("/console/complaints?page=-1", headers=ZH).status_code == 422
    assert office["desk"].get("/console/complaints/没有这条").status_code == 404


# -- who may come in -----------------------------------------------------------------------

PAGES = ["/console/intake", "/console/intake/customers?q=华", "/console/intake/preview", "/console/conflicts",
         "/console/followups", "/console/complaints", "/console/complaints/new"]
FORMS = ["/console/intake", "/console/conflicts/n-1/resolve", "/console/followups/t-1", "/console/complaints/new",
         "/console/complaints/escalate", "/console/complaints/k-1"]


def test_a_depot_keeper_reaches_none_of_the_desk_pages_nor_their_forms(app, office):
    keeper = office["depot"]
    token = csrf_of(keeper.get("/console/").text)
    for path in PAGES:
        assert keeper.get(path).status_code == 403, path
    for path in FORMS:
        assert keeper.post(path, data={"csrf_token": token, "fault": "x", "reason": "x"}).status_code == 403, path


def test_a_manager_works_the_desk_pages_too(office):
    for path in PAGES:
        assert office["manager"].get(path).status_code == 200, path


def test_without_a_session_or_as_an_engineer_the_desk_pages_send_to_sign_in(app, people):
    client = app.test_client()
    with app.extensions["fieldsync"].engine.begin() as conn:  # even with a password planted, an engineer is refused
        conn.execute(users.update().where(users.c.id == "u-wang").values(password_hash="$argon2id$planted"))
    give_passwords(app.extensions["fieldsync"].engine)
    assert sign_in(client, "u-wang", PASSWORDS["u-desk"]).status_code in (401, 403)
    for path in PAGES:
        answer = client.get(path)
        assert answer.status_code == 302 and "/console/login" in answer.headers["Location"], path
