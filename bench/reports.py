"""Benchmark 8: each head-office report on a year of a big office's records (issue 18).

A private PostgreSQL database gets 100,000 tickets and 1,000,000 stock movements with
everything that hangs off them (:mod:`bench.office_load`, by ``COPY``); then every
report in :data:`REPORTS` is asked for through the Flask app — the whole request:
authentication, the queries, the JSON — by the manager, a few times each, and its
median and p95 are reported against issue 18's target of 500 ms.

A report is one line of :data:`REPORTS`: its name and its path with the query a
manager would send; a path this build does not route is listed as absent, not timed
(reports land one branch at a time). The app's clock is set to the data's last day, so
"open", "due within 30 days" and "late" mean what they would have meant that day, and
"one month" is that day's month.
"""

from __future__ import annotations

import os
import sys

from werkzeug.exceptions import NotFound

from server.app import create_app
from server.db import create_schema, make_engine
from server.reports.filters import encode_cursor

from . import office_load, servers
from .realistic import END
from .report import Row, Section
from .stats import median, percentile, spread, timed_gets

__all__ = ["REPORTS", "TARGET_MS", "run", "time_reports"]

TARGET_MS = 500.0
#: (name, path with query): every report the benchmark times, as a manager asks for it
_MONTH = "from=2026-11-01&to=2026-11-30"
_YEAR = "from=2025-12-01&to=2026-11-30"
#: the depot reconciliation's cursors past every old part out, every open consumption, every
#: write-off (newest first): its pages of the lists after the levels
_PAST_OLD_PARTS = encode_cursor(["outstanding_old_parts", "9999-12-31T00:00:00+00:00", "~"])
_PAST_CONSUMPTIONS = encode_cursor(["open_consumptions", "~", "9999-12-31T00:00:00+00:00", "~"])
_PAST_WRITE_OFFS = encode_cursor(["write_offs", "0001-01-01T00:00:00+00:00", "~"])
REPORTS: tuple[tuple[str, str], ...] = (
    ("daily report, a month, every engineer", f"/v1/office/reports/daily?{_MONTH}&limit=5000"),
    ("daily report, a month, one engineer", f"/v1/office/reports/daily?{_MONTH}&engineer=u-e001"),
    ("daily report, a month, one depot, CSV", f"/v1/office/reports/daily?{_MONTH}&depot=depot-1&format=csv"),
    ("SLA board, first page", "/v1/office/reports/sla-board"),
    ("quality figures, a month", f"/v1/office/reports/quality?{_MONTH}"),
    ("quality figures, a year", f"/v1/office/reports/quality?{_YEAR}"),
    ("appraisal inputs, a month", f"/v1/office/reports/appraisal?{_MONTH}"),
    ("appraisal inputs, a year", f"/v1/office/reports/appraisal?{_YEAR}"),
    ("parts reconciliation, first page", "/v1/office/reports/reconciliation"),
    ("open consumptions by engineer", "/v1/office/reports/reconciliation/open-consumptions"),
    ("old parts outstanding by engineer and age", "/v1/office/reports/reconciliation/old-parts"),
    ("supplier claims and outcomes", "/v1/office/reports/reconciliation/supplier-claims"),
    ("contracts expiring within 30 days", "/v1/office/reports/contracts-expiring"),
    ("overdue complaints", "/v1/office/reports/overdue-complaints"),
    ("carry-back register", "/v1/office/reports/carry-back"),
    ("SLA list (office API), first page", "/v1/office/sla?per_page=100"),
    ("SLA list (office API), late only", "/v1/office/sla?state=late&per_page=100"),
    ("parts reconciliation (depot API), first page", "/v1/depot/reconciliation"),
    ("parts reconciliation (depot API), open consumptions' first page",
     f"/v1/depot/reconciliation?cursor={_PAST_OLD_PARTS}"),
    ("parts reconciliation (depot API), write-offs' first page",
     f"/v1/depot/reconciliation?cursor={_PAST_CONSUMPTIONS}"),
    ("parts reconciliation (depot API), open counts' first page",
     f"/v1/depot/reconciliation?cursor={_PAST_WRITE_OFFS}"),
    ("vans and requisitions (depot API), first page", "/v1/depot/vans"),
)
_WARM_UP = 1


def run(runs: int, size: office_load.OfficeSize = office_load.OfficeSize(), *, keep: bool = False,
        only: list[str] | None = None) -> list[Section]:
    """Time every report (``only``: those whose name holds one of these) on an office of ``size``;
    ``keep``: load it once into a database kept between runs (``--keep``) and reuse it."""
    section = Section(f"8 reports ({size.tickets:,} tickets, PostgreSQL)")
    if not servers.postgres_available():
        section.error = "PostgreSQL is not reachable: the reports were not timed"
        return [section]
    reports = [(name, path) for name, path in REPORTS if not only or any(part in name for part in only)]
    if keep:
        url, loaded = _kept(size)
        timings = time_reports(url, max(runs, 5), reports)
    else:
        with servers.postgres_database(f"reports_{os.getpid()}") as url:  # two runs side by side never share one
            loaded = _load(url, size)
            timings = time_reports(url, max(runs, 5), reports)
    for name, path in reports:
        ms, status, size_bytes = timings[name]
        if status is None:
            section.rows.append(Row(f"{name}: not in this build", "—"))
            continue
        if status != 200:
            section.rows.append(Row(f"{name}: answered {status}", "—", f"< {TARGET_MS:.0f} ms", False))
            continue
        section.rows.append(Row(f"{name}: median / p95 (ms)", f"{median(ms):,.0f} / {percentile(ms, 95):,.0f}",
                                f"< {TARGET_MS:.0f} ms", percentile(ms, 95) < TARGET_MS, spread(ms)))
        section.notes.append(f"`{path}`: {size_bytes:,} bytes in the answer.")
    if loaded is None:
        section.notes.insert(0, f"On the office loaded by an earlier run with --keep ({size.tickets:,} tickets, "
                                f"{size.movements:,} stock movements), migrated to this build's head.")
    else:
        counts = ", ".join(f"{n:,} {name}" for name, n in loaded.counts.items())
        section.notes.insert(0, f"Loaded by COPY in {loaded.seconds:.0f} s: {counts}; {len(loaded.engineers)} "
                                f"engineers, {size.depots} depots.")
    section.notes.insert(1, "Each report through the Flask app in the bench's process (`create_app`, the test "
                            "client, a manager's token): authentication, queries and JSON, no network; "
                            f"{_WARM_UP} warm-up request, then {max(runs, 5)} timed; the target is on the p95.")
    return [section]


def _load(url: str, size: office_load.OfficeSize) -> office_load.Loaded:
    engine = make_engine(url)
    try:
        create_schema(engine)
        return office_load.fill(engine, size)
    finally:
        engine.dispose()


def _kept(size: office_load.OfficeSize) -> tuple[str, office_load.Loaded | None]:
    """The kept database of this size (loaded now if it is not yet, else brought to this
    build's migrations) and what was loaded now (``None``: it was there)."""
    mark = f"bench.office_load {size.tickets} tickets {size.movements} movements seed 18"
    url, there = servers.kept_postgres_database(f"reports_kept_{size.tickets}_{size.movements}", mark)
    if there:
        engine = make_engine(url)
        try:
            create_schema(engine)
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        finally:
            engine.dispose()
        return url, None
    loaded = _load(url, size)
    servers.mark_database(url, mark)
    return url, loaded


def time_reports(database_url: str, runs: int, reports=REPORTS) -> dict[str, tuple[list[float], int | None, int]]:
    """``{name: (milliseconds per run, status, bytes of the last answer)}`` for ``reports``
    (status ``None``: this build has no such path)."""
    end_ms = int(END.timestamp() * 1000)
    app = create_app({"DATABASE_URL": database_url, "RATE_LIMIT_PER_MINUTE": 0, "CLOCK_MS": lambda: end_ms})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {office_load.MANAGER_TOKEN}"}
    routes = app.url_map.bind("fieldsync")
    out: dict[str, tuple[list[float], int | None, int]] = {}
    try:
        for name, path in reports:
            try:
                routes.match(path.split("?")[0], method="GET")
            except NotFound:
                out[name] = ([], None, 0)
                continue
            ms, status, size = timed_gets(client, path, headers, runs, _WARM_UP)
            out[name] = (ms, status, size)
            if ms:  # as it goes: a long run shows what it has timed so far
                print(f"{name}: median {median(ms):,.0f} ms, p95 {percentile(ms, 95):,.0f} ms", flush=True)
    finally:
        app.extensions["fieldsync"].engine.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.reports --tickets 10000``: this benchmark alone, at any size."""
    import argparse

    from .report import table

    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=main.__doc__)
    parser.add_argument("--tickets", type=int, default=office_load.OfficeSize.tickets)
    parser.add_argument("--movements", type=int, default=None, help="default: 10 per ticket")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true",
                        help="load the office once into fieldsync_bench_reports_kept_<size> and reuse it next time "
                             "(migrated to this build's head); drop it by hand when done")
    parser.add_argument("--only", nargs="+", help="time only the reports whose name holds one of these")
    parser.add_argument("--write", action="store_true",
                        help="write this run into bench/RESULTS.md as its own part (the rest is left as it was)")
    parser.add_argument("--note", action="append", default=[], help="a line to add to the written part's method")
    args = parser.parse_args(argv)
    size = office_load.OfficeSize(args.tickets, args.movements if args.movements is not None else 10 * args.tickets)
    sections = run(args.runs, size, keep=args.keep, only=args.only)
    print(table(sections))
    for section in sections:
        print("\n".join(f"- {n}" for n in section.notes))
    if args.write:
        from pathlib import Path

        from . import machine
        from .report import write_part

        method = [f"`python -m bench.reports {' '.join(argv if argv is not None else sys.argv[1:])}`: this benchmark "
                  f"alone (the figures above it in this file are the last whole run's).", *args.note]
        write_part(Path(__file__).with_name("RESULTS.md"), "reports", machine.describe(), sections, method)
    return 1 if any(s.error for s in sections) else 0


if __name__ == "__main__":
    raise SystemExit(main())
