"""Python's cyclic garbage collector held off during bulk work: a pull applied on the
device, a push applied on the server.

Both allocate hundreds of thousands of short-lived dicts, rows and clocks, all freed by
reference counting when the work ends. Left on, the collector runs many times during one
page or change-set and scans them each time (and the whole heap on every full
collection): 40% of decoding and building parameters in an initial sync
(``bench/profiles/pull_device.txt``), about a quarter of a push's CPU time
(``bench/profiles/push.txt``). Paused, it runs afterwards over what survived (little:
neither makes reference cycles worth the name).

The collector is per process and both the device's app and the server run work on
several threads: it stays paused while any such work is in progress and resumes when the
last one ends — unless it was off to begin with, which is then left as it was.
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
