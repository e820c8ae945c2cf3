"""A small service department on a controlled clock, for the head-office reports' tests:
Beijing time (UTC+8), the desk, a manager, engineers 王伟 (wang) and 陈静 (chen), and
helpers that do each step the way the devices do it, through the real push path."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

from sync.client import Replica
from tests.conftest import Person, Timeline, auth_header

BEIJING = timezone(timedelta(hours=8))
HOUR = 3_600_000


def at(text: str) -> int:
    """A Beijing wall time (``2026-11-23 20:00``) as ms since the epoch."""
    return int(datetime.fromisoformat(text).replace(tzinfo=BEIJING).timestamp() * 1000)


def bj(text: str) -> str:
    """A Beijing wall time as a device writes it in a time field."""
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING).isoformat()


def set_clock(world: Timeline, text: str) -> None:
    """Time passes to a Beijing wall time (never backwards)."""
    target = at(text)
    assert target >= world.now
    world.now = target


def open_ticket(desk: Replica, engineer: Person | None, *, category: str = "A", zone: str = "ring2",
                customer: str = "华信印刷厂", equipment: str | None = None, reported: str | None = None,
                **fields) -> dict[str, str]:
    """The desk takes a repair call (or opens an internal job) and dispatches it."""
    customer_id = desk.insert("customer", name=customer, address="北京市朝阳区建国路88号", zone=zone,
                              phone="010-6555-0101", contact="刘经理")
    equipment_id = equipment or desk.insert("equipment", customer_id=customer_id, model="海德堡 SM52",
                                            serial="SN-0452")
    values = dict(customer_id=customer_id, equipment_id=equipment_id, status="dispatched", urgency="normal",
                  channel="phone", fault_description="皮带磨损，运行十分钟后停机", category=category, zone=zone,
                  assignee_id=engineer.user_id if engineer else None)
    if reported:
        values["reported_at"] = bj(reported)
    values.update(fields)
    ticket = desk.insert("ticket", **values)
    desk.sync()
    return {"customer": customer_id, "equipment": equipment_id, "ticket": ticket}


def log_work(engineer: Replica, person: Person, ticket: str | None, when: str, category: str, hours: float,
             note: str = "更换传动皮带") -> str:
    return engineer.insert("work_log", ticket_id=ticket, engineer_id=person.user_id, event="work_ended",
                           at=bj(when), category=category, hours=hours, note=note)


def finish(engineer: Replica, ticket: str, arrived: str, completed: str) -> None:
    """The engineer arrives, writes the service report and completes the job."""
    engineer.update("ticket", ticket, status="on_site", arrived_at=bj(arrived))
    engineer.update("ticket", ticket, diagnosis="传动皮带磨损", actions="更换传动皮带", result="试机正常")
    engineer.update("ticket", ticket, status="completed", completed_at=bj(completed))


def customer_signs(engineer: Replica, ticket: str, when: str, signer: str = "刘经理") -> str:
    image = engineer.put_blob(f"{signer}的签名笔迹{ticket}".encode())
    return engineer.insert("signature", ticket_id=ticket, blob_sha256=image, signer_name=signer,
                           signed_at=bj(when), report_hash=engineer.report_hash(ticket))


def report(world: Timeline, person: Person, name: str, **params):
    """A report's answer (the response object)."""
    return world.app.test_client().get(f"/v1/office/reports/{name}", query_string=params,
                                       headers=auth_header(person))


def rows(world: Timeline, person: Person, name: str, **params) -> list[dict]:
    answer = report(world, person, name, **params)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.json["rows"]


def read_csv(body: bytes) -> list[list[str]]:
    """A CSV answer as Excel reads it: the byte-order mark first, then UTF-8."""
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
