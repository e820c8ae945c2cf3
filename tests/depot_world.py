"""A small depot, known by heart, for the depot keeper's console pages.

Everything is written the way the people write it — through their devices' pushes: the
desk records the catalog, the two depots, the vans and the deliveries; 王磊 and 陈浩
each replace a part on a job (the server expects each old part back); 王磊's requisition
is approved by the manager; 赵敏 counts the main depot's shelf and writes off a hose.
The north depot (钱进's) waits for a valve of 陈浩's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from server.auth import add_device, add_user
from server.tables import users
from tests.conftest import Person
from tests.console_pages import PASSWORDS, give_passwords
from tests.scenario import desk_opens_ticket

__all__ = ["DepotWorld", "depot_world", "NORTH_PASSWORD", "NAMES"]

NORTH_PASSWORD = "北库管理员的密码也很长"
NAMES = {"u-desk": "李娜", "u-manager": "周杰", "u-wang": "王磊", "u-chen": "陈浩", "u-depot": "赵敏"}


@dataclass
class DepotWorld:
    belt: str
    hose: str
    board: str
    valve: str
    main: str
    north: str
    van_wang: str
    van_chen: str
    ticket_wang: str
    ticket_chen: str
    #: 王磊's belt: its consumption, and the old part the server expects back (same id)
    belt_back: str
    #: 陈浩's main board, expected back at the main depot
    board_back: str
    #: 陈浩's valve, expected back at the north depot
    valve_back: str
    requisition: str
    count: str
    north_keeper: Person


def _just_now_in_beijing() -> str:
    """A millisecond ago, to the millisecond: after every movement made before it (a
    count written to the second can fall before receipts made in the same second) and
    before the next one the same device makes."""
    return (datetime.now(timezone(timedelta(hours=8))) - timedelta(milliseconds=1)).isoformat(timespec="milliseconds")


def depot_world(engine: sa.Engine, people: dict, replica_for) -> DepotWorld:
    with engine.begin() as conn:
        for user_id, name in NAMES.items():
            conn.execute(users.update().where(users.c.id == user_id).values(name=name))
        add_user(conn, "钱进", "depot", user_id="u-north", depot_id="depot-north")
        device, token = add_device(conn, "u-north", "北库的平板", device_id="d-north")
    give_passwords(engine, {**PASSWORDS, "u-north": NORTH_PASSWORD})

    desk = replica_for(people["desk"])
    belt = desk.insert("part", code="BLT-200", name="传动皮带", unit="个", returnable=True, price=80.0)
    hose = desk.insert("part", code="HOS-10", name="液压软管", unit="米", returnable=False, price=12.0)
    board = desk.insert("part", code="PCB-E07", name="主控板", unit="个", returnable=True, price=1200.0)
    valve = desk.insert("part", code="VLV-3", name="压缩机阀门", unit="个", returnable=True, price=300.0)
    main = desk.insert("stock_location", kind="depot", name="总仓", depot_id="depot-main")
    north = desk.insert("stock_location", kind="depot", name="北库", depot_id="depot-north")
    van_wang = desk.insert("stock_location", kind="van", name="王磊的服务车", engineer_id="u-wang",
                           depot_id="depot-main")
    van_chen = desk.insert("stock_location", kind="van", name="陈浩的服务车", engineer_id="u-chen",
                           depot_id="depot-main")
    van_chen_north = desk.insert("stock_location", kind="van", name="陈浩的北线车", engineer_id="u-chen",
                                 depot_id="depot-north")
    for part, qty in ((belt, 10.0), (hose, 20.0), (board, 3.0)):
        desk.insert("stock_movement", kind="receive", part_id=part, qty=qty, condition="new", to_location_id=main)
    desk.insert("stock_movement", kind="receive", part_id=valve, qty=4.0, condition="new", to_location_id=north)
    desk.sync()
    ticket_wang = desk_opens_ticket(desk, "u-wang", fault_description="印刷机传动皮带断裂，无法开机")["ticket"]
    ticket_chen = desk_opens_ticket(desk, "u-chen", fault_description="冷库控制板烧毁，压缩机阀门漏气")["ticket"]

    wang, chen = replica_for(people["wang"]), replica_for(people["chen"])
    wang.sync()
    belt_back = wang.insert("stock_movement", kind="consume", part_id=belt, qty=1.0, from_location_id=van_wang,
                            ticket_id=ticket_wang)
    requisition = wang.insert("requisition", engineer_id="u-wang", depot_location_id=main, van_location_id=van_wang,
                              lines=[{"part_id": belt, "qty": 2}, {"part_id": hose, "qty": 1.5}],
                              reason="补充车载备件：皮带和软管")
    wang.sync()
    chen.sync()
    board_back = chen.insert("stock_movement", kind="consume", part_id=board, qty=1.0, from_location_id=van_chen,
                             ticket_id=ticket_chen)
    valve_back = chen.insert("stock_movement", kind="consume", part_id=valve, qty=1.0,
                             from_location_id=van_chen_north, ticket_id=ticket_chen)
    chen.sync()

    manager = replica_for(people["manager"])
    manager.sync()
    manager.update("requisition", requisition, status="approved")
    manager.sync()

    keeper = replica_for(people["depot"])
    keeper.sync()
    count = keeper.insert("stock_count", location_id=main, counted_by="u-depot", counted_at=_just_now_in_beijing(),
                          lines=[{"part_id": belt, "condition": "new", "qty": 8},
                                 {"part_id": hose, "condition": "new", "qty": 20}],
                          note="月底盘点")
    keeper.insert("stock_movement", kind="write_off", part_id=hose, qty=2.0, condition="new", from_location_id=main,
                  held_by="u-depot", note="软管被叉车压破")
    keeper.sync()
    north_keeper = Person("u-north", "depot", device, token)
    return DepotWorld(belt, hose, board, valve, main, north, van_wang, van_chen, ticket_wang, ticket_chen,
                      belt_back, board_back, valve_back, requisition, count, north_keeper)
