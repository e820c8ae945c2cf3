"""The benchmarks' section numbers are the ones bench/README.md gives them.

bench/RESULTS.md is written from the sections' labels and read beside the README's
table, so a module that numbers its section differently (the reports once said 7,
the weak link's number) sends readers to the wrong figures.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def numbers_in_readme() -> dict[str, set[int]]:
    """``{module: numbers}`` from the README's table ``| # | module | what is timed |``."""
    table = defaultdict(set)
    for number, module in re.findall(r"^\| (\d+) \| `(\w+\.py)` \|", (BENCH / "README.md").read_text(), re.M):
        table[module].add(int(number))
    return dict(table)


def numbers_in_labels(module: str) -> set[int]:
    """The numbers each ``Section("N name ...")`` of a module starts its label with."""
    return {int(n) for n in re.findall(r'Section\(f?"(\d+) ', (BENCH / module).read_text(encoding="utf-8"))}


def test_every_benchmark_labels_its_sections_with_the_numbers_the_readme_gives_them():
    readme = numbers_in_readme()
    assert set(range(1, 10)) <= {n for numbers in readme.values() for n in numbers}
    assert {module: numbers_in_labels(module) for module in readme} == readme


def test_no_two_benchmarks_share_a_number():
    labelled = [(n, path.name) for path in sorted(BENCH.glob("*.py")) for n in numbers_in_labels(path.name)]
    numbers = [n for n, _ in labelled]
    assert sorted(set(numbers)) == sorted(numbers), sorted(labelled)
