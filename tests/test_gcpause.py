"""The collector is paused while any push runs and resumes when the last one ends;
a collector already off is left off (sync/gcpause.py: the device's pulls share it)."""

from __future__ import annotations

import gc
import threading

import pytest

from sync import gcpause


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_pushes_on_two_threads_keep_it_paused_until_both_end(collector_on):
    first_in, second_done = threading.Event(), threading.Event()

    def second() -> None:
        with gcpause.paused():
            first_in.wait()
        second_done.set()

    with gcpause.paused():
        thread = threading.Thread(target=second)
        thread.start()
        first_in.set()
        assert second_done.wait(60), "the second push never ended"
        assert not gc.isenabled()  # the first push still runs
    thread.join()
    assert gc.isenabled()


def test_it_resumes_after_a_push_that_raised(collector_on):
    with pytest.raises(RuntimeError), gcpause.paused():
        raise RuntimeError("the push failed")
    assert gc.isenabled()


def test_a_collector_switched_off_stays_off(collector_on):
    gc.disable()
    with gcpause.paused():
        pass
    assert not gc.isenabled()
