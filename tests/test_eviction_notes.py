"""A row evicted while it has pending edits is noted and deleted once they are pushed;
given back to the device before that push, it stays — however the pull pages fall.

The desk takes Wang's ticket away while he works on it offline, then gives it back. His
device learns of the eviction (noted: his edits must be sent first) and of the return,
in one pull or in two, on pages of one change, two, or the engine's default. His edits
are of the kinds whose push the server answers without logging the row again — one
refused, one that loses to a later correction — so no pull after the push would bring a
row back that a stale note deleted; one is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sync.client import Replica
from tests.scenario import desk_opens_ticket

#: pages of one change, of two, and the engine's own size
PAGE_SIZES = [pytest.param({"page_size": 1}, id="pages of 1"), pytest.param({"page_size": 2}, id="pages of 2"),
              pytest.param({}, id="default pages")]

EDITED = ("ticket", "customer", "equipment")


@dataclass
class OfflineWork:
    desk: Replica
    wang: Replica
    ids: dict[str, str]


@pytest.fixture
def offline_work(people, timeline):
    """Wang's ticket, and his offline edits to it, its customer and its equipment, not
    pushed yet: he marks it urgent (the desk's field: refused), notes the customer's
    contact (the desk corrects it later: his loses) and reads the run hours (accepted)."""

    def start(**replica_options) -> OfflineWork:
        desk = timeline.device(people["desk"])
        wang = timeline.device(people["wang"], **replica_options)
        ids = desk_opens_ticket(desk, people["wang"].user_id, fault_description="印刷机运行十分钟后停机")
        wang.sync()
        wang.update("ticket", ids["ticket"], urgency="emergency")
        wang.update("customer", ids["customer"], contact="刘经理")
        wang.update("equipment", ids["equipment"], run_hours=1520.5)
        timeline.advance(60_000)  # the desk's correction, a minute later
        desk.update("customer", ids["customer"], contact="刘建国（设备科）")
        desk.sync()
        return OfflineWork(desk, wang, ids)

    return start


def _desk_assigns(work: OfflineWork, person) -> None:
    work.desk.update("ticket", work.ids["ticket"], assignee_id=person.user_id)
    work.desk.sync()


def _holds_his_edits(work: OfflineWork) -> None:
    """Before his push: every row he edited, as he left it."""
    wang, ids = work.wang, work.ids
    assert wang.get("ticket", ids["ticket"])["urgency"] == "emergency"
    assert wang.get("customer", ids["customer"])["contact"] == "刘经理"
    assert wang.get("equipment", ids["equipment"])["run_hours"] == 1520.5


def _holds_the_ticket_as_the_server_does(work: OfflineWork) -> None:
    """After his push: the ticket, its customer and its equipment, as settled."""
    wang, ids = work.wang, work.ids
    assert wang.pending() == 0
    assert wang.get("ticket", ids["ticket"])["urgency"] == "normal"
    assert [p.code for p in wang.parked()] == ["field_not_owned"]
    assert wang.get("customer", ids["customer"])["contact"] == "刘建国（设备科）"
    assert wang.get("equipment", ids["equipment"])["run_hours"] == 1520.5


def _holds_none_of_it(work: OfflineWork) -> None:
    for entity in EDITED:
        assert work.wang.get(entity, work.ids[entity]) is None, entity


@pytest.mark.parametrize("replica_options", PAGE_SIZES)
def test_ticket_given_back_within_one_pull_stays_on_the_engineers_device_after_his_push(
        people, offline_work, replica_options):
    work = offline_work(**replica_options)
    _desk_assigns(work, people["chen"])
    _desk_assigns(work, people["wang"])
    work.wang.pull()  # away and back in one pull: on one page or on several
    _holds_his_edits(work)
    for _ in range(2):
        work.wang.sync()
        _holds_the_ticket_as_the_server_does(work)


@pytest.mark.parametrize("replica_options", PAGE_SIZES)
def test_ticket_given_back_in_a_later_pull_stays_on_the_engineers_device_after_his_push(
        people, offline_work, replica_options):
    work = offline_work(**replica_options)
    _desk_assigns(work, people["chen"])
    work.wang.pull()  # the eviction is noted: his edits must be sent first
    _holds_his_edits(work)
    _desk_assigns(work, people["wang"])
    work.wang.pull()  # it is his again: the note goes
    _holds_his_edits(work)
    for _ in range(2):
        work.wang.sync()
        _holds_the_ticket_as_the_server_does(work)


@pytest.mark.parametrize("replica_options", PAGE_SIZES)
def test_ticket_passed_back_and_forth_between_pulls_stays_while_his_and_leaves_when_it_is_not(
        people, offline_work, timeline, replica_options):
    work = offline_work(**replica_options)
    _desk_assigns(work, people["chen"])
    work.wang.pull()  # noted
    for person in ("wang", "chen", "wang"):
        _desk_assigns(work, people[person])
    work.wang.pull()  # back, away and back: on one page, or spread over several
    _holds_his_edits(work)
    work.wang.sync()
    _holds_the_ticket_as_the_server_does(work)
    _desk_assigns(work, people["chen"])
    work.wang.sync()
    _holds_none_of_it(work)
    chen = timeline.device(people["chen"])
    chen.sync()
    assert chen.get("equipment", work.ids["equipment"])["run_hours"] == 1520.5


@pytest.mark.parametrize("replica_options", PAGE_SIZES)
def test_ticket_taken_away_again_after_it_came_back_leaves_once_his_edits_are_pushed(
        people, offline_work, replica_options):
    work = offline_work(**replica_options)
    _desk_assigns(work, people["chen"])
    work.wang.pull()
    _desk_assigns(work, people["wang"])
    _desk_assigns(work, people["chen"])
    work.wang.pull()  # noted again: his edits still wait, so the rows stay until they are sent
    _holds_his_edits(work)
    work.wang.sync()
    _holds_none_of_it(work)
