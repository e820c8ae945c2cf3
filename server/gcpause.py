"""Python's cyclic garbage collector held off while a push is applied.

A push of 500 mutations allocates a few hundred thousand short-lived dicts, rows and
clocks, all freed by reference counting when it ends. Left on, the collector runs
twenty times during one push and scans those objects, and the whole process heap on
every full collection: about a quarter of the push's CPU time in
``bench/profiles/push.txt``. Paused, it runs after the push instead, over what
survived (little: a push makes almost no reference cycles).

The collector is per process and requests run on threads: it stays paused while any
push is in progress and resumes when the last one ends — unless it was off to begin
with, which is then left as it was.
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
