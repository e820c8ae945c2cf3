"""``python -m bench``: every benchmark in one process run, a table, bench/RESULTS.md.

One process, so every ratio compares figures taken minutes apart on the same machine
in the same state. ``--only`` runs some benchmarks (RESULTS.md is then not written
unless ``--write`` asks, and then it says which ran); ``--runs`` trades time for
steadier medians.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

from . import console, fleet, incremental, initial_sync, machine, peer, push_rate, reports, servers, weak_link
from .report import Section, table, write_results

RESULTS = Path(__file__).with_name("RESULTS.md")

BENCHMARKS: dict[str, Callable[[int], list[Section]]] = {
    "initial": initial_sync.run,
    "incremental": incremental.run,
    "push": push_rate.run,
    "fleet": fleet.run,
    "peer": peer.run,
    "weak": weak_link.run,
    "reports": reports.run,
    "console": console.run,
}

METHOD = [
    "Every figure is the median of the runs; `runs` shows their spread. A ratio is the median of the ratios "
    "of runs taken side by side, never of two medians taken at different times.",
    "Servers are `fieldsync serve` (gunicorn) and `kinto start` (waitress) subprocesses on 127.0.0.1, "
    "started and stopped by the benchmark, each on a fresh database.",
    "Fixtures are loaded with the server's own bulk writers (`server.rows.save`, `server.changelog.append`), "
    "not through HTTP: only what a figure names is timed.",
    "No unit test asserts any of these figures; `make test` does not run them.",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument("--write", action="store_true", help="write RESULTS.md after an --only run too")
    args = parser.parse_args(argv)
    started = time.monotonic()
    sections: list[Section] = []
    for name, bench in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        print(f"== {name}", flush=True)
        try:
            sections += bench(args.runs)
        except Exception as exc:  # a benchmark that fails is reported, and the others still run
            traceback.print_exc()
            sections.append(Section(name, error=f"{type(exc).__name__}: {exc}"))
    servers.remove_replicas()
    print()
    print(table(sections))
    if not args.only or args.write:
        method = METHOD
        if args.only:
            left_out = [name for name in BENCHMARKS if name not in args.only]
            method = METHOD + [f"This run: only {', '.join(args.only)} ({', '.join(left_out)} not run), "
                               f"{args.runs} runs per figure."]
        write_results(RESULTS, machine.describe(), sections, method, time.monotonic() - started)
        print(f"\nwrote {RESULTS}")
    return 1 if any(s.error for s in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
