"""Benchmark 9: the desk's console pages with 10,000 open tickets (issue 19: under 300 ms
of server time a page).

A fresh database (SQLite, and PostgreSQL when it is reachable) gets 10,000 open tickets
of 2,000 customers (Chinese names, addresses and faults from :mod:`bench.words`) spread
over 100 engineers and the zones of the SLA table, a tenth of them unassigned, with
deadlines around now — and, for the conflict queue, 5,000 open conflict notes on those
tickets and 20,000 resolved ones. Rows go in by bulk inserts, not through the push: only
the pages are timed. Each page is asked for through the Flask app in this process by the
desk, signed in with a password as a person is: the session, the queries, the template,
no network. One warm-up request, then ``runs`` timed (at least 5); the target is on the
p95.
"""

from __future__ import annotations

import os
import random
import re
import time
from datetime import datetime, timedelta, timezone

import orjson
import sqlalchemy as sa

from server import auth
from server.app import create_app
from server.console.accounts import set_password
from server.db import create_schema, make_engine
from server.tables import entity_table

from . import servers
from .report import Row, Section
from .stats import median, percentile, spread, timed_gets
from .words import Words

__all__ = ["PAGES", "TARGET_MS", "run", "fill", "time_pages"]

TARGET_MS = 300.0
TICKETS = 10_000
OPEN_NOTES, RESOLVED_NOTES = 5_000, 20_000
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
_PASSWORD = "前台的基准测试密码很长"
_STATUSES = ("reported", "dispatched", "accepted", "travelling", "on_site", "carried_back", "in_workshop")
_ZONES = ("ring1", "ring2", "ring3", "nearby", "city", "suburb")
#: (name, path): every page timed, as the desk opens it; ``{cursor}`` is the queue's 20th page
PAGES: tuple[tuple[str, str], ...] = (
    ("ticket board, first page", "/console/tickets"),
    ("ticket board, rows only (htmx refresh)", "/console/tickets?htmx"),
    ("ticket board, one zone", "/console/tickets?zone=ring2"),
    ("ticket board, one engineer", "/console/tickets?assignee=u-e007"),
    ("ticket board, text search (Chinese)", "/console/tickets?q=%E5%8D%B0%E5%88%B7"),
    ("ticket board, page 150", "/console/tickets?page=150"),
    ("conflict queue, first page", "/console/conflicts"),
    ("conflict queue, one engineer", "/console/conflicts?person=u-e007"),
    ("conflict queue, 20th page (keyset)", "/console/conflicts?cursor={cursor}"),
    ("conflict queue, resolved", "/console/conflicts?status=resolved"),
)


def run(runs: int) -> list[Section]:
    sections = []
    with servers.sqlite_database(f"console_{os.getpid()}") as url:
        sections.append(_measure("SQLite", url, runs))
    title = "9 console pages (10,000 open tickets, PostgreSQL)"
    if not servers.postgres_available():
        sections.append(Section(title, error="PostgreSQL is not reachable: the pages were not timed there"))
    else:
        with servers.postgres_database(f"console_{os.getpid()}") as url:
            sections.append(_measure("PostgreSQL", url, runs))
    return sections


def _measure(backend: str, url: str, runs: int) -> Section:
    section = Section(f"9 console pages ({TICKETS:,} open tickets, {backend})")
    engine = make_engine(url)
    try:
        create_schema(engine)
        started = time.monotonic()
        fill(engine)
        loaded = time.monotonic() - started
    finally:
        engine.dispose()
    timings = time_pages(url, max(runs, 5))
    for name, _path in PAGES:
        ms, status, size = timings[name]
        if status != 200:
            section.rows.append(Row(f"{name}: answered {status}", "—", f"< {TARGET_MS:.0f} ms", False))
            continue
        section.rows.append(Row(f"{name}: median / p95 (ms)", f"{median(ms):,.0f} / {percentile(ms, 95):,.0f}",
                                f"< {TARGET_MS:.0f} ms", percentile(ms, 95) < TARGET_MS, spread(ms)))
    section.notes.append(f"Loaded in {loaded:.0f} s: {TICKETS:,} open tickets of 2,000 customers, 100 engineers, "
                         f"{OPEN_NOTES:,} open and {RESOLVED_NOTES:,} resolved conflict notes.")
    section.notes.append("Each page through the Flask app in the bench's process (`create_app`, the test client, the "
                         "desk signed in with a password): session, queries and template, no network; 1 warm-up "
                         f"request, then {max(runs, 5)} timed; the target is on the p95.")
    return section


def fill(engine: sa.Engine, *, seed: int = 19) -> None:
    """The desk, 100 engineers with a device each, and the tickets and notes."""
    rng = random.Random(seed)
    words = Words(rng)
    engineers = [f"u-e{k:03d}" for k in range(100)]
    with engine.begin() as conn:
        auth.add_user(conn, "前台小李", "desk", user_id="u-desk")
        set_password(conn, "u-desk", _PASSWORD)
        for user_id in engineers:
            auth.add_user(conn, words.person(), "engineer", user_id=user_id)
            auth.add_device(conn, user_id, "bench", device_id=f"d-{user_id}")
    book = {"version": 1, "deleted": False, "clock": "{}", "created_at": NOW, "updated_at": NOW}
    customers = []
    for k in range(2_000):
        place = words.place()
        customers.append({**book, "id": f"c-{k:05d}", "name": words.customer(place), "address": words.address(place),
                          "phone": words.phone(), "zone": rng.choice(_ZONES)})
    tickets = []
    for k in range(TICKETS):
        due = NOW + timedelta(minutes=rng.randint(-3 * 24 * 60, 2 * 24 * 60))
        assignee = None if rng.random() < 0.1 else rng.choice(engineers)
        state = "late" if due < NOW - timedelta(hours=1) else rng.choice(("on_time", "at_risk"))
        tickets.append({**book, "id": f"t-{k:05d}", "number": f"T2611-{k:05d}", "customer_id": rng.choice(customers)["id"],
                        "status": "reported" if assignee is None else rng.choice(_STATUSES[1:]),
                        "assignee_id": assignee, "zone": rng.choice(_ZONES), "urgency": rng.choice(("normal", "emergency")),
                        "fault_description": words.fault(), "deadline": due.isoformat(timespec="microseconds"),
                        "sla_state": state, "category": rng.choice("ABC"),
                        "reported_at": (due - timedelta(hours=6)).isoformat()})
    notes = []
    for k in range(OPEN_NOTES + RESOLVED_NOTES):
        ticket = rng.choice(tickets)
        engineer = ticket["assignee_id"] or rng.choice(engineers)
        resolved = k >= OPEN_NOTES
        notes.append({**book, "id": f"n-{k:06d}", "entity": "ticket", "row_id": ticket["id"],
                      "field": rng.choice(("status", "diagnosis", "actions", "fault_description")), "rule": "ticket",
                      "winner": "stored", "kept_value": orjson.dumps("cancelled").decode(),
                      "lost_value": orjson.dumps(words.diagnosis()).decode(),
                      "kept_hlc": "2026-11-30T08:00:00.000Z-0000-console-u-desk",
                      "lost_hlc": f"2026-11-30T07:59:00.000Z-0000-d-{engineer}", "device_id": f"d-{engineer}",
                      "status": "resolved" if resolved else "open",
                      "resolution": orjson.dumps({"choose": "kept", "reason": "基准"}).decode() if resolved else None,
                      "created_at": NOW - timedelta(seconds=k * 7)})
    with engine.begin() as conn:
        for entity, rows in (("customer", customers), ("ticket", tickets), ("conflict", notes)):
            table = entity_table(entity)
            for start in range(0, len(rows), 2_000):
                conn.execute(table.insert(), rows[start:start + 2_000])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))


def time_pages(database_url: str, runs: int) -> dict[str, tuple[list[float], int, int]]:
    """``{name: (milliseconds per run, status, bytes of the last answer)}`` for every page."""
    app = create_app({"DATABASE_URL": database_url, "RATE_LIMIT_PER_MINUTE": 0,
                      "CLOCK_MS": lambda: int(NOW.timestamp() * 1000)})
    client = app.test_client()
    login = client.get("/console/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login.text).group(1)
    signed = client.post("/console/login", data={"csrf_token": token, "login": "u-desk", "password": _PASSWORD})
    assert signed.status_code == 302, "the desk could not sign in"
    cursor = None
    out: dict[str, tuple[list[float], int, int]] = {}
    try:
        page = "/console/conflicts"
        for _ in range(19):  # the 20th page's cursor, as the desk reaches it by "next"
            found = re.search(r'href="/console/conflicts\?cursor=([^"&]+)', client.get(page).text)
            page = f"/console/conflicts?cursor={found.group(1)}"
        cursor = page.rsplit("=", 1)[1]
        for name, path in PAGES:
            headers = {}
            if path.endswith("?htmx"):
                path, headers = path.removesuffix("?htmx"), {"HX-Request": "true"}
            path = path.format(cursor=cursor)
            out[name] = timed_gets(client, path, headers, runs)
    finally:
        app.extensions["fieldsync"].engine.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.console``: this benchmark alone."""
    import argparse

    from .report import table

    parser = argparse.ArgumentParser(prog="python -m bench.console", description=main.__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    sections = run(args.runs)
    print(table(sections))
    for section in sections:
        print("\n".join(f"- {n}" for n in section.notes))
    return 1 if any(s.error for s in sections) else 0


if __name__ == "__main__":
    raise SystemExit(main())
