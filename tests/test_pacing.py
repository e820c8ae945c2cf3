"""The next pull page's size follows the link (sync.pacing.Pacer), from the times and
cuts it is told: nothing here reads a clock."""

from __future__ import annotations

import pytest

from sync.pacing import Pacer, Progress


def test_a_good_link_reaches_the_largest_pages_after_a_first_small_one_and_keeps_them():
    pacer = Pacer(5000)
    sizes = [pacer.size]
    for _ in range(6):
        pacer.page(pacer.size, 0.4)
        sizes.append(pacer.size)
    assert sizes == [1000, 2000, 4000, 5000, 5000, 5000, 5000]


def test_a_cut_halves_the_next_page_and_a_second_cut_halves_it_again():
    pacer = Pacer(5000, size=5000)
    pacer.cut()
    assert pacer.size == 2500
    pacer.page(2500, 1.5, cuts=1)  # a page asked again once after a cut
    assert pacer.size == 1250


def test_a_slow_page_makes_the_next_one_what_the_link_carries_in_two_seconds():
    """On the edge of coverage 5,000 rows took 7 s: the next page is 5,000 × 2 / 7 rows."""
    pacer = Pacer(5000, size=5000)
    pacer.page(5000, 7.0)
    assert pacer.size == 1428


def test_pages_grow_back_after_fast_whole_pages_but_never_past_the_replicas_size():
    pacer = Pacer(5000, size=500)
    sizes = []
    for _ in range(5):
        pacer.page(pacer.size, 0.2)
        sizes.append(pacer.size)
    assert sizes == [1000, 2000, 4000, 5000, 5000]


def test_a_short_last_page_says_nothing_about_growing():
    pacer = Pacer(5000, size=1000)
    pacer.page(30, 0.1)
    assert pacer.size == 1000


@pytest.mark.parametrize("most, least", [(5000, 250), (5, 250)])
def test_no_page_is_asked_smaller_than_the_least_or_the_replicas_own_size(most, least):
    pacer = Pacer(most, least=least)
    for _ in range(20):
        pacer.cut()
    assert pacer.size == min(most, least)
    pacer.page(1, 100.0)
    assert pacer.size == min(most, least)


def test_progress_is_a_fraction_of_the_estimate_once_the_server_gave_one():
    assert Progress(rows=10).fraction is None
    assert Progress(rows=250, estimated=1000).fraction == 0.25
    assert Progress(rows=1010, estimated=1000).fraction == 1.0
