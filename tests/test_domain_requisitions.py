"""Requisitions drive issues (server/domain/requisitions.py): the lines a requisition may
hold, how far an approval lets the depot issue, and what the depot's view of its vans
says was asked, approved, issued, left and over.

王伟 (wang) asks for parts for his van, the manager approves, the depot keeper issues.
"""

from __future__ import annotations

import pytest

from server.domain.requisitions import check_lines

LINES_MESSAGE = 'lines are a list of {"part_id": "...", "qty": a positive number}'


@pytest.mark.parametrize(("lines", "why"), [
    (None, None),  # none yet: a requisition may be started before its lines
    ([], None),
    ([{"part_id": "part-belt", "qty": 2}], None),
    ([{"part_id": "part-belt", "qty": 0.5}, {"part_id": "part-fuse", "qty": 10}], None),
    ({"part_id": "part-belt", "qty": 2}, LINES_MESSAGE),  # one line, not a list of them
    ("传动皮带 2 条", LINES_MESSAGE),
    (["part-belt"], LINES_MESSAGE),
    ([{"qty": 2}], LINES_MESSAGE),
    ([{"part_id": "", "qty": 2}], LINES_MESSAGE),
    ([{"part_id": 17, "qty": 2}], LINES_MESSAGE),
    ([{"part_id": "part-belt"}], LINES_MESSAGE),
    ([{"part_id": "part-belt", "qty": "2"}], LINES_MESSAGE),
    ([{"part_id": "part-belt", "qty": True}], LINES_MESSAGE),  # a tick box is not a quantity
    ([{"part_id": "part-belt", "qty": 0}], LINES_MESSAGE),
    ([{"part_id": "part-belt", "qty": -1.0}], LINES_MESSAGE),
    ([{"part_id": "part-belt", "qty": 2}, {"part_id": "part-fuse", "qty": 0}], LINES_MESSAGE),  # the second bad
])
def test_a_requisitions_lines_are_parts_each_with_a_positive_quantity(lines, why):
    assert check_lines(lines) == why
