"""``python -m bench.compare REV``: this checkout's push rate against REV's, in one run.

A change on the push path must not slow it down; "slower" can only be judged side by
side on a shared machine, whose load moves absolute rates by 2x between minutes. So
each checkout's push benchmark runs in a process of its own (its own code, imported
from its own folder), taking turns A B A B ..., and the verdict is the median of the
ratios of each pair. REV is checked out into a temporary git worktree, removed after.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from .stats import median, spread

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent

#: what each turn runs, in the checkout it measures: one push benchmark run, as JSON
_ONE_TURN = """
import json
from bench import push_rate
rates = {}
for section in push_rate.run(1):
    for row in section.rows:
        if row.metric.startswith("mutations/s applied"):
            rates[row.metric.rsplit(", ", 1)[1]] = float(row.value.replace(",", ""))
print(json.dumps(rates))
"""


def _turn(checkout: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", _ONE_TURN], cwd=checkout, capture_output=True, text=True,
                          check=True, timeout=900)
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(base: Path, turns: int) -> dict[str, list[float]]:
    """Per database, the ratio new ÷ base of each side-by-side pair of turns."""
    ratios: dict[str, list[float]] = {}
    for turn in range(turns):
        first, second = (ROOT, base) if turn % 2 == 0 else (base, ROOT)
        rates = {first: _turn(first), second: _turn(second)}
        for database, new in rates[ROOT].items():
            ratios.setdefault(database, []).append(new / rates[base][database])
            print(f"turn {turn + 1}: {database} new {new:,.0f}/s, base {rates[base][database]:,.0f}/s", flush=True)
    return ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("rev", help="the revision to compare against (e.g. main~3)")
    parser.add_argument("--turns", type=int, default=6, help="pairs of runs (default 6)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fieldsync-base-") as folder:
        base = Path(folder) / "checkout"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), args.rev], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            ratios = compare(base, args.turns)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    for database, values in ratios.items():
        print(f"push rate {database}: this checkout ÷ {args.rev} = {median(values):.3f} (pairs {spread(values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
