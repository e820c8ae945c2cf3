"""Monthly quality figures (001 §3.2.1, §2.2) on a known November, each numerator and
denominator counted by hand from the jobs below."""

from __future__ import annotations

import pytest

from tests.conftest import Timeline
from tests.reports_world import at, bj, finish, open_ticket, read_csv, report, rows, set_clock

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture
def world(app_factory, replica_for) -> Timeline:
    made = Timeline(replica_for, at("2026-10-30 08:00"))
    made.app = app_factory(CLOCK_MS=lambda: made.now)
    return made


def arrives(engineer, person, ticket: str, when: str) -> None:
    engineer.insert("work_log", ticket_id=ticket, engineer_id=person.user_id, event="arrived", at=bj(when),
                    note="到达现场")


@pytest.fixture
def november(world, people) -> dict[str, str]:
    """The department's November (Beijing time; default zones: ring 1 normal 6 h,
    emergency 2 h; ring 2 normal 6 h):

    ======  =========  ==========================================  =========================
    job     reported   what happened                               equipment
    ======  =========  ==========================================  =========================
    T1      11-02 8:00 王伟 arrives 10:00 (met), done 12:00          printer E1
    T2      11-03 8:00 arrives 16:00 (missed), done 18:00           press E2
    T3      11-04 8:00 emergency, nobody ever arrives (late)        -
    T8      11-10 8:00 arrives 11:00 (met), carried back, done      copier E3
                       11-18 9:00 (8 days 1 hour)
    T4      11-20 8:00 E1 again (repeat of T1): 陈静 arrives 9:00,   printer E1
                       again 11-21 9:00, done 11-21 10:00
    T7      11-28 8:00 陈静 arrives 9:00, still working             -
    D-job   11-02      internal work (category D): not field work
    cancel  11-28      cancelled
    ======  =========  ==========================================  =========================

    Complaints: on T2 the service's fault, on T1 not. Surveys: T1 (4, 4, 3, 2), T2
    (4, 3, 1, unanswered), and one on 30 October (4, 4, 4, 4).
    """
    desk, wang, chen = (world.device(people[name]) for name in ("desk", "wang", "chen"))
    desk.insert("satisfaction_survey", engineer_id="u-wang", attitude=4, skill=4, arrival_time=4, follow_through=4,
                surveyed_at=bj("2026-10-30 09:00"), comment="十月回访：很满意")
    desk.sync()

    set_clock(world, "2026-11-02 08:00")
    t1 = open_ticket(desk, people["wang"], zone="ring1", reported="2026-11-02 08:00", customer="华信印刷厂")
    open_ticket(desk, people["wang"], category="D", zone="ring1", reported="2026-11-02 08:00",
                fault_description="备件库月度盘点")
    wang.sync()
    set_clock(world, "2026-11-02 12:00")
    arrives(wang, people["wang"], t1["ticket"], "2026-11-02 10:00")
    finish(wang, t1["ticket"], arrived="2026-11-02 10:00", completed="2026-11-02 12:00")
    wang.sync()

    set_clock(world, "2026-11-03 08:00")
    t2 = open_ticket(desk, people["wang"], zone="ring2", reported="2026-11-03 08:00", customer="北京日报印刷厂")
    wang.sync()
    set_clock(world, "2026-11-03 18:00")
    finish(wang, t2["ticket"], arrived="2026-11-03 16:00", completed="2026-11-03 18:00")
    wang.sync()

    set_clock(world, "2026-11-04 08:00")
    open_ticket(desk, people["wang"], zone="ring1", urgency="emergency", reported="2026-11-04 08:00",
                customer="北京协和医院")

    set_clock(world, "2026-11-06 10:00")
    desk.insert("complaint", ticket_id=t2["ticket"], customer_id=t2["customer"], engineer_id="u-wang",
                description="工程师迟到六小时，态度敷衍", received_at=bj("2026-11-05 10:00"), service_fault=True,
                status="open")
    desk.insert("complaint", ticket_id=t1["ticket"], customer_id=t1["customer"], engineer_id="u-wang",
                description="客户认为收费偏高", received_at=bj("2026-11-06 09:00"), service_fault=False,
                status="resolved")
    desk.insert("satisfaction_survey", ticket_id=t1["ticket"], engineer_id="u-wang", attitude=4, skill=4,
                arrival_time=3, follow_through=2, surveyed_at=bj("2026-11-06 09:30"), comment="维修及时，回访不够")
    desk.insert("satisfaction_survey", ticket_id=t2["ticket"], engineer_id="u-wang", attitude=4, skill=3,
                arrival_time=1, surveyed_at=bj("2026-11-06 09:40"), comment="到得太晚")
    desk.sync()

    set_clock(world, "2026-11-10 08:00")
    t8 = open_ticket(desk, people["wang"], zone="ring1", reported="2026-11-10 08:00", customer="中关村复印社")
    wang.sync()
    set_clock(world, "2026-11-10 12:00")
    wang.update("ticket", t8["ticket"], status="on_site", arrived_at=bj("2026-11-10 11:00"))
    wang.update("ticket", t8["ticket"], carried_back=True, receipt_number="R-2611-001")
    wang.sync()
    set_clock(world, "2026-11-18 09:30")
    wang.update("ticket", t8["ticket"], returned_at=bj("2026-11-18 08:30"), diagnosis="定影组件损坏",
                actions="返厂更换定影组件", result="复印正常")
    wang.update("ticket", t8["ticket"], status="completed", completed_at=bj("2026-11-18 09:00"))
    wang.sync()

    set_clock(world, "2026-11-20 08:00")
    t4 = open_ticket(desk, people["chen"], zone="ring2", reported="2026-11-20 08:00", customer="华信印刷厂",
                     equipment=t1["equipment"], fault_description="皮带又磨损了")
    chen.sync()
    set_clock(world, "2026-11-20 10:00")
    arrives(chen, people["chen"], t4["ticket"], "2026-11-20 09:00")
    chen.update("ticket", t4["ticket"], status="on_site", arrived_at=bj("2026-11-20 09:00"))
    chen.sync()
    set_clock(world, "2026-11-21 10:30")
    arrives(chen, people["chen"], t4["ticket"], "2026-11-21 09:00")
    chen.update("ticket", t4["ticket"], diagnosis="张紧轮偏心", actions="更换张紧轮和皮带", result="试机正常")
    chen.update("ticket", t4["ticket"], status="completed", completed_at=bj("2026-11-21 10:00"))
    chen.sync()

    set_clock(world, "2026-11-28 08:00")
    t7 = open_ticket(desk, people["chen"], zone="ring2", reported="2026-11-28 08:00", customer="朝阳实验小学")
    cancelled = open_ticket(desk, people["chen"], zone="ring2", reported="2026-11-28 08:00", customer="海淀书店")
    chen.sync()
    set_clock(world, "2026-11-28 10:00")
    chen.update("ticket", t7["ticket"], status="on_site", arrived_at=bj("2026-11-28 09:00"))
    chen.sync()
    desk.sync()
    desk.update("ticket", cancelled["ticket"], status="cancelled", cancel_reason="客户自行修复")
    desk.sync()
    set_clock(world, "2026-11-30 12:00")
    return {"T1": t1["ticket"], "T2": t2["ticket"], "T4": t4["ticket"], "T7": t7["ticket"], "T8": t8["ticket"]}


def figures(found: list[dict], month: str = "2026-11") -> dict[str, tuple]:
    return {r["figure"]: (r["numerator"], r["denominator"], r["value"], r["meets"]) for r in found
            if r["month"] == month}


def test_novembers_six_figures_against_their_targets(world, people, november):
    found = rows(world, people["manager"], "quality", **NOVEMBER)
    assert [r["month"] for r in found] == ["2026-11"] * 6
    assert figures(found) == {
        "timeliness": (4, 6, 0.6667, False),  # met: T1 T4 T7 T8; missed T2; T3 late unreached
        "satisfaction": (5, 7, 0.7143, False),  # 3 of T1's four items, 2 of T2's three answered
        "complaint_rate": (1, 4, 0.25, False),  # T2's complaint; finished: T1 T2 T4 T8
        "completion_7d": (3, 5, 0.6, False),  # T1 T2 T4 in time; T8 8 days; T3 open past 7 days; T7 too new
        "repeat_repair": (1, 4, 0.25, False),  # T1's printer back on 20 November (T4)
        "first_time_fix": (2, 4, 0.5, False),  # T4 took two visits, T8 went to the workshop
    }
    timeliness = found[0]
    assert (timeliness["title"], timeliness["comparison"], timeliness["target"]) == ("服务及时率", "≥", 0.9)
    assert found[2]["comparison"] == "<" and found[2]["target"] == 0.03
    assert report(world, people["manager"], "quality", **NOVEMBER).json["targets"]["complaint_rate"] == {"below": 0.03}


def test_chens_figures_zone_ring1_and_october_count_only_their_own(world, people, november):
    chen = figures(rows(world, people["desk"], "quality", engineer="u-chen", **NOVEMBER))
    assert chen["timeliness"] == (2, 2, 1.0, True)
    assert chen["first_time_fix"] == (0, 1, 0.0, False) and chen["repeat_repair"] == (0, 1, 0.0, True)
    assert chen["satisfaction"] == (0, 0, None, None)
    ring1 = figures(rows(world, people["desk"], "quality", zone="ring1", **NOVEMBER))
    assert ring1["timeliness"] == (2, 3, 0.6667, False)  # T1 and T8 met, T3 late
    both = rows(world, people["desk"], "quality", **{"from": "2026-10-01", "to": "2026-11-30"})
    assert [r["month"] for r in both] == ["2026-10"] * 6 + ["2026-11"] * 6
    assert figures(both, "2026-10")["satisfaction"] == (4, 4, 1.0, True)
    assert figures(both, "2026-11")["satisfaction"] == (5, 7, 0.7143, False)


def test_a_deployment_with_a_seven_day_repeat_window_and_its_own_targets(app_factory, world, people, november):
    strict = app_factory(CLOCK_MS=lambda: world.now, DOMAIN={"reports": {
        "repeat_window_days": 7, "targets": {"first_time_fix": {"at_least": 0.5}}}})
    answer = strict.test_client().get("/v1/office/reports/quality", query_string=NOVEMBER,
                                      headers={"Authorization": f"Bearer {people['manager'].token}"})
    found = figures(answer.json["rows"])
    assert found["repeat_repair"] == (0, 4, 0.0, True)  # T4 came 18 days after T1
    assert found["first_time_fix"] == (2, 4, 0.5, True)
    assert answer.json["targets"]["timeliness"] == {"at_least": 0.9}  # the rest keep their defaults


def test_quality_as_csv_reads_back_with_chinese_titles(world, people, november):
    table = read_csv(report(world, people["desk"], "quality", format="csv", **NOVEMBER).data)
    assert table[0] == ["月份", "指标代码", "指标", "分子", "分母", "数值", "比较", "目标", "达标"]
    assert table[1] == ["2026-11", "timeliness", "服务及时率", "4", "6", "0.6667", "≥", "0.9", "0"]
    assert [line[2] for line in table[1:]] == ["服务及时率", "客户满意率", "有责投诉率", "7日完修率", "返修率", "一次修复率"]


def test_the_last_month_a_report_can_name_is_answered_not_overflowed(world, people, november):
    """December 9999: the repeat window reaches past the last day a date can hold."""
    found = rows(world, people["manager"], "quality", **{"from": "9999-12-01", "to": "9999-12-31"})
    assert [r["month"] for r in found] == ["9999-12"] * 6
    assert figures(found, "9999-12")["repeat_repair"] == (0, 0, None, None)
