"""Limits on what one device may send: each answered with its own error, never a 500.

* request body: ``MAX_CONTENT_LENGTH`` (8 MiB) — 413 ``too_large`` before it is read;
* mutations per change-set: ``sync.changeset.MAX_MUTATIONS`` (1,000) — 422 ``invalid``,
  nothing applied;
* pull page: ``server.pull.MAX_PAGE`` (5,000) — 422 ``invalid``;
* blob: ``BLOB_MAX_BYTES`` (25 MiB, ``server.blobs.DEFAULT_MAX_BYTES``) — 413
  ``too_large``; bigger than a request body, it comes in pieces;
* blobs per device: ``BLOB_QUOTA_BYTES`` (10 GiB) — 507 ``quota_exceeded``;
* text field: its ``Field.max_length`` — that mutation ``rejected`` (``invalid_value``);
* json field: ``sync.changeset.MAX_JSON_BYTES`` (64 KiB as compact JSON) — that mutation
  ``rejected`` (``too_large``); nested past ``MAX_JSON_DEPTH`` (32) — ``invalid_value``;
* a number in a query parameter: at most 19 digits (:mod:`server.params`) — 422 ``invalid``;
* requests per device a minute: ``RATE_LIMIT_PER_MINUTE`` (600; 0 turns it off) — 429
  ``rate_limited`` with ``Retry-After``.

A refused mutation does not stop the rest of its change-set; a refused request changes
nothing and the device sends it again later (the transport retries 429 with backoff). A
refused image is parked on the device, and everything else still syncs.
"""

from __future__ import annotations

import math
import threading
from typing import Callable

from flask import Flask

from sync.errors import RateLimitedError

__all__ = ["DEFAULT_RATE_PER_MINUTE", "RateLimiter", "init_app", "limit_rate"]

#: Generous: a device syncing flat out (push, then pull pages) stays well below it.
DEFAULT_RATE_PER_MINUTE = 600
_WINDOW_MS = 60_000
_EXTENSION = "fieldsync.rate_limiter"


class RateLimiter:
    """Requests per device over a sliding minute, counted in this process.

    A sliding-window counter: this fixed minute's count plus the previous minute's,
    weighted by the share of it the sliding window still covers. Two counters per active
    device whatever the rate; the estimate assumes the previous minute's requests were
    spread evenly. With several server processes each counts its own requests, so a
    device spread over N workers may make up to N times the limit (docs/decisions.md).
    """

    def __init__(self, per_minute: int, now_ms: Callable[[], int]):
        self.per_minute = per_minute
        self._now_ms = now_ms
        self._lock = threading.Lock()
        #: device id → (fixed window number, requests in it, requests in the one before)
        self._counts: dict[str, tuple[int, int, int]] = {}
        self._swept = 0

    def hit(self, device_id: str) -> None:
        """Count one request, or raise ``RateLimitedError`` (and count nothing)."""
        if self.per_minute <= 0:
            return
        window, into = divmod(self._now_ms(), _WINDOW_MS)
        with self._lock:
            self._sweep(window)
            start, current, previous = self._counts.get(device_id, (window, 0, 0))
            if start != window:
                current, previous = 0, current if start == window - 1 else 0
            used = previous * (_WINDOW_MS - into) / _WINDOW_MS + current
            if used + 1 > self.per_minute:
                self._counts[device_id] = (window, current, previous)
                retry = max(1, math.ceil(self._wait_ms(into, current, previous) / 1000))
                raise RateLimitedError(
                    f"more than {self.per_minute} requests a minute from this device: retry in {retry} s",
                    details={"limit": self.per_minute, "retry_after": retry},
                )
            self._counts[device_id] = (window, current + 1, previous)

    def _wait_ms(self, into: int, current: int, previous: int) -> float:
        """How long until one more request fits (the window slides over old requests)."""
        room = self.per_minute - 1
        if current <= room and previous:
            return max(0.0, (_WINDOW_MS - into) - (room - current) * _WINDOW_MS / previous)
        return (_WINDOW_MS - into) + max(0.0, _WINDOW_MS * (1 - room / current))

    def _sweep(self, window: int) -> None:
        """Forget devices quiet for two minutes, once a minute."""
        if window == self._swept:
            return
        self._swept = window
        self._counts = {k: v for k, v in self._counts.items() if v[0] >= window - 1}


def init_app(app: Flask) -> None:
    """Bind the rate limiter; ``RATE_LIMIT_PER_MINUTE`` sets it (0 turns it off)."""
    app.config.setdefault("RATE_LIMIT_PER_MINUTE", DEFAULT_RATE_PER_MINUTE)
    per_minute = int(app.config["RATE_LIMIT_PER_MINUTE"])
    app.extensions[_EXTENSION] = RateLimiter(per_minute, lambda: app.extensions["fieldsync"].now_ms())


def limit_rate(app: Flask, device_id: str) -> None:
    """Count a device's request; over the limit, answer 429 with ``Retry-After``."""
    app.extensions[_EXTENSION].hit(device_id)  # RateLimitedError: server.errors adds Retry-After
