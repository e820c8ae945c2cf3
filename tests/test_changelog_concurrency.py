"""The pull cursor never skips or repeats a change, in whatever order concurrent
transactions commit (docs/decisions.md, "Serialised log append"), proved with real
concurrent transactions:

* many writers appending the way server/push.py does, holding their transactions open,
  and pullers paging at random sizes: every puller sees every committed change once;
* the exact interleaving that breaks a naive ``seq > cursor`` read, on two PostgreSQL
  connections: with ``claim()`` the later transaction waits for the earlier one; with a
  plain sequence the reader loses the earlier change (the hazard itself);
* a long transaction elsewhere never loses a change: the feed is not held back by one that
  does not write the log, and the first page read once one that does has committed (and
  the pushes queued behind it) brings every change.

``make test`` runs the many-writers test at 3,000 changes; ``make soak``
(``FIELDSYNC_SOAK=1``) at 100,000.
"""

from __future__ import annotations

import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import pytest
import sqlalchemy as sa

from server import changelog
from server.changelog import LogEntry
from server.tables import change_log

SOAK = os.environ.get("FIELDSYNC_SOAK") == "1"
CHANGES = 100_000 if SOAK else 3_000
WRITERS = 8
MAX_HOLD_S = 0.5
MAX_CHANGESET = 200
ABANDON_RATE = 0.05
SCOPE_KEYS = ("engineer:wang", "engineer:chen", "depot:main", "catalog")
#: pullers of everything, of one engineer's scope, of a depot's
PULLER_SCOPES = (None, None, ("engineer:wang", "catalog"), ("depot:main",))
#: how long a puller may take to reach the end of the log: only a hang guard, so far past
#: what the work takes on a slow, busy machine
DEADLINE_S = 3600 if SOAK else 900
#: how long a wait for something that must happen may last before the test gives up
BOUND_S = 60.0


def _entry(row_id: str, scope_keys: tuple[str, ...] = ("catalog",)) -> LogEntry:
    return LogEntry("ticket", row_id, "upsert", 1, {"note": row_id}, None, "d-test", list(scope_keys))


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = BOUND_S) -> None:
    """Poll ``condition``; the timeout only stops a broken run from hanging."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout} s waiting until {what}")
        time.sleep(0.01)


@dataclass
class _Puller:
    """A device's feed: pages of ``changelog.read`` after its cursor, as server/pull.py reads."""

    scope_keys: tuple[str, ...] | None
    cursor: int = 0
    seen: list[tuple[int, str]] = field(default_factory=list)

    def page(self, engine: sa.Engine, limit: int = 100) -> int:
        with engine.connect() as conn:
            records = changelog.read(conn, self.scope_keys, self.cursor, limit).records
        self.seen.extend((seq, row_id) for seq, _entity, row_id, *_ in records)
        if self.seen:
            self.cursor = self.seen[-1][0]
        return len(records)

    def has_seen(self, engine: sa.Engine, count: int) -> bool:
        self.page(engine)
        return len(self.seen) >= count

    @property
    def row_ids(self) -> list[str]:
        return [row_id for _, row_id in self.seen]


# -- many writers, many pullers ----------------------------------------------------------


class _Abandoned(Exception):
    """A writer rolling back after appending: its entries must never be seen."""


@dataclass
class _Budget:
    """How many changes are still to be committed, shared by the writers."""

    left: int
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, wanted: int) -> int:
        with self.lock:
            got = min(wanted, self.left)
            self.left -= got
            return got

    def give_back(self, count: int) -> None:
        with self.lock:
            self.left += count


def _write(engine: sa.Engine, name: str, budget: _Budget, committed: list[LogEntry], rng: random.Random,
           read_while_writing: threading.Event) -> None:
    """Change-sets of 1-200 entries, each in a transaction held open 0-500 ms, as a push
    holds it: claim, work, append, more work, commit (or, sometimes, roll back).

    After its first commit a writer waits until a puller has read a page while the
    writers were at work, so that reading and writing overlap however fast the machine.
    """
    for number in range(10**9):
        size = budget.take(rng.randint(1, MAX_CHANGESET))
        if not size:
            return
        entries = [_entry(f"{name}-{number}-{i}", tuple(rng.sample(SCOPE_KEYS, rng.randint(1, 2)))) for i in range(size)]
        hold, split = rng.uniform(0, MAX_HOLD_S), rng.random()
        try:
            with engine.begin() as conn:
                last_seq = changelog.claim(conn)
                time.sleep(hold * split)
                changelog.append(conn, entries, last_seq)
                time.sleep(hold * (1 - split))
                if rng.random() < ABANDON_RATE:
                    raise _Abandoned
        except _Abandoned:
            budget.give_back(size)
            continue
        except sa.exc.OperationalError as exc:
            # SQLite's write lock is not fair: a writer can wait past the busy timeout
            # while others take turns. The push then fails whole (a 500) and the
            # device sends it again; so does this writer.
            if not (engine.dialect.name == "sqlite" and "database is locked" in str(exc.orig)):
                raise
            budget.give_back(size)
            continue
        committed.extend(entries)
        if not read_while_writing.wait(BOUND_S):
            raise AssertionError(f"no puller read a page within {BOUND_S:.0f} s of a commit")


def _pull_to_the_end(engine: sa.Engine, puller: _Puller, writers_done: threading.Event, rng: random.Random,
                     read_while_writing: threading.Event) -> int:
    """Page at random sizes until an empty page comes after the last writer finished;
    returns how many pages arrived while writers were still at work."""
    deadline = time.monotonic() + DEADLINE_S
    pages_while_writing = 0
    while time.monotonic() < deadline:
        finished = writers_done.is_set()
        got = puller.page(engine, rng.randint(1, 100))
        if got and not finished:
            pages_while_writing += 1
            read_while_writing.set()
        if not got:
            if finished:
                return pages_while_writing
            time.sleep(rng.uniform(0, 0.02))
    raise AssertionError(f"a puller did not reach the end of the log within {DEADLINE_S} s")


def _check_saw_every_change_once(puller: _Puller, committed: list[LogEntry]) -> None:
    seqs = [seq for seq, _ in puller.seen]
    assert seqs == sorted(set(seqs)), "the feed went backwards or repeated a sequence number"
    wanted = {e.row_id: e.seq for e in committed if puller.scope_keys is None or set(e.scope_keys) & set(puller.scope_keys)}
    seen = dict((row_id, seq) for seq, row_id in puller.seen)
    missing, phantom = wanted.keys() - seen.keys(), seen.keys() - wanted.keys()
    repeated = len(puller.seen) - len(seen)
    assert not (missing or phantom or repeated), (
        f"scope {puller.scope_keys}: {len(missing)} committed changes never seen, "
        f"{len(phantom)} seen that never committed, {repeated} seen twice"
    )
    assert seen == wanted, "a change was seen under another sequence number than it committed with"


@pytest.mark.soak
def test_concurrent_writers_holding_transactions_open_never_make_a_puller_skip_or_repeat_a_change(engine):
    rng = random.Random(os.environ.get("FIELDSYNC_SEED", "changelog"))
    budget, committed, writers_done, read_while_writing = _Budget(CHANGES), [], threading.Event(), threading.Event()
    pullers = [_Puller(scope) for scope in PULLER_SCOPES]
    with ThreadPoolExecutor(WRITERS + len(pullers)) as pool:
        pulling = [pool.submit(_pull_to_the_end, engine, p, writers_done, random.Random(rng.random()),
                               read_while_writing) for p in pullers]
        writing = [pool.submit(_write, engine, f"w{k}", budget, committed, random.Random(rng.random()),
                               read_while_writing) for k in range(WRITERS)]
        try:
            for writer in writing:
                writer.result()
        finally:
            writers_done.set()
        pages_while_writing = sum(puller.result() for puller in pulling)

    assert len(committed) == CHANGES
    assert pages_while_writing > 0, "the pullers never read while the writers were at work"
    for puller in pullers:
        _check_saw_every_change_once(puller, committed)
    everything = [seq for seq, _ in pullers[0].seen]
    assert everything == list(range(1, CHANGES + 1)), "committed sequence numbers are not gap-free"


# -- the interleaving that breaks a naive read, on PostgreSQL ----------------------------


@pytest.fixture
def pg_engine(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrent transactions that commit out of order are a PostgreSQL matter: SQLite has one writer")
    return engine


@pytest.fixture
def naive_sequence(pg_engine):
    with pg_engine.begin() as conn:
        conn.exec_driver_sql("CREATE SEQUENCE naive_log_seq")
    yield
    with pg_engine.begin() as conn:
        conn.exec_driver_sql("DROP SEQUENCE naive_log_seq")


def _append_claimed(conn: sa.Connection, row_id: str) -> None:
    """The way server/push.py appends."""
    changelog.append(conn, [_entry(row_id)], changelog.claim(conn))


def _append_naive(conn: sa.Connection, row_id: str) -> None:
    """A sequence number taken before commit, with no lock: what the log must not do."""
    seq = conn.exec_driver_sql("SELECT nextval('naive_log_seq')").scalar_one()
    conn.execute(change_log.insert().values(seq=seq, entity="ticket", row_id=row_id, op="upsert", version=1,
                                            data="{}", changed_at=datetime.now(timezone.utc)))


def _backend_pid(conn: sa.Connection) -> int:
    return conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()


def _waits_for(engine: sa.Engine, pid: int) -> bool:
    """Some connection is blocked on a lock that backend ``pid`` holds."""
    with engine.connect() as conn:
        query = "SELECT count(*) FROM pg_stat_activity WHERE %(pid)s = ANY(pg_blocking_pids(pid))"
        return conn.exec_driver_sql(query, {"pid": pid}).scalar_one() > 0


@dataclass
class _Interleaving:
    first_page: list[str]
    seen: list[str]
    later_waited: bool


def _later_commits_before_earlier(engine: sa.Engine, append: Callable[[sa.Connection, str], None]) -> _Interleaving:
    """``earlier`` appends first and stays open; ``later`` appends next and commits; a
    reader pages; ``earlier`` commits; the reader pages again from its cursor."""
    reader = _Puller(None)
    with engine.connect() as earlier, ThreadPoolExecutor(1) as pool:
        earlier_pid = _backend_pid(earlier)
        append(earlier, "earlier")

        def later() -> None:
            with engine.begin() as conn:
                append(conn, "later")

        later_commit = pool.submit(later)
        _wait_until(lambda: later_commit.done() or _waits_for(engine, earlier_pid), "the later transaction committed or waits")
        later_waited = not later_commit.done()
        reader.page(engine)
        first_page = reader.row_ids
        earlier.commit()
        later_commit.result(timeout=BOUND_S)
    reader.page(engine)
    return _Interleaving(first_page, reader.row_ids, later_waited)


@pytest.mark.postgres
def test_with_claim_the_later_transaction_waits_for_the_earlier_so_the_reader_misses_nothing(pg_engine):
    seen = _later_commits_before_earlier(pg_engine, _append_claimed)

    assert seen.later_waited, "the later transaction took a sequence number while the earlier was open"
    assert seen.first_page == [], "the reader saw a change before the one below it committed"
    assert seen.seen == ["earlier", "later"]


@pytest.mark.postgres
def test_a_plain_sequence_loses_the_earlier_change_when_the_later_commits_first(pg_engine, naive_sequence):
    """The hazard itself, so the test above is known to have teeth."""
    seen = _later_commits_before_earlier(pg_engine, _append_naive)

    assert not seen.later_waited
    assert seen.first_page == ["later"]
    assert seen.seen == ["later"], "the reader's cursor passed 'earlier' before it committed: it is lost"


# -- a long transaction elsewhere --------------------------------------------------------


@dataclass(frozen=True)
class _LongTransaction:
    begin: Callable[[sa.Connection], None]
    holds_the_log: bool


def _report_under_a_snapshot(conn: sa.Connection) -> None:
    conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    conn.exec_driver_sql("SELECT count(*) FROM change_log")
    conn.exec_driver_sql("SELECT count(*) FROM users")


def _office_write_to_another_table(conn: sa.Connection) -> None:
    conn.exec_driver_sql("INSERT INTO users (id, name, role, created_at) VALUES ('u-slow', 'slow', 'desk', now())")


def _slow_push(conn: sa.Connection) -> None:
    _append_claimed(conn, "slow push")


LONG_TRANSACTIONS = {
    "a report reading under one snapshot": _LongTransaction(_report_under_a_snapshot, holds_the_log=False),
    "an office write to another table": _LongTransaction(_office_write_to_another_table, holds_the_log=False),
    "a slow push holding the log": _LongTransaction(_slow_push, holds_the_log=True),
}


@pytest.mark.postgres
@pytest.mark.parametrize("long", LONG_TRANSACTIONS.values(), ids=LONG_TRANSACTIONS.keys())
def test_a_long_transaction_elsewhere_never_loses_a_change_and_the_feed_has_all_once_it_commits(pg_engine, long):
    pushes = [f"push {i}" for i in range(20)]
    expected = (["slow push"] if long.holds_the_log else []) + pushes
    feed = _Puller(None)

    def push_one_by_one() -> None:
        for row_id in pushes:
            with pg_engine.begin() as conn:
                _append_claimed(conn, row_id)

    with pg_engine.connect() as held, ThreadPoolExecutor(1) as pool:
        held_pid = _backend_pid(held)
        held.commit()  # the long transaction starts with its own first statement
        long.begin(held)
        pushing = pool.submit(push_one_by_one)
        if long.holds_the_log:
            _wait_until(lambda: _waits_for(pg_engine, held_pid), "the pushes queue behind the slow one")
            feed.page(pg_engine)
        else:
            _wait_until(lambda: feed.has_seen(pg_engine, len(pushes)), "the feed has every push")
        seen_while_open = feed.row_ids
        held.commit()
        pushing.result(timeout=BOUND_S)  # the pushes queued behind it have committed too
        feed.page(pg_engine)

    assert seen_while_open == ([] if long.holds_the_log else pushes), "the feed was held back by an unrelated transaction"
    assert feed.row_ids == expected, "the first page after the commits did not bring every change"
    assert [seq for seq, _ in feed.seen] == list(range(1, len(expected) + 1))
