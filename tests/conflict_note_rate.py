"""How many conflict notes the property test's day makes per 1,000 mutations pushed.

Runs the property test's state machine (``tests/test_property_sync.py``) with a fixed
Hypothesis seed and, after each example has settled, counts the ``conflict`` rows the
server holds against the mutations it committed (yesterday's, made before the day
starts, left out of both). Notes are broken down by rule and field, and by whether the
value that lost had been written by the same person whose write beat it.

    .venv/bin/python -m tests.conflict_note_rate [--seed N] [--examples N]

A measure for docs/decisions.md, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import collections

import sqlalchemy as sa
from hypothesis import Phase, seed, settings
from hypothesis.stateful import run_state_machine_as_test

from server.tables import devices
from sync.rules.lww import node_of
from tests import test_property_sync as prop


class Tally:
    def __init__(self) -> None:
        self.mutations = 0
        self.notes = 0
        self.examples = 0
        self.kinds: collections.Counter[tuple[str, str, str]] = collections.Counter()


def _person_of(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {device_id: user_id for device_id, user_id in conn.execute(sa.select(devices.c.id, devices.c.user_id))}


def counting_machine(tally: Tally, skip_mutations: set[str]) -> type:
    class Counted(prop.FieldWork):
        def settle(self) -> None:
            super().settle()
            world = self.world()
            person = _person_of(self.server.engine)
            ids = {a.mutation.mutation_id for a in world.acknowledged} - skip_mutations
            tally.mutations += len(ids)
            tally.examples += 1
            for note in world.server.conflicts:
                if note.get("mutation_id") in skip_mutations:
                    continue
                tally.notes += 1
                kept, lost = note.get("kept_hlc"), note.get("lost_hlc")
                kept_by = person.get(node_of(kept)) if kept else None
                lost_by = person.get(node_of(lost)) if lost else None
                if not kept_by or kept_by != lost_by:
                    own = "two people (or the server)"
                elif note["winner"] == "incoming":
                    own = "same person: a later write beat an earlier" if kept > lost else "same person: out of order"
                else:
                    own = "same person: a write lost to the stored one"
                tally.kinds[(note["rule"], f"{note['entity']}.{note['field']}", own)] += 1

    return Counted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--examples", type=int, default=100)
    args = parser.parse_args()
    morning = prop.start_of_day()
    yesterday = {m["mutation_id"] for changeset in morning.sent.values() for m in changeset["mutations"]}
    tally = Tally()
    machine = seed(args.seed)(counting_machine(tally, yesterday))
    chosen = settings(prop.machine_settings(args.examples), database=None, phases=[Phase.generate])
    run_state_machine_as_test(machine, settings=chosen)
    rate = 1000 * tally.notes / max(tally.mutations, 1)
    print(f"seed {args.seed}: {tally.examples} settled examples, {tally.mutations} mutations pushed, "
          f"{tally.notes} conflict notes: {rate:.1f} per 1,000 mutations")
    for (rule, where, own), count in tally.kinds.most_common():
        print(f"  {count:6}  {rule:12} {where:32} {own}")


if __name__ == "__main__":
    main()
