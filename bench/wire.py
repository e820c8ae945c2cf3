"""HTTP clients that count what crosses the wire.

httpx decodes a compressed body above its transport, so a transport wrapper sees the
bytes as they travelled. What is counted: request and status lines, headers and
bodies, both ways; not TCP/IP framing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import httpx

__all__ = ["Counter", "counting_client"]


@dataclass
class Counter:
    """Shared by every client of a run (the fleet's 200 threads): counts under a lock."""

    requests: int = 0
    sent: int = 0
    received: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, *, requests: int = 0, sent: int = 0, received: int = 0) -> None:
        with self.lock:
            self.requests += requests
            self.sent += sent
            self.received += received

    @property
    def total(self) -> int:
        return self.sent + self.received


class _CountingStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, counter: Counter):
        self.inner = inner
        self.counter = counter

    def __iter__(self):
        for chunk in self.inner:
            self.counter.add(received=len(chunk))
            yield chunk

    def close(self) -> None:
        self.inner.close()


class _CountingTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, counter: Counter):
        self.inner = inner
        self.counter = counter

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        head = len(request.method) + len(request.url.raw_path) + 12 + _headers(request.headers.raw)
        self.counter.add(requests=1, sent=head + len(request.content))
        response = self.inner.handle_request(request)
        self.counter.add(received=17 + _headers(response.headers.raw))
        response.stream = _CountingStream(response.stream, self.counter)
        return response

    def close(self) -> None:
        self.inner.close()


def _headers(raw: list[tuple[bytes, bytes]]) -> int:
    return sum(len(k) + len(v) + 4 for k, v in raw) + 2


def counting_client(base_url: str, *, compressed: bool, accept_encoding: str | None = None,
                    counter: Counter | None = None, timeout: float = 60.0) -> tuple[httpx.Client, Counter]:
    """An ``httpx.Client`` that asks for gzip (or for no encoding, or for ``accept_encoding``
    when given) and counts the bytes."""
    counter = counter or Counter()
    client = httpx.Client(
        base_url=base_url,
        transport=_CountingTransport(httpx.HTTPTransport(), counter),
        headers={"Accept-Encoding": accept_encoding or ("gzip" if compressed else "identity")},
        timeout=timeout,
    )
    return client, counter
