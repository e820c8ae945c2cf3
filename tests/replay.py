"""Replaying a run the property test found, step by step, on every test run.

A shrunk counterexample is a handful of steps of :class:`tests.test_property_sync.FieldWork`;
Hypothesis's own record of it (its example database, or ``@reproduce_failure``) is tied
to the action table and the Hypothesis version, and a seeded search finds it only by
luck. So the steps are written down by name — who works, which action, which row — and
:func:`replay` runs them on the same machine, with the same invariants after every sync
and, once everyone has synced until quiet, all of them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from tests.field_day import INDOOR_WORKERS

__all__ = ["Row", "Scripted", "Step", "Found", "replay"]


@dataclass(frozen=True)
class Row:
    """A choice among the rows a device offers: the one whose fields hold ``values``."""

    entity: str
    values: dict


class Scripted:
    """Stands in for Hypothesis's ``data`` in an action: each draw takes the next answer.

    An answer is a value (a choice from a list is matched by value, or an action by its
    name) or a :class:`Row`, looked up on the replicas of ``machine``.
    """

    def __init__(self, machine, answers: tuple):
        self.machine = machine
        self.answers = list(answers)

    def draw(self, strategy, label: str | None = None) -> Any:
        if not self.answers:
            raise AssertionError(f"the script has no answer left for {label or strategy!r}")
        answer = self.answers.pop(0)
        choices = getattr(strategy, "elements", None)  # st.sampled_from's list
        if choices is None:
            return answer
        for element in choices:
            if self._matches(element, answer):
                return element
        raise AssertionError(f"{answer!r} is not among the choices for {label}: {list(choices)!r}")

    def _matches(self, element: Any, answer: Any) -> bool:
        if isinstance(answer, Row):
            for device in self.machine.devices.values():
                row = device.replica.get(answer.entity, element)
                if row is not None:
                    return all(row.get(k) == v for k, v in answer.values.items())
            return False
        return getattr(element, "name", element) == answer


@dataclass(frozen=True)
class Step:
    """One rule of the machine: ``work`` (someone works: who, then each draw of the
    action) or ``sync`` (``who`` syncs, or only pulls)."""

    rule: str
    who: str
    answers: tuple = ()
    pull_only: bool = False


@dataclass(frozen=True)
class Found:
    """A run the search found wrong, with the start of its day."""

    name: str
    steps: tuple[Step, ...]
    #: the desk's tickets of the morning, by assignee (None: left for dispatch)
    assignees: tuple[str | None, ...] = ("u-wang",)
    signal: str = "good"
    network_seed: int = 0


def replay(machine_class, found: Found) -> None:
    """Run ``found`` on a fresh machine: the morning, its steps, then the settled checks."""
    machine = machine_class()
    try:
        machine.morning_dispatch(rng=random.Random(found.network_seed), assignees=list(found.assignees),
                                 signal=found.signal)
        for step in found.steps:
            if step.rule == "sync":
                machine.sync(name=step.who, pull_only=step.pull_only)
                continue
            rule = machine.indoor_work if step.who in INDOOR_WORKERS else machine.field_work
            data = Scripted(machine, (step.who, *step.answers))
            rule(data=data)
            # an action that found nothing to work on draws less: the step did not happen
            assert not data.answers, f"{step} left {data.answers!r} undrawn"
    finally:
        machine.teardown()
