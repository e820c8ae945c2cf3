"""Python's cyclic garbage collector held off while a pull runs on the device.

Decoding a page of 1,000 rows allocates a few thousand dicts, all freed by reference
counting once the page is applied; left on, the collector runs many times per page and
scans them each time: it took 40% of decoding and building parameters in an initial
sync (``bench/profiles/pull_device.txt``). Paused, it runs after the pull over what
survived (little: a pull makes almost no reference cycles).

The collector is per process and an app may sync on several threads: it stays paused
while any pull is in progress and resumes when the last one ends — unless it was off
to begin with, which is then left as it was.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

__all__ = ["paused"]

_lock = threading.Lock()
_inside = 0
_resume = False


@contextmanager
def paused() -> Iterator[None]:
    global _inside, _resume
    with _lock:
        if _inside == 0:
            _resume = gc.isenabled()
            gc.disable()
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _resume:
                gc.enable()
