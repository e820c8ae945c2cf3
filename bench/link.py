"""A weak mobile link between a device and a server, for benchmarks and tests.

An engineer syncs from a basement or a mountain road: there a sync's time is bytes and
round trips, not CPU, and the connection is cut mid-way. :class:`Link` is a TCP proxy
on 127.0.0.1 (it never listens beyond loopback) that puts such a link in front of a
server: each direction has its own bandwidth, a one-way latency with jitter, and the
link cuts every open connection when the bytes it has carried reach a chosen count
(cuts at random counts come from a seeded generator, so a run can be repeated).

Bytes leave at the link's rate and arrive ``latency`` later, in order: a reader thread
stamps each chunk with its arrival time and a writer thread delivers it then, so
latency delays the stream without lowering its throughput (a pipe, not a stop-and-wait).
The connections open at once share each direction's rate, as they share one radio: a
chunk leaves after every chunk read before it, whichever connection it is on.
The clock and the sleep are injected: a test runs the link on a fake clock and asserts
what crossed it, never how long it took.
"""

from __future__ import annotations

import bisect
import queue
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Profile", "PROFILES", "Link", "Schedule", "random_cuts"]

_CHUNK = 16384
_CLOSE = object()


@dataclass(frozen=True)
class Profile:
    """A link's shape: rates in bits per second (0: unlimited), delays in seconds one way,
    and the mean number of bytes it carries between two cuts (0: it never cuts)."""

    name: str
    down_bps: int
    up_bps: int
    latency_s: float
    jitter_s: float = 0.0
    mean_bytes_between_cuts: int = 0


#: Field conditions: a good 4G cell, 3G on one bar (1 Mbit/s, 150 ms one way), and the
#: edge of coverage (128 kbit/s, 400 ms one way, cut on average every 256 KB carried).
PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("good 4G", down_bps=20_000_000, up_bps=5_000_000, latency_s=0.035, jitter_s=0.010),
    Profile("3G", down_bps=1_000_000, up_bps=1_000_000, latency_s=0.150, jitter_s=0.020),
    Profile("edge of coverage", down_bps=128_000, up_bps=64_000, latency_s=0.400, jitter_s=0.100,
            mean_bytes_between_cuts=262_144),
)}


def random_cuts(count: int, total: int, seed: int) -> list[int]:
    """``count`` distinct byte counts in ``[1, total)`` at which to cut, ascending, from ``seed``."""
    return sorted(random.Random(seed).sample(range(1, total), count))


class Schedule:
    """When each chunk of one direction arrives: after the chunks before it have left at
    the link's rate, plus the latency and a jitter that never reorders the stream."""

    def __init__(self, bps: int, latency_s: float, jitter_s: float, rng: random.Random):
        self.bps = bps
        self.latency_s = latency_s
        self.jitter_s = jitter_s
        self.rng = rng
        self._free_at = 0.0
        self._last_arrival = 0.0

    def arrival(self, now: float, size: int) -> float:
        leaves = max(now, self._free_at)
        self._free_at = leaves + (size * 8 / self.bps if self.bps else 0.0)
        jitter = self.rng.uniform(0.0, self.jitter_s) if self.jitter_s else 0.0
        self._last_arrival = max(self._last_arrival, self._free_at + self.latency_s + jitter)
        return self._last_arrival


@dataclass
class _Carried:
    """What the link carried, over every connection (shared by the pipes under a lock)."""

    up: int = 0
    down: int = 0
    connections: int = 0
    cuts_made: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class Link:
    """A proxy on 127.0.0.1 that shapes the traffic to ``target`` (``host, port``) like ``profile``.

    ``cuts`` are counts of bytes carried (both ways, over every connection since the link
    opened) at which every open connection is cut: the byte that reaches the count is the
    last one delivered. Without ``cuts``, a profile with ``mean_bytes_between_cuts`` cuts
    at random counts that far apart on average (seeded by ``seed``).
    """

    def __init__(self, target: tuple[str, int], profile: Profile, *, cuts: list[int] | None = None,
                 seed: int = 20, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if target[0] not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the link only reaches servers on this machine")
        self.target = target
        self.profile = profile
        self.rng = random.Random(seed)
        self._cuts = sorted(cuts) if cuts is not None else self._random_cuts()
        #: a cut is on its way: what any connection reads until it lands is lost, not carried
        self._cutting = False
        #: how many cuts have landed: a connection opened before the last one is dead, and
        #: what it still reads is lost too
        self._generation = 0
        self._schedules = {up: Schedule(profile.up_bps if up else profile.down_bps, profile.latency_s,
                                        profile.jitter_s, random.Random(self.rng.random()))
                           for up in (True, False)}
        self._clock = clock
        self._sleep = sleep
        self.carried = _Carried()
        self._open: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stopped = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, name="link-accept", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    @property
    def cuts_left(self) -> list[int]:
        return list(self._cuts)

    def __enter__(self) -> "Link":
        self._acceptor.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stopped.set()
        _shut(self._listener)
        with self.carried.lock:
            for sock in list(self._open):
                _shut(sock)
            self._open.clear()
        self._acceptor.join(timeout=5)

    def _random_cuts(self) -> list[int]:
        mean = self.profile.mean_bytes_between_cuts
        if not mean:
            return []
        cuts, at = [], 0
        while at < 1 << 34:  # far more than any sync carries
            at += max(1, int(self.rng.expovariate(1 / mean)))
            cuts.append(at)
        return cuts

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                near, _ = self._listener.accept()
            except OSError:
                return
            try:
                far = socket.create_connection(self.target)
            except OSError:
                _shut(near)
                continue
            for sock in (near, far):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.carried.lock:
                self.carried.connections += 1
                self._open.update((near, far))
                generation = self._generation
            ends = _Ends(self, near, far)
            for source, sink, up in ((near, far, True), (far, near, False)):
                chunks: queue.SimpleQueue = queue.SimpleQueue()
                threading.Thread(target=self._read, args=(source, sink, chunks, up, generation), daemon=True).start()
                threading.Thread(target=self._deliver, args=(source, sink, chunks, ends), daemon=True).start()

    def _read(self, source: socket.socket, sink: socket.socket, chunks: queue.SimpleQueue, up: bool,
              generation: int) -> None:
        """Stamp what ``source`` sends with its arrival time; at a cut, keep only the bytes
        up to it and cut every open connection once they are delivered."""
        while True:
            try:
                data = source.recv(_CHUNK)
            except OSError:
                data = b""
            if not data:
                chunks.put((0.0, _CLOSE, False))
                return
            data, arrives, cut = self._count(data, up, generation)
            if data:
                chunks.put((arrives, data, False))
            if cut:
                chunks.put((0.0, _CLOSE, True))
                return

    def _count(self, data: bytes, up: bool, generation: int) -> tuple[bytes, float, bool]:
        """The part of ``data`` the link carries, when it arrives, and whether a cut follows
        it. Counted and scheduled under one lock, so the count follows the order of arrival
        in each direction; while a cut is on its way, and on a connection it ended, nothing
        more is carried."""
        with self.carried.lock:
            if self._cutting or generation != self._generation:
                return b"", 0.0, False
            carried = self.carried.up + self.carried.down
            cut = bool(self._cuts) and carried + len(data) >= self._cuts[0]
            if cut:
                data = data[: self._cuts[0] - carried]
                del self._cuts[: bisect.bisect_right(self._cuts, carried + len(data))]
                self.carried.cuts_made += 1
                self._cutting = True
            if up:
                self.carried.up += len(data)
            else:
                self.carried.down += len(data)
            arrives = self._schedules[up].arrival(self._clock(), len(data)) if data else 0.0
        return data, arrives, cut

    def _deliver(self, source: socket.socket, sink: socket.socket, chunks: queue.SimpleQueue,
                 ends: "_Ends") -> None:
        while True:
            arrives, data, cut = chunks.get()
            if data is _CLOSE:
                if cut:
                    self._cut_all()
                else:
                    _half_close(sink)
                    ends.one_done()
                return
            wait = arrives - self._clock()
            if wait > 0:
                self._sleep(wait)
            try:
                sink.sendall(data)
            except OSError:
                _shut(source)
                ends.one_done()
                return

    def _forget(self, *socks: socket.socket) -> None:
        with self.carried.lock:
            self._open.difference_update(socks)
        for sock in socks:
            _shut(sock)

    def _cut_all(self) -> None:
        """The signal is gone: every connection through the link ends at once (a reset).

        The link carries again from the moment the connections are taken to be ended,
        before they are: a client that sees its reset may connect again at once, and its
        request must go through (it had been lost to a cut still landing, and both ends
        waited for ever)."""
        with self.carried.lock:
            dropped = list(self._open)
            self._open.clear()
            self._generation += 1
            self._cutting = False
        for sock in dropped:
            _shut(sock, reset=True)


class _Ends:
    """A connection's two sockets close once both directions have ended."""

    def __init__(self, link: Link, near: socket.socket, far: socket.socket):
        self.link = link
        self.socks = (near, far)
        self.left = 2
        self.lock = threading.Lock()

    def one_done(self) -> None:
        with self.lock:
            self.left -= 1
            last = self.left == 0
        if last:
            self.link._forget(*self.socks)


def _half_close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def _shut(sock: socket.socket, reset: bool = False) -> None:
    """Close ``sock`` and wake the thread blocked reading it; ``reset``: abort, as a lost signal does."""
    try:
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()

