"""A small service department's November for the managers' console pages: 王伟 and 陈静
on the road, the desk 张丽, the manager 李强, two jobs, a day's work, a survey, contracts
near their end and records waiting for a decision — every step through the push path on
a controlled Beijing clock (:mod:`tests.reports_world`)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from server.tables import users
from tests.conftest import Person, Timeline
from tests.reports_world import bj, customer_signs, finish, log_work, open_ticket, set_clock

__all__ = ["NAMES", "Department", "name_people", "build_november"]

NAMES = {"u-wang": "王伟", "u-chen": "陈静", "u-desk": "张丽", "u-manager": "李强", "u-depot": "赵仓"}


def name_people(engine: sa.Engine) -> None:
    """The conftest's people under their Chinese names."""
    with engine.begin() as conn:
        for user_id, name in NAMES.items():
            conn.execute(users.update().where(users.c.id == user_id).values(name=name))


@dataclass
class Department:
    t1: str
    t2: str
    requisition: str
    advance: str
    big_sale: str
    small_sale: str
    soon: str
    later: str


def build_november(world: Timeline, people: dict[str, Person]) -> Department:
    """November in Beijing time:

    * T1 (ring 1, 王伟): reported 11-02 08:00, arrives 10:00, done 12:00, signed — met;
    * T2 (ring 2, 王伟): reported 11-03 08:00, arrives 16:00 (missed), done 18:00;
    * 王伟 logs 2 h (A) on T1 on the 2nd and 3 h (B) on T2 on the 3rd; 陈静 1.5 h internal (D);
    * a survey of T1 (4, 4, 3, 2), a complaint of the service's fault on T2;
    * 王伟 asks for two belts and a 2,000 yuan travel advance; the desk books two part sales
      on T1, 800 yuan (above the 500 threshold) and 300;
    * contracts ending 12-10 (in 10 days) and 2027-02-01; the clock stops at 11-30 12:00.
    """
    desk, wang, chen = (world.device(people[name]) for name in ("desk", "wang", "chen"))
    set_clock(world, "2026-11-02 08:00")
    belt = desk.insert("part", code="BELT-1200", name="传动皮带 A-1200", unit="条", price=120.0)
    t1 = open_ticket(desk, people["wang"], zone="ring1", reported="2026-11-02 08:00", customer="华信印刷厂")
    wang.sync()
    set_clock(world, "2026-11-02 12:30")
    finish(wang, t1["ticket"], arrived="2026-11-02 10:00", completed="2026-11-02 12:00")
    customer_signs(wang, t1["ticket"], "2026-11-02 12:10", signer="刘经理")
    log_work(wang, people["wang"], t1["ticket"], "2026-11-02 12:00", "A", 2.0)
    wang.sync()

    set_clock(world, "2026-11-03 08:00")
    t2 = open_ticket(desk, people["wang"], zone="ring2", reported="2026-11-03 08:00", customer="北京日报印刷厂")
    wang.sync()
    set_clock(world, "2026-11-03 18:30")
    finish(wang, t2["ticket"], arrived="2026-11-03 16:00", completed="2026-11-03 18:00")
    log_work(wang, people["wang"], t2["ticket"], "2026-11-03 18:00", "B", 3.0, note="更换定影组件")
    log_work(chen, people["chen"], None, "2026-11-03 17:00", "D", 1.5, note="备件库月度盘点")
    requisition = wang.insert("requisition", engineer_id="u-wang", lines=[{"part_id": belt, "qty": 2}],
                              reason="华信印刷厂皮带备用")
    advance = wang.insert("expense_claim", engineer_id="u-wang", kind="advance", amount=2000.0,
                          description="去天津出差借款")
    wang.sync()
    chen.sync()

    set_clock(world, "2026-11-06 10:00")
    desk.insert("satisfaction_survey", ticket_id=t1["ticket"], engineer_id="u-wang", attitude=4, skill=4,
                arrival_time=3, follow_through=2, surveyed_at=bj("2026-11-06 09:30"), comment="维修及时")
    desk.insert("complaint", ticket_id=t2["ticket"], customer_id=t2["customer"], engineer_id="u-wang",
                description="工程师迟到六小时", received_at=bj("2026-11-05 10:00"), service_fault=True,
                status="open")
    big = desk.insert("charge", ticket_id=t1["ticket"], kind="part_sale", amount=800.0, description="出售定影组件")
    small = desk.insert("charge", ticket_id=t1["ticket"], kind="part_sale", amount=300.0, description="出售皮带")
    soon = desk.insert("contract", number="HT-2025-017", customer_id=t1["customer"], starts_on="2025-12-11",
                       ends_on="2026-12-10")
    later = desk.insert("contract", number="HT-2026-002", customer_id=t2["customer"], starts_on="2026-02-02",
                        ends_on="2027-02-01")
    desk.sync()
    set_clock(world, "2026-11-30 12:00")
    return Department(t1=t1["ticket"], t2=t2["ticket"], requisition=requisition, advance=advance, big_sale=big,
                      small_sale=small, soon=soon, later=later)
