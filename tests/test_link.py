"""The weak-link emulator (bench/link.py) shapes and cuts what it carries as asked.

Nothing here is timed: the link runs on a clock that stands still, and what is asserted
is what crossed it (bytes, cuts) and the waits it asked its sleep for, computed by hand.
"""

from __future__ import annotations

import random
import socket
import threading

import pytest

import bench.link as link_module
from bench.link import PROFILES, Link, Profile, Schedule, random_cuts

ANSWER = ("工单已派发给李师傅地址上海市浦东新区张江路八十八号" * 2000).encode()  # 150,000 bytes


@pytest.fixture
def server():
    """A server on loopback that answers each 10-byte request with ANSWER, then closes."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                got = b""
                while len(got) < 10:
                    part = conn.recv(10 - len(got))
                    if not part:
                        break
                    got += part
                try:
                    conn.sendall(ANSWER)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()
    listener.shutdown(socket.SHUT_RDWR)  # wakes the accept
    listener.close()
    thread.join(timeout=5)


class StillClock:
    """A clock that never moves; the link's waits are recorded instead of slept."""

    def __init__(self):
        self.waits: list[float] = []
        self.lock = threading.Lock()

    def now(self) -> float:
        return 0.0

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.waits.append(seconds)


def fetch(url: str, timeout: float | None = None) -> bytes:
    """What the link answers to a request, until it closes or resets (or ``timeout``
    seconds pass with nothing read: a request lost, not a slow one)."""
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"GET /order")
        got = b""
        while True:
            try:
                part = sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not part:
                break
            got += part
    return got


def test_a_3g_link_delivers_a_megabit_a_second_after_150_ms():
    """125,000 bytes sent at once on 3G (1 Mbit/s, 150 ms, no jitter): the last byte is due
    1 s (its transmission) + 0.15 s (the way) later; a chunk sent after the link has gone
    quiet leaves at once."""
    schedule = Schedule(PROFILES["3G"].down_bps, 0.150, 0.0, random.Random(1))
    arrivals = [schedule.arrival(0.0, 12_500) for _ in range(10)]
    assert arrivals[0] == pytest.approx(0.1 + 0.15)
    assert arrivals[-1] == pytest.approx(1.0 + 0.15)
    assert schedule.arrival(5.0, 1000) == pytest.approx(5.0 + 0.008 + 0.15)


def test_jitter_delays_but_never_reorders_the_stream():
    schedule = Schedule(1_000_000, 0.150, 0.100, random.Random(7))
    arrivals = [schedule.arrival(0.0, 100) for _ in range(200)]
    assert arrivals == sorted(arrivals)
    assert all(0.150 <= a - (i + 1) * 0.0008 <= 0.250 + 1e-9 for i, a in enumerate(arrivals))


def test_a_link_carries_everything_and_counts_it(server):
    clock = StillClock()
    profile = Profile("test", down_bps=1_200_000, up_bps=1_200_000, latency_s=0.150)
    with Link(server, profile, clock=clock.now, sleep=clock.sleep) as link:
        got = fetch(link.url)
    assert got == ANSWER
    assert (link.carried.up, link.carried.down, link.carried.connections, link.carried.cuts_made) == (10, 150_000, 1, 0)
    # On a clock that stands still the last byte of the answer waits for all 150,000 to
    # leave at 1.2 Mbit/s (1 s) and for the way (0.15 s).
    assert max(clock.waits) == pytest.approx(1.0 + 0.15)


def test_a_cut_ends_the_connection_at_the_byte_asked_and_the_next_one_goes_through(server):
    """Cut at byte 60,010 carried: the 10-byte request and the first 60,000 bytes of the answer
    arrive, then the connection is gone; the cut is spent, so a retry gets the whole answer."""
    clock = StillClock()
    with Link(server, PROFILES["edge of coverage"], cuts=[60_010], clock=clock.now, sleep=clock.sleep) as link:
        first = fetch(link.url)
        second = fetch(link.url)
    assert first == ANSWER[:60_000]
    assert second == ANSWER
    assert link.carried.cuts_made == 1
    assert (link.carried.up, link.carried.down) == (20, 210_000)
    assert link.cuts_left == []


def test_a_phone_that_connects_again_while_the_cut_is_still_ending_connections_gets_through(server, monkeypatch):
    """The phone sees its connection reset and connects again at once, while the link is
    still resetting the cut's other connections: its request goes through and the whole
    answer comes back (it used to be lost to the cut still landing, and both ends waited)."""
    clock = StillClock()
    reset_one, again, answered = link_module._shut, [], threading.Event()

    def reset_then_connect_again(sock, reset=False):
        reset_one(sock, reset=reset)
        if reset and not again:
            again.append(b"")
            again[0] = fetch(link.url, timeout=10)  # inside the cut, before it has ended the rest
            answered.set()

    monkeypatch.setattr(link_module, "_shut", reset_then_connect_again)
    with Link(server, PROFILES["edge of coverage"], cuts=[60_010], clock=clock.now, sleep=clock.sleep) as link:
        first = fetch(link.url)
        assert answered.wait(timeout=30)  # a lost request ends at fetch's own 10 s
    assert first == ANSWER[:60_000]
    assert again == [ANSWER]
    assert link.carried.cuts_made == 1


def test_the_edge_of_coverage_cuts_at_seeded_random_counts():
    with Link(("127.0.0.1", 9), PROFILES["edge of coverage"], seed=3) as first, \
            Link(("127.0.0.1", 9), PROFILES["edge of coverage"], seed=3) as again:
        assert first.cuts_left[:20] == again.cuts_left[:20]
        gaps = [b - a for a, b in zip(first.cuts_left, first.cuts_left[1:1001])]
    assert 0.8 * 262_144 < sum(gaps) / len(gaps) < 1.2 * 262_144
    assert random_cuts(20, 1000, seed=5) == sorted(set(random_cuts(20, 1000, seed=5)))
    assert all(1 <= c < 1000 for c in random_cuts(20, 1000, seed=5))


def test_the_link_reaches_only_this_machine():
    with pytest.raises(ValueError):
        Link(("10.0.0.1", 80), PROFILES["3G"])


def test_two_connections_at_once_share_the_links_rate(server):
    """Two answers of 150,000 bytes fetched at once at 1.2 Mbit/s: the link has one radio,
    so the last byte of the two is due after 300,000 bytes have left (2 s) and the way."""
    clock = StillClock()
    profile = Profile("test", down_bps=1_200_000, up_bps=1_200_000, latency_s=0.150)
    with Link(server, profile, clock=clock.now, sleep=clock.sleep) as link:
        got: list[bytes] = []
        fetchers = [threading.Thread(target=lambda: got.append(fetch(link.url))) for _ in range(2)]
        for fetcher in fetchers:
            fetcher.start()
        for fetcher in fetchers:
            fetcher.join(timeout=30)
    assert got == [ANSWER, ANSWER]
    assert max(clock.waits) == pytest.approx(2.0 + 0.15)
