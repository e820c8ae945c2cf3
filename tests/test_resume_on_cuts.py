"""An initial sync cut at any point resumes where it stopped: no page that arrived whole
is fetched again, and a page cut mid-body costs at most that page (and, with the next
page asked for on the head, the page asked ahead of it).

The app serves over real TCP on loopback behind the link emulator (bench/link.py),
which cuts every connection at a chosen byte. A first, uncut sync notes how many bytes
the link had carried when each page had arrived; then, for every page in turn, a new
replica syncs with the link cut halfway through that page's bytes, and again with it
cut exactly where the page ends. Both ways the engine reads pages are tried: asking for
the next page once the current one's head has come (the engine's transport,
``open_pull``), and once its body has (a transport with only ``pull``). After a cut the
next pages are smaller, and a long pull says how far it has come. Nothing here is timed.
"""

from __future__ import annotations

import threading

import httpx
import pytest
from werkzeug.serving import make_server

from bench.link import Link, Profile
from sync.client import Replica
from sync.errors import TransportError
from sync.pacing import Pacer
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


class WatchedHeads(HttpTransport):
    """The engine's own transport (pages asked for on their head), noting the same, and
    the page size each request asked for ("cut" where a sync failed)."""

    def __init__(self, client: httpx.Client, token: str, link: Link):
        super().__init__(client, token, attempts=1, sleep=lambda _s: None)
        self.link = link
        self.arrived: list[str | None] = []
        self.carried_after: list[int] = []
        self.limits: list[int | str] = []

    def open_pull(self, cursor, limit, *, estimate=False):
        self.limits.append(limit)
        page = super().open_pull(cursor, limit, estimate=estimate)
        read = page.answer

        def answer():
            got = read()
            self.arrived.append(cursor)
            self.carried_after.append(self.link.carried.up + self.link.carried.down)
            return got

        page.answer = answer
        return page


WAYS = [pytest.param("heads", id="next page asked on the head"), pytest.param("bodies", id="asked on the body")]


def _sync(tmp_path, name: str, address, person, cuts: list[int], way: str = "heads",
          pacer: Pacer | None = None) -> tuple[Replica, Watched | WatchedHeads, Link]:
    link = Link(address, UNSHAPED, cuts=cuts)
    link.__enter__()
    client = httpx.Client(base_url=link.url, timeout=30.0, headers={"Accept-Encoding": "zstd"})
    if way == "heads":
        watched = WatchedHeads(client, person.token, link)
    else:
        watched = Watched(HttpTransport(client, person.token, attempts=1, sleep=lambda _s: None), link)
    replica = Replica(tmp_path / f"{name}.replica", person.device_id, watched, page_size=PAGE)
    if pacer is not None:
        replica.pacer = pacer
    # The person syncs again after a failed sync. A cut fails the sync it falls in; with a
    # page asked for ahead on a second connection, the cut can leave that one dead too, and
    # a transport that never retries (attempts=1, to see each cut) fails on it once more:
    # two syncs a cut at most, and ``cuts_made`` counts the cuts themselves.
    for _ in range(2 * len(cuts) + 1):
        try:
            replica.sync()
            break
        except TransportError:
            if way == "heads":
                watched.limits.append("cut")
            continue
    client.close()
    link.close()
    return replica, watched, link


@pytest.mark.parametrize("way", WAYS)
def test_an_initial_sync_cut_in_every_page_and_at_every_page_end_fetches_no_whole_page_twice(tmp_path, live, people,
                                                                                               way):
    manager = people["manager"]
    whole, seen, _ = _sync(tmp_path, "uncut", live, manager, [], way)
    expected = whole.all("customer")
    pages = seen.carried_after
    assert len(expected) == CUSTOMERS and len(pages) == 5  # 5 + 5 + 5 + 5 + 3
    whole.close()
    starts = [0, *pages[:-1]]
    points = [(f"mid-page {k}", (start + end) // 2) for k, (start, end) in enumerate(zip(starts, pages))]
    points += [(f"end of page {k}", end) for k, end in enumerate(pages[:-1])]
    for label, cut in points:
        replica, watched, link = _sync(tmp_path, label.replace(" ", "-"), live, manager, [cut], way)
        assert link.carried.cuts_made == 1, label
        assert replica.all("customer") == expected, label
        assert sorted(watched.arrived, key=str) == sorted(seen.arrived, key=str), label  # each page whole once
        # what the cut cost: at most the page it fell in (and the new connection's request);
        # asked for on the head, the page asked ahead of a cut one may have come too, and is
        # dropped with it: pages apply in order, and the pull starts again from the last applied
        biggest = max(e - s for s, e in zip(starts, pages))
        lost_with_the_cut = 2 * biggest if way == "heads" else biggest
        assert link.carried.up + link.carried.down <= pages[-1] + lost_with_the_cut, label
        replica.close()


def test_after_a_cut_the_engine_asks_for_pages_half_as_big(tmp_path, live, people):
    """Pages of 8 customers; the link is cut in the middle of the second page: the sync the
    person starts again asks for 4, and every customer arrives."""
    manager = people["manager"]
    whole, seen, _ = _sync(tmp_path, "uncut-8", live, manager, [], pacer=Pacer(8, least=2))
    whole.close()
    assert seen.limits == [8, 8, 8]  # 8 + 8 + 7
    middle_of_second = (seen.carried_after[0] + seen.carried_after[1]) // 2
    replica, watched, link = _sync(tmp_path, "cut-8", live, manager, [middle_of_second], pacer=Pacer(8, least=2))
    assert link.carried.cuts_made == 1
    after_cut = watched.limits[watched.limits.index("cut") + 1]
    assert after_cut == 4
    assert len(replica.all("customer")) == CUSTOMERS
    replica.close()


def test_a_long_pull_reports_rows_of_the_servers_estimate_pages_and_bytes(tmp_path, live, people):
    manager = people["manager"]
    link = Link(live, UNSHAPED)
    heard = []
    with link, httpx.Client(base_url=link.url, timeout=30.0, headers={"Accept-Encoding": "zstd"}) as client:
        replica = Replica(tmp_path / "progress.replica", manager.device_id, HttpTransport(client, manager.token),
                          page_size=PAGE, on_progress=lambda p: heard.append((p.rows, p.estimated, p.pages, p.bytes)))
        replica.sync()
        replica.close()
    assert [(rows, estimated, pages) for rows, estimated, pages, _ in heard] == [
        (5, CUSTOMERS, 1), (10, CUSTOMERS, 2), (15, CUSTOMERS, 3), (20, CUSTOMERS, 4), (23, CUSTOMERS, 5)]
    sizes = [b for *_, b in heard]
    assert sizes == sorted(sizes) and sizes[0] > 0
    assert replica.progress.fraction == 1.0
