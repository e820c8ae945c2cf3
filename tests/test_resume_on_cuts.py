"""An initial sync cut at any point resumes where it stopped: no page that arrived whole
is fetched again, and a page cut mid-body costs at most that page.

The app serves over real TCP on loopback behind the link emulator (bench/link.py),
which cuts every connection at a chosen byte. A first, uncut sync notes how many bytes
the link had carried when each page had arrived; then, for every page in turn, a new
replica syncs with the link cut halfway through that page's bytes, and again with it
cut exactly where the page ends. Nothing here is timed.
"""

from __future__ import annotations

import threading

import httpx
import pytest
from werkzeug.serving import make_server

from bench.link import Link, Profile
from sync.client import Replica
from sync.errors import TransportError
from sync.transport import HttpTransport

CUSTOMERS = 23
PAGE = 5
#: loopback as it is: the cuts are what is tested here
UNSHAPED = Profile("loopback", down_bps=0, up_bps=0, latency_s=0.0)


@pytest.fixture
def live(app, people, replica_for):
    """The app on a loopback port, with 23 customers the desk recorded."""
    desk = replica_for(people["desk"])
    for k in range(CUSTOMERS):
        desk.insert("customer", name=f"上海浦东新区张江物业第{k}号楼", zone="ring2", phone="021-5080-1234",
                    address="上海市浦东新区张江路88号" * 3)
    desk.sync()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address
    server.shutdown()
    thread.join(timeout=10)


class Watched:
    """The device's transport, noting each page that arrived whole (its cursor) and the
    bytes the link had carried then."""

    def __init__(self, inner: HttpTransport, link: Link):
        self.inner, self.link = inner, link
        self.arrived: list[str | None] = []
        self.carried_after: list[int] = []

    def push(self, changeset: dict) -> dict:
        return self.inner.push(changeset)

    def pull(self, cursor, limit):
        answer = self.inner.pull(cursor, limit)
        self.arrived.append(cursor)
        self.carried_after.append(self.link.carried.up + self.link.carried.down)
        return answer


def _sync(tmp_path, name: str, address, person, cuts: list[int]) -> tuple[Replica, Watched, Link]:
    link = Link(address, UNSHAPED, cuts=cuts)
    link.__enter__()
    client = httpx.Client(base_url=link.url, timeout=30.0, headers={"Accept-Encoding": "zstd"})
    watched = Watched(HttpTransport(client, person.token, attempts=1, sleep=lambda _s: None), link)
    replica = Replica(tmp_path / f"{name}.replica", person.device_id, watched, page_size=PAGE)
    for _ in range(len(cuts) + 1):  # each cut fails at most one sync; the person syncs again
        try:
            replica.sync()
            break
        except TransportError:
            continue
    client.close()
    link.close()
    return replica, watched, link


def test_an_initial_sync_cut_in_every_page_and_at_every_page_end_fetches_no_whole_page_twice(tmp_path, live, people):
    manager = people["manager"]
    whole, seen, _ = _sync(tmp_path, "uncut", live, manager, [])
    expected = whole.all("customer")
    pages = seen.carried_after
    assert len(expected) == CUSTOMERS and len(pages) == 5  # 5 + 5 + 5 + 5 + 3
    whole.close()
    starts = [0, *pages[:-1]]
    points = [(f"mid-page {k}", (start + end) // 2) for k, (start, end) in enumerate(zip(starts, pages))]
    points += [(f"end of page {k}", end) for k, end in enumerate(pages[:-1])]
    for label, cut in points:
        replica, watched, link = _sync(tmp_path, label.replace(" ", "-"), live, manager, [cut])
        assert link.carried.cuts_made == 1, label
        assert replica.all("customer") == expected, label
        assert sorted(watched.arrived, key=str) == sorted(seen.arrived, key=str), label  # each page whole once
        # what the cut cost: at most the page it fell in (and the new connection's request)
        assert link.carried.up + link.carried.down <= pages[-1] + max(e - s for s, e in zip(starts, pages)), label
        replica.close()
