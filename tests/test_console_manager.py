"""The managers' console pages: each shows the office report module's own figures for a
known November (王伟 and 陈静's jobs), approvals decided through the push path and
refused where the approval rule refuses, role and CSRF checks, and bad filters told as
a message, never a 500."""

from __future__ import annotations

import html
import re

import orjson
import pytest
import sqlalchemy as sa

from server.reports import appraisal, daily, quality
from server.reports.filters import parse, today_of
from server.tables import audit, entity_table, users
from tests.conftest import Timeline
from tests.console_pages import csrf_of, give_passwords, sign_in, signed_in
from tests.manager_world import build_november, name_people
from tests.reports_world import at, read_csv

ZH = {"Accept-Language": "zh-CN"}


def _world(app_factory, replica_for, **config) -> Timeline:
    made = Timeline(replica_for, at("2026-11-01 08:00"))
    made.app = app_factory(CLOCK_MS=lambda: made.now, **config)
    return made


@pytest.fixture
def world(app_factory, replica_for) -> Timeline:
    return _world(app_factory, replica_for)


@pytest.fixture
def november(world, people, engine):
    built = build_november(world, people)
    name_people(engine)
    give_passwords(engine)
    return built


@pytest.fixture
def manager(world, november):
    return signed_in(world.app, "u-manager")


def _module_rows(world: Timeline, module, args: dict, **kw) -> list[dict]:
    """What the report module itself answers for these filters."""
    svc = world.app.extensions["fieldsync"]
    filters = parse(args, today=today_of(world.now, svc.config.local_utc_offset_hours), now_ms=world.now,
                    takes=module.TAKES, max_days=module.MAX_DAYS, **kw)
    with svc.engine.connect() as conn:
        return module.report(conn, filters, svc.config)


def _cells(page: str, table_id: str) -> list[list[str]]:
    """A table's body as text, row by row (tags dropped, spaces squeezed)."""
    body = re.search(rf'<table id="{table_id}"[^>]*>.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        rows.append([" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells])
    return rows


def _percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def test_the_quality_page_shows_the_quality_modules_november_with_its_targets_and_twelve_months_for_all_and_one(
        world, manager, november):
    page = manager.get("/console/quality?month=2026-11", headers=ZH)
    assert page.status_code == 200
    found = _module_rows(world, quality, {"from": "2025-12-01", "to": "2026-11-30"})
    november_rows = [r for r in found if r["month"] == "2026-11"]
    shown = _cells(page.text, "month-figures")
    titles = ["服务及时率", "客户满意率", "有责投诉率", "7日完修率", "返修率", "一次修复率"]
    assert [row[0] for row in shown] == titles
    assert [row[1:5] for row in shown] == [
        [str(r["numerator"]), str(r["denominator"]), _percent(r["value"]), f"{r['comparison']} {_percent(r['target'])}"]
        for r in november_rows]
    # hand-counted: T1 met and T2 missed; 3 of T1's 4 survey answers; T2's complaint over 2 finished jobs
    assert shown[0][1:4] == ["1", "2", "50.0%"] and shown[1][1:4] == ["3", "4", "75.0%"]
    assert shown[2][1:5] == ["1", "2", "50.0%", "< 3.0%"] and shown[2][5] == "未达标"
    months = _cells(page.text, "months")
    assert [row[0] for row in months] == ["2025-12"] + [f"2026-{m:02d}" for m in range(1, 12)]
    assert months[-1][1] == "50.0% (1/2)" and months[0][1] == "— (0/0)"
    # six charts, drawn here: an image each, its title, the target's line, November's point
    assert page.text.count('<svg id="chart-') == 6 and page.text.count('role="img"') == 6
    assert page.text.count('class="target"') == 6
    assert "<title>2026-11: 50.0% (1/2)</title>" in page.text
    assert "<script" not in page.text.split("</head>")[1]  # no script draws it

    page = manager.get("/console/quality?month=2026-11&engineer=u-chen", headers=ZH).text
    found = _module_rows(world, quality, {"from": "2025-12-01", "to": "2026-11-30", "engineer": "u-chen"})
    shown = _cells(page, "month-figures")
    assert [row[1:3] for row in shown] == [[str(r["numerator"]), str(r["denominator"])] for r in found
                                           if r["month"] == "2026-11"]
    assert shown[0][1:3] == ["0", "0"] and shown[0][5] == "无数据"  # 陈静 had no job in November

    for month in ("9999-12", "1970-01"):  # the first and last months a page can show
        assert manager.get(f"/console/quality?month={month}", headers=ZH).status_code == 200, month
    assert [row[0] for row in _cells(manager.get("/console/quality?month=1970-02", headers=ZH).text, "months")] \
        == ["1970-01", "1970-02"]


def test_the_daily_page_is_the_daily_report_per_engineer_per_day_with_chinese_names_and_its_downloads(
        world, manager, november):
    page = manager.get("/console/daily?from=2026-11-02&to=2026-11-03", headers=ZH)
    assert page.status_code == 200
    found = _module_rows(world, daily, {"from": "2026-11-02", "to": "2026-11-03"}, cursor_kinds=daily.CURSOR)
    shown = _cells(page.text, "daily")
    assert [(row[0], row[1]) for row in shown] == [(r["day"], r["engineer_name"]) for r in found]
    assert [(row[0], row[1]) for row in shown] == [("2026-11-02", "王伟"), ("2026-11-03", "陈静"), ("2026-11-03", "王伟")]
    assert [row[2:11] for row in shown] == [[str(r[k]) for k in ("hours_a", "hours_b", "hours_c", "hours_d",
                                                                  "hours_total", "tickets_worked", "parts_used",
                                                                  "signed_services", "records")] for r in found]
    assert shown[0][6] == "2.0" and shown[0][9] == "1"  # 王伟's signed job on the 2nd
    only_chen = _cells(manager.get("/console/daily?from=2026-11-02&to=2026-11-03&engineer=u-chen", headers=ZH).text,
                       "daily")
    assert [(row[1], row[5]) for row in only_chen] == [("陈静", "1.5")]

    page = page.text
    links = dict(re.findall(r'href="(/console/reports/daily/export\?[^"]+)">(CSV|PDF)</a>', page))
    assert len(links) == 2
    csv_link = html.unescape(next(link for link, kind in links.items() if kind == "CSV"))
    answer = manager.get(csv_link)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    table = read_csv(answer.data)
    assert table[0][:3] == ["日期", "工程师编号", "工程师"]
    assert [row[2] for row in table[1:]] == ["王伟", "陈静", "王伟"]
    pdf_link = html.unescape(next(link for link, kind in links.items() if kind == "PDF"))
    answer = manager.get(pdf_link)
    assert answer.status_code == 200 and answer.data.startswith(b"%PDF")


def test_the_appraisal_page_with_its_deduction_bands_and_the_contracts_ending_within_30_days(world, manager, november):
    page = manager.get("/console/appraisal?month=2026-11", headers=ZH)
    assert page.status_code == 200
    found = _module_rows(world, appraisal, {"from": "2026-11-01", "to": "2026-11-30"}, cursor_kinds=appraisal.CURSOR)
    shown = _cells(page.text, "appraisal")
    assert [row[1] for row in shown] == [r["engineer_name"] for r in found] == ["王伟"]
    wang = found[0]
    assert shown[0][2:9] == [str(wang[k]) for k in ("overdue_consumptions", "lost_or_damaged", "ledger_faults",
                                                    "verified_complaints", "late_reports", "repairs",
                                                    "repeat_repairs")]
    assert shown[0][9:] == [_percent(wang["repeat_rate"]), wang["repeat_band"], f"扣 {wang['deduction']} 分"]
    assert (wang["repairs"], wang["verified_complaints"], wang["repeat_band"]) == (2, 1, "0%–10%")
    assert [row[0] for row in _cells(page.text, "bands")] == ["0%–10%", "10%–20%", "20%–30%", "30%–100%"]

    page = manager.get("/console/contracts", headers=ZH).text
    shown = _cells(page, "contracts")
    assert [(row[0], row[1], row[2], row[3]) for row in shown] == [("2026-12-10", "10", "HT-2025-017", "华信印刷厂")]
    assert "30 天内到期的合同" in page
    further = _cells(manager.get("/console/contracts?days=90", headers=ZH).text, "contracts")
    assert [row[2] for row in further] == ["HT-2025-017", "HT-2026-002"]


def _approvals(client) -> tuple[str, dict[str, str]]:
    page = client.get("/console/approvals", headers=ZH).text
    versions = dict(re.findall(r'action="/console/approvals/([^"]+)" class="decide">\s*'
                               r'<input type="hidden" name="csrf_token" value="[^"]+">\s*'
                               r'<input type="hidden" name="version" value="(\d+)">', page))
    return page, versions


def _decide(client, record: str, decision: str, version: str, token: str, **extra):
    return client.post(f"/console/approvals/{record}", headers=ZH, follow_redirects=True,
                       data={"csrf_token": token, "decision": decision, "version": version, **extra})


def _row(world: Timeline, entity: str, row_id: str) -> dict:
    table = entity_table(entity)
    with world.app.extensions["fieldsync"].engine.connect() as conn:
        return dict(conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().one())


def test_the_manager_approves_a_waiting_requisition_through_the_push_path_and_wang_pulls_it(
        world, manager, november, people):
    page, versions = _approvals(manager)
    rows = _cells(page, "approvals")
    assert [row[0].split(" ")[0] for row in rows] == ["领料申请", "费用报销", "备件销售"]
    assert rows[0][1:4] == ["王伟", "传动皮带 A-1200 × 2", "2026-11-03 18:30"]  # Beijing time
    assert rows[1][0].startswith("费用报销 · 出差借款") and rows[1][2] == "2,000.00 元"
    assert rows[2][2].startswith("800.00 元")
    assert set(versions) == {f"requisition/{november.requisition}", f"expense_claim/{november.advance}",
                             f"charge/{november.big_sale}"}  # the 300-yuan sale needs nobody
    record = f"requisition/{november.requisition}"
    answer = _decide(manager, record, "approved", versions[record], csrf_of(page))
    assert f"已批准：领料申请 {november.requisition}。" in answer.text
    stored = _row(world, "requisition", november.requisition)
    assert (stored["status"], stored["approved_by"]) == ("approved", "u-manager")
    assert orjson.loads(stored["approval_history"])[-1]["event"] == "approved"
    with world.app.extensions["fieldsync"].engine.connect() as conn:
        trail = conn.execute(sa.select(audit.c.user_id, audit.c.device_id, audit.c.status)
                             .where(audit.c.entity == "requisition", audit.c.row_id == november.requisition)
                             .order_by(audit.c.id.desc())).first()
    assert tuple(trail) == ("u-manager", "console-u-manager", "applied")
    assert f"requisition/{november.requisition}" not in _approvals(manager)[1]
    wang = world.device(people["wang"])
    wang.sync()
    assert wang.get("requisition", november.requisition)["status"] == "approved"


def test_an_advance_changed_after_the_manager_opened_the_page_is_refused_said_so_then_refused_with_a_note(
        world, manager, november, people):
    page, versions = _approvals(manager)
    wang = world.device(people["wang"])
    wang.sync()
    wang.update("expense_claim", november.advance, amount=5000.0)  # 王伟 asks for more meanwhile
    wang.sync()
    record = f"expense_claim/{november.advance}"
    answer = _decide(manager, record, "approved", versions[record], csrf_of(page))
    assert answer.status_code == 200
    refusal = re.search(r'<div class="flash refused" role="status">(.*?)</div>', answer.text).group(1)
    assert refusal == (f"未能审批：费用报销 {november.advance} 未作处理：您打开本页后该记录已被修改，请重新查看后再审批。")
    assert _row(world, "expense_claim", november.advance)["status"] in (None, "submitted")
    english = manager.post(f"/console/approvals/{record}", follow_redirects=True,
                           headers={"Accept-Language": "en"},
                           data={"csrf_token": csrf_of(page), "decision": "approved", "version": versions[record]})
    assert "was not decided: it changed after you opened this page" in english.text

    page, versions = _approvals(manager)  # he looks again, and refuses the larger advance
    answer = _decide(manager, record, "refused", versions[record], csrf_of(page), note="先报销上次出差的费用")
    assert f"已驳回：费用报销 {november.advance}。" in answer.text
    stored = _row(world, "expense_claim", november.advance)
    assert (stored["status"], stored["decision_note"], stored["amount"]) == ("refused", "先报销上次出差的费用", 5000.0)


def test_the_desk_sees_the_list_but_its_approval_is_refused_by_the_rule(world, november):
    desk = signed_in(world.app, "u-desk")
    page, versions = _approvals(desk)
    assert versions == {} and "审批人：经理" in page  # no buttons for a role the rule refuses
    record = f"requisition/{november.requisition}"
    version = str(_row(world, "requisition", november.requisition)["version"])
    answer = _decide(desk, record, "approved", version, csrf_of(page))
    assert "未能审批" in answer.text and "您的角色无权审批这条记录。" in answer.text
    assert _row(world, "requisition", november.requisition)["status"] in (None, "submitted")


def test_a_deployment_that_lets_the_desk_approve_requisitions_takes_its_decision(
        app_factory, replica_for, people, engine):
    world = _world(app_factory, replica_for, DOMAIN={"approvers": {"requisition": ["manager", "desk"]}})
    built = build_november(world, people)
    name_people(engine)
    give_passwords(engine)
    desk = signed_in(world.app, "u-desk")
    page, versions = _approvals(desk)
    assert set(versions) == {f"requisition/{built.requisition}"}
    _decide(desk, f"requisition/{built.requisition}", "approved", versions[f"requisition/{built.requisition}"],
            csrf_of(page))
    assert _row(world, "requisition", built.requisition)["approved_by"] == "u-desk"


MALFORMED = [
    ({"decision": "paid"}, "请选择批准或驳回"),
    ({"decision": "approved", "version": "１２"}, "请刷新页面后重新审批"),
    ({"decision": "approved", "version": "9" * 40}, "请刷新页面后重新审批"),
    ({"decision": "refused", "note": "长" * 1001}, "请选择批准或驳回"),
]


def test_a_malformed_decision_or_one_on_no_such_record_is_told_and_changes_nothing(world, manager, november):
    page, versions = _approvals(manager)
    record = f"expense_claim/{november.advance}"
    for data, said in MALFORMED:
        answer = manager.post(f"/console/approvals/{record}", headers=ZH, follow_redirects=True,
                              data={"csrf_token": csrf_of(page), "version": versions[record], **data})
        assert answer.status_code == 200 and said in answer.text, data
    assert _row(world, "expense_claim", november.advance)["status"] in (None, "submitted")
    for path in ("/console/approvals/ticket/x", "/console/approvals/requisition/nope",
                 "/console/approvals/requisition/" + "x" * 200):
        answer = manager.post(path, headers=ZH, data={"csrf_token": csrf_of(page), "decision": "approved",
                                                      "version": "1"})
        assert answer.status_code == 404 and "没有这条待审批的记录" in answer.text

    record = f"requisition/{november.requisition}"  # a form without its CSRF token, or a forged one
    for token in ({}, {"csrf_token": "forged"}):
        answer = manager.post(f"/console/approvals/{record}", headers=ZH,
                              data={"decision": "approved", "version": versions[f"requisition/{november.requisition}"],
                                    **token})
        assert answer.status_code == 400 and "表单已过期" in answer.text
    assert _row(world, "requisition", november.requisition)["status"] in (None, "submitted")


MANAGER_PAGES = ["/console/quality", "/console/daily", "/console/appraisal", "/console/contracts",
                 "/console/approvals", "/console/reports/daily/export?format=csv"]


def test_a_depot_keeper_and_the_signed_out_see_none_of_the_managers_pages_nor_decide(world, november):
    depot = signed_in(world.app, "u-depot")
    for path in MANAGER_PAGES:
        answer = depot.get(path, headers=ZH)
        assert answer.status_code == 403, path
        assert "只有客服前台和经理" in answer.text
    token = csrf_of(depot.get("/console/", headers=ZH).text)
    answer = depot.post(f"/console/approvals/requisition/{november.requisition}", headers=ZH,
                        data={"csrf_token": token, "decision": "approved", "version": "1"})
    assert answer.status_code == 403
    assert _row(world, "requisition", november.requisition)["status"] in (None, "submitted")

    client = world.app.test_client()  # signed out, every page sends to the sign-in
    for path in MANAGER_PAGES:
        answer = client.get(path)
        assert answer.status_code == 302 and "/console/login" in answer.location
BAD_FILTERS = [
    ("/console/quality?month=2026-13", "月份的写法如 2026-11"),
    ("/console/quality?month=10000-01", "月份的写法如 2026-11"),
    ("/console/quality?month=２０２６-11", "月份的写法如 2026-11"),
    ("/console/quality?month=" + "9" * 5000, "月份的写法如 2026-11"),
    ("/console/quality?month=0000-01", "月份的写法如 2026-11"),
    ("/console/quality?month=2026-11&engineer=王伟", "请从列表中选择工程师"),
    ("/console/quality?month=2026-11&zone=" + "区" * 60, "区域为 1 到 50 个字"),
    ("/console/appraisal?month=2026-00", "月份的写法如 2026-11"),
    ("/console/daily?from=2026-13-01", "开始日期的写法如 2026-11-23"),
    ("/console/daily?from=10000-01-01", "开始日期的写法如 2026-11-23"),
    ("/console/daily?to=２０２６-11-02", "结束日期的写法如 2026-11-23"),
    ("/console/daily?from=2026-11-03&to=2026-11-02", "开始日期晚于结束日期"),
    ("/console/daily?from=2026-01-01&to=2026-12-31", "本页一次最多显示 92 天"),
    ("/console/daily?cursor=bm90IGEgY3Vyc29y", "此翻页链接已失效"),
    ("/console/contracts?days=0", "提前天数为 1 到 366 天"),
    ("/console/contracts?days=１０", "提前天数为 1 到 366 天"),
    ("/console/contracts?days=" + "9" * 40, "提前天数为 1 到 366 天"),
    ("/console/reports/daily/export?format=xls", "下载格式为 CSV 或 PDF"),
    ("/console/reports/daily/export?format=csv&month=2026-11", "本页没有 month 这个筛选条件"),
    ("/console/reports/quality/export?format=pdf&from=2026-11-01&to=9999-12-31", "本页一次最多显示 366 天"),
]


def test_a_bad_filter_is_told_in_chinese_never_a_500(world, manager, november):
    for path, said in BAD_FILTERS:
        answer = manager.get(path, headers=ZH)
        assert answer.status_code == 422, path
        assert said in html.unescape(answer.text), path


def test_an_engineer_cannot_sign_in_to_read_the_figures_even_with_a_password(app, people, engine):
    give_passwords(engine)
    with engine.begin() as conn:  # as if a password had been put on his account by hand
        hashed = conn.execute(sa.select(users.c.password_hash).where(users.c.id == "u-manager")).scalar_one()
        conn.execute(users.update().where(users.c.id == "u-wang").values(password_hash=hashed))
    client = app.test_client()
    answer = sign_in(client, "u-wang", password="经理的密码也很长很长")
    assert answer.status_code == 403 and "工程师请在自己的设备上登录" in answer.text
    assert client.get("/console/quality").status_code == 302  # back to the sign-in page

