"""The department's controls, broken on purpose in the server, must fail the property
test within a short run with the invariant that models them (tests/control_invariants.py):
an approval that survives a change to what it covers, a consumption written off without
its old part, a count sheet that posts its difference twice; a close that asks for no
signature, issues that forget what was issued already, a number taken by the month a
ticket reached the server, an SLA state blind to the arrival.

The last four are replayed steps (tests/replay.py), a few seconds each: what they need is
written down rather than searched for, and each is run with the sound control too."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis.stateful import run_state_machine_as_test

from server.domain import effects, requisitions, signoff, sla, stocktake, writeoff
from sync.ids import new_id
from sync.rules import approval
from tests import test_property_sync
from tests.domain_invariants import ticket_status_follows_its_machine
from tests.invariants import INVARIANTS, SETTLED_INVARIANTS
from tests.replay import Found, Row, Step, replay
from tests.test_property_catches_broken_rules import SEARCH, SEED
from tests.test_property_sync import JOB_OF, FieldWork, seeded, start_of_day

#: the real controls, which the broken ones call
OPEN_CONSUMPTIONS, SETTLE = writeoff.open_consumptions, stocktake._settle


def test_an_approval_that_stays_when_the_engineer_raises_what_it_covers_is_caught(monkeypatch):
    start_of_day()  # yesterday's approved requisitions, made by the sound rules
    # a covered value changed after approval is taken, and the approval stays in force
    monkeypatch.setattr(approval, "_void", lambda *args, **kw: None)
    with pytest.raises(AssertionError, match="an approval covers more than was approved"):
        run_state_machine_as_test(seeded(SEED), settings=SEARCH)


def closed_without_the_old_part(conn, only, now):
    """Reconciliation that writes a belt off once the report is signed, whether or not its
    old part came back."""
    return [c for c in OPEN_CONSUMPTIONS(conn, only, now) if "signature" in c["waiting_for"]]


def test_a_consumption_written_off_without_its_old_part_is_caught(monkeypatch):
    monkeypatch.setattr(writeoff, "open_consumptions", closed_without_the_old_part)
    with pytest.raises(AssertionError, match="a consumption not closed by exactly its report and old part"):
        run_state_machine_as_test(seeded(SEED), settings=SEARCH)


def settle_twice(batch, count_id, only):
    """Settling that posts every adjustment of the count twice."""
    write = batch.system_write

    def twice(entity, row_id, fields, *args, **kw):
        write(entity, row_id, fields, *args, **kw)
        if entity == "stock_movement" and fields.get("count_id") == count_id:
            write(entity, new_id(), dict(fields), *args, **kw)

    batch.system_write = twice
    try:
        SETTLE(batch, count_id, only)
    finally:
        del batch.system_write


def test_a_count_sheet_that_posts_its_adjustment_twice_is_caught(monkeypatch):
    monkeypatch.setattr(stocktake, "_settle", settle_twice)
    with pytest.raises(AssertionError, match="an approved count did not post its difference once"):
        run_state_machine_as_test(seeded(SEED), settings=SEARCH)


# -- sign-off ----------------------------------------------------------------------------------

#: The customer calls the desk about Liu's job: the fault is not quite what was written
#: down, and the desk corrects it. Liu, offline on site, has the customer sign the report
#: his phone shows (the old fault) and marks the job signed. The signature reaches the
#: server signing a report that no longer stands: it is stale from the start, and the job
#: is not signed.
LIUS_JOB = Row("ticket", {"assignee_id": "u-liu"})  # its fault description is what changes
SIGNED_AN_OLD_REPORT = Found("Liu's customer signs the report as it stood before the desk corrected the fault", (
    Step("work", "desk", ("customer_calls_the_desk", LIUS_JOB)),
    Step("sync", "desk"),
    Step("work", "liu", ("customer_signs", LIUS_JOB, "marks it signed")),
    Step("sync", "liu"),
))


def test_a_job_signed_on_a_report_the_desk_had_corrected_stays_completed_with_the_sound_sign_off():
    replay(FieldWork, SIGNED_AN_OLD_REPORT)


def test_a_sign_off_that_takes_signed_without_a_current_signature_is_caught(monkeypatch):
    # the server's own check of a move to signed or closed is gone: the ticket machine
    # lets an engineer sign off a completed job, so "signed" is taken over a stale signature
    monkeypatch.setattr(signoff, "check_ticket", lambda batch, caller, stored, mutation: None)
    with pytest.raises(AssertionError, match="a ticket's status left its state machine"):
        replay(FieldWork, SIGNED_AN_OLD_REPORT)
    # the ticket machine's model ends where a signed ticket must be signed now; without it,
    # the sign-off's own invariant finds the job signed with no signature of its report
    without_the_machine = {name: tuple(i for i in checks if i is not ticket_status_follows_its_machine)
                           for name, checks in (("INVARIANTS", INVARIANTS), ("SETTLED_INVARIANTS", SETTLED_INVARIANTS))}
    for name, checks in without_the_machine.items():
        monkeypatch.setattr(test_property_sync, name, checks)
    with pytest.raises(AssertionError, match="a ticket signed or closed without a current signature"):
        replay(FieldWork, SIGNED_AN_OLD_REPORT)


# -- requisitions ------------------------------------------------------------------------------

#: Zhao issues the two fuses Liu's approved requisition asks for, and, his tablet not yet
#: told they went (the server marks the requisition issued), issues them again.
ISSUED_TWICE = Found("Zhao issues Liu's approved fuses twice before his tablet syncs", (
    Step("work", "zhao", ("issue_parts", Row("requisition", {"engineer_id": "u-liu"}))),
    Step("work", "zhao", ("issue_parts", Row("requisition", {"engineer_id": "u-liu"}))),
    Step("sync", "zhao"),
))


def test_fuses_issued_twice_against_one_approval_are_refused_the_second_time_with_the_sound_control():
    replay(FieldWork, ISSUED_TWICE)


def test_issues_that_forget_what_was_issued_already_are_caught(monkeypatch):
    # each issue is judged as if it were the requisition's first: the approval's lines,
    # not its lines less what already left the depot
    monkeypatch.setattr(requisitions, "_issues", lambda batch, requisition_id: [])
    with pytest.raises(AssertionError, match="parts issued beyond what an approval covered"):
        replay(FieldWork, ISSUED_TWICE)


# -- numbers -----------------------------------------------------------------------------------

BEIJING = timezone(timedelta(hours=8))


def _next_month_starts(after_ms: int) -> int:
    """The first midnight of a month in Beijing time after ``after_ms``, in ms."""
    day = datetime.fromtimestamp(after_ms / 1000, BEIJING)
    start = datetime(day.year + day.month // 12, day.month % 12 + 1, 1, tzinfo=BEIJING)
    return int(start.timestamp() * 1000)


class WorkOnTheLastEveningOfTheMonth(FieldWork):
    """The property test's day, starting a minute and a half before a month ends in
    Beijing time: a step later it is half a minute to midnight, a step after that the
    next month."""

    def __init__(self):
        super().__init__()
        self.now = _next_month_starts(self.now) - 90_000


#: The desk opens a ticket half a minute before the month ends and syncs after midnight.
OPENED_BEFORE_MIDNIGHT = Found("the desk opens a ticket before the month ends and syncs it after", (
    Step("work", "desk", ("open_ticket", False, None)),
    Step("sync", "desk"),
))


def test_a_ticket_opened_before_the_month_ends_and_synced_after_is_numbered_in_its_month_by_the_sound_server():
    replay(WorkOnTheLastEveningOfTheMonth, OPENED_BEFORE_MIDNIGHT)


def test_a_server_that_numbers_tickets_by_the_month_they_arrive_is_caught(monkeypatch):
    monkeypatch.setattr(effects, "_made_ms", lambda batch, entity, row_id: batch.now_ms)
    with pytest.raises(AssertionError, match="a ticket's number is not its month's next"):
        replay(WorkOnTheLastEveningOfTheMonth, OPENED_BEFORE_MIDNIGHT)


# -- SLA ---------------------------------------------------------------------------------------

#: Liu notes his arrival on yesterday's job (the site reached long before its deadline) and syncs.
ARRIVED = Found("Liu notes his arrival on site and syncs", (
    Step("work", "liu", ("record_work", JOB_OF["liu"], "arrived_at")),
    Step("sync", "liu"),
))


def test_a_site_reached_before_the_deadline_is_met_with_the_sound_sla():
    replay(FieldWork, ARRIVED)


def test_an_sla_state_blind_to_the_arrival_is_caught(monkeypatch):
    # the first arrival is never found: the job stays on time (or late) once reached
    monkeypatch.setattr(sla, "reached", lambda values: None)
    with pytest.raises(AssertionError, match="an SLA state does not follow the arrival"):
        replay(FieldWork, ARRIVED)
