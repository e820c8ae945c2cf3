"""The SLA board: open tickets late first then by deadline, time left and state as of the
server's clock (not as last evaluated), filtered and paged by cursor."""

from __future__ import annotations

import pytest

from tests.conftest import Timeline
from tests.reports_world import at, bj, open_ticket, read_csv, report, rows, set_clock


@pytest.fixture
def world(app_factory, replica_for) -> Timeline:
    made = Timeline(replica_for, at("2026-11-23 08:00"))
    made.app = app_factory(CLOCK_MS=lambda: made.now)
    return made


@pytest.fixture
def morning(world, people) -> dict[str, str]:
    """Five calls at eight on Monday (deadlines by the default zones, by the clock):
    the hospital's emergency in ring 1 (due 10:00, 王伟), two normal calls in ring 2
    (due 14:00, 陈静), a normal call from a nearby county (due Tuesday 08:00, 王伟), one in
    ring 3 王伟 reaches at nine, and one in ring 1 the desk cancels."""
    desk, wang = world.device(people["desk"]), world.device(people["wang"])
    desk.insert("stock_location", kind="van", name="王伟的服务车", depot_id="depot-main", engineer_id="u-wang")
    eight = "2026-11-23 08:00"
    made = {
        "hospital": open_ticket(desk, people["wang"], zone="ring1", urgency="emergency", reported=eight,
                                customer="北京协和医院")["ticket"],
        "printer": open_ticket(desk, people["chen"], zone="ring2", reported=eight, customer="华信印刷厂")["ticket"],
        "school": open_ticket(desk, people["chen"], zone="ring2", reported=eight, customer="朝阳实验小学")["ticket"],
        "county": open_ticket(desk, people["wang"], zone="nearby", reported=eight, customer="廊坊食品厂")["ticket"],
        "reached": open_ticket(desk, people["wang"], zone="ring3", reported=eight, customer="丰台物流园")["ticket"],
        "cancelled": open_ticket(desk, None, zone="ring1", reported=eight, customer="海淀书店")["ticket"],
    }
    wang.sync()
    set_clock(world, "2026-11-23 09:00")
    wang.update("ticket", made["reached"], status="on_site", arrived_at=bj("2026-11-23 09:00"))
    wang.sync()
    desk.update("ticket", made["cancelled"], status="cancelled", cancel_reason="客户自行修复")
    desk.sync()
    return made


def test_at_one_oclock_the_hospital_is_late_the_printer_at_risk_and_the_county_on_time_without_an_evaluation(
        world, people, morning):
    set_clock(world, "2026-11-23 13:00")  # nobody ran evaluate-sla since the morning
    board = rows(world, people["desk"], "sla-board")
    ring2 = sorted([morning["printer"], morning["school"]])
    assert [r["ticket_id"] for r in board] == [morning["hospital"], *ring2, morning["county"]]
    hospital, first_ring2, _, county = board
    assert (hospital["state"], hospital["state_title"], hospital["minutes_left"]) == ("late", "已超时", -180)
    assert hospital["deadline"] == "2026-11-23T10:00:00+08:00"
    assert (hospital["customer_name"], hospital["assignee_name"], hospital["zone"]) == ("北京协和医院", "wang", "ring1")
    assert (first_ring2["state"], first_ring2["minutes_left"]) == ("at_risk", 60)  # 1 of 6 hours left
    assert (county["state"], county["minutes_left"], county["deadline"]) == (
        "on_time", 19 * 60, "2026-11-24T08:00:00+08:00")


def test_the_board_filters_by_engineer_depot_and_zone_and_pages_without_losing_a_ticket(world, people, morning):
    set_clock(world, "2026-11-23 11:00")
    chens = rows(world, people["manager"], "sla-board", engineer="u-chen")
    assert sorted(r["ticket_id"] for r in chens) == sorted([morning["printer"], morning["school"]])
    depot = rows(world, people["manager"], "sla-board", depot="depot-main")  # 王伟's van is the main depot's
    assert [r["ticket_id"] for r in depot] == [morning["hospital"], morning["county"]]
    assert [r["ticket_id"] for r in rows(world, people["manager"], "sla-board", zone="ring1")] == [morning["hospital"]]
    assert rows(world, people["manager"], "sla-board", zone="西城区") == []

    seen, cursor = [], None
    while True:
        page = report(world, people["desk"], "sla-board", limit=1, **({"cursor": cursor} if cursor else {})).json
        assert len(page["rows"]) <= 1
        seen += [r["ticket_id"] for r in page["rows"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [r["ticket_id"] for r in rows(world, people["desk"], "sla-board")] and len(seen) == 4


def test_the_board_as_csv_reads_back_with_chinese_titles_and_states(world, people, morning):
    set_clock(world, "2026-11-23 11:00")
    table = read_csv(report(world, people["desk"], "sla-board", format="csv").data)
    assert table[0] == ["服务单编号", "服务单号", "客户", "区域", "紧急程度", "状态", "工程师编号", "工程师", "报修时间",
                        "到达时限", "剩余分钟", "时效状态", "时效"]
    assert table[1][2] == "北京协和医院" and table[1][-3:] == ["-60", "late", "已超时"]
    assert len(table) == 5
