"""The results: one table for the terminal and bench/RESULTS.md with the machine.

Each benchmark returns a :class:`Section` (its rows and notes); this module only lays
them out, so a benchmark never formats and the table never computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Row", "Section", "table", "write_results", "write_part"]


@dataclass
class Row:
    metric: str
    value: str
    target: str = ""
    #: None: no target for this figure
    met: bool | None = None
    runs: str = ""


@dataclass
class Section:
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: the benchmark failed: why (its rows may be partial)
    error: str | None = None


def _verdict(row: Row) -> str:
    return "" if row.met is None else ("met" if row.met else "NOT met")


def table(sections: list[Section]) -> str:
    """A Markdown table, readable as plain text in a terminal too."""
    lines = ["| benchmark | figure | value | runs (min–max) | target | |", "|---|---|---|---|---|---|"]
    for section in sections:
        if section.error:
            lines.append(f"| {section.title} | failed | {section.error} | | | NOT met |")
        for row in section.rows:
            lines.append(f"| {section.title} | {row.metric} | {row.value} | {row.runs} | {row.target} | {_verdict(row)} |")
    return "\n".join(lines)


def write_results(path: Path, machine: list[str], sections: list[Section], method: list[str], elapsed_s: float) -> None:
    out = ["# Benchmark results", "", "Written by `make bench` (`python -m bench`); do not edit by hand.", ""]
    out += ["## Machine and versions", ""] + [f"- {line}" for line in machine]
    out += ["", "## Results", "", table(sections), ""]
    for section in sections:
        if section.notes:
            out += [f"### {section.title}", ""] + [f"- {n}" for n in section.notes] + [""]
    out += ["## Method", ""] + [f"- {line}" for line in method]
    out += ["", f"Whole run: {elapsed_s / 60:.1f} min.", ""]
    path.write_text("\n".join(out))


def write_part(path: Path, name: str, machine: list[str], sections: list[Section], method: list[str]) -> None:
    """Write one benchmark's run into RESULTS.md between its own markers, after the whole
    run's figures (replacing that benchmark's earlier part, leaving the rest as it was)."""
    begin, end = f"<!-- {name}: written by python -m bench.{name} --write -->", f"<!-- /{name} -->"
    out = [begin, f"## {name}: a run of this benchmark alone", ""]
    out += ["Machine: " + "; ".join(machine), "", table(sections), ""]
    for section in sections:
        if section.notes:
            out += [f"- {n}" for n in section.notes]
    out += [f"- {line}" for line in method] + ["", end]
    text = path.read_text() if path.exists() else ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + "\n".join(out) + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(out) + "\n"
    path.write_text(text)
