"""Benchmark 7: syncs on a weak link (bench/link.py), where time is bytes and round trips.

A new replica syncs the engineer's scope through each field profile (seconds, bytes,
requests); then, on 3G, a working sync — one new row to push, one of another device to
pull — is timed and its requests counted, by the engine as it is (the push carries
the first pull page back) and as before (push, then pull). On 3G the initial sync is
also compared with the time its bytes alone need at the link's rate. Last, an initial
sync on the edge of coverage is cut 20 times at seeded random points of the bytes an
uncut one carried: it must complete, carrying at most 1.2 times the uncut sync's bytes.
"""

from __future__ import annotations

from dataclasses import replace

from server.db import create_schema, make_engine
from sync.client import Replica
from sync.errors import TransportError
from sync.transport import HttpTransport

from . import dataset, load, servers
from .initial_sync import BEST, ENGINEER
from .link import PROFILES, Link, random_cuts
from .report import Row, Section
from .stats import median, stopwatch
from .wire import counting_client

__all__ = ["run"]

#: The initial sync on each of these (the edge of coverage's two minutes and more are
#: left to a run that asks for them: ``python -m bench.weak_link``).
INITIAL_PROFILES = ("good 4G", "3G")
TARGET_3G = 1.25
CUTS = 20
CUT_SEED = 20
TARGET_CUT_BYTES = 1.2


class PlainCalls:
    """The engine's transport without the one-round-trip push (what a sync did before):
    the engine sees no ``push_and_pull`` on this class and pushes, then pulls."""

    def __init__(self, inner: HttpTransport):
        self.inner = inner

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def run(runs: int, profiles: tuple[str, ...] = INITIAL_PROFILES) -> list[Section]:
    data = dataset.build(dataset.ENGINEER_SCOPE, ENGINEER)
    with servers.sqlite_database("weak_link") as url:
        engine = make_engine(url)
        create_schema(engine)
        load.add_people(engine, [ENGINEER])
        devices = iter(load.add_devices(engine, ENGINEER, len(profiles) * runs + 2 + 2 * runs + 2))
        load.load_dataset(engine, data)
        engine.dispose()
        with servers.fieldsync_server(url, workers=2) as server:
            port = int(server.url.rsplit(":", 1)[1])
            initial = {name: [_initial(port, PROFILES[name], next(devices), len(data)) for _ in range(runs)]
                       for name in profiles}
            working = _working(port, data, devices, runs)
            cut = _cut(port, devices, data)
    return [_section(initial, working, cut, len(data))]


def _initial(port: int, profile, device, rows: int) -> dict:
    with Link(("127.0.0.1", port), profile) as link:
        client, counter = counting_client(link.url, compressed=True, accept_encoding=BEST, timeout=600.0)
        replica = Replica(servers.fresh_replica("weak"), device[0], HttpTransport(client, device[1]))
        try:
            with stopwatch() as elapsed:
                report = replica.sync()
        finally:
            replica.close()
            client.close()
    if report.pulled != rows:
        raise RuntimeError(f"{profile.name}: pulled {report.pulled} of {rows} rows")
    down_s = link.carried.down * 8 / profile.down_bps
    return {"s": elapsed[0], "bytes": counter.total, "requests": counter.requests, "bytes_s": down_s}


def _cut(port: int, devices, data: dataset.Dataset) -> dict:
    """The edge of coverage's initial sync uncut, then cut :data:`CUTS` times at seeded random
    byte counts of what the uncut one carried; after each cut the person syncs again."""
    edge = PROFILES["edge of coverage"]
    out = {}
    uncut = None
    for way in ("uncut", "cut"):
        device_id, token = next(devices)
        cuts = [] if way == "uncut" else random_cuts(CUTS, uncut, CUT_SEED)
        with Link(("127.0.0.1", port), replace(edge, mean_bytes_between_cuts=0), cuts=cuts) as link:
            client, counter = counting_client(link.url, compressed=True, accept_encoding=BEST, timeout=600.0)
            replica = Replica(servers.fresh_replica(f"edge-{way}"), device_id, HttpTransport(client, token))
            failed = 0
            try:
                with stopwatch() as elapsed:
                    while True:
                        try:
                            replica.sync()
                            break
                        except TransportError:
                            failed += 1
                held = sum(len(replica.all(entity)) for entity in data.by_entity())
            finally:
                replica.close()
                client.close()
        if held != len(data):
            raise RuntimeError(f"edge of coverage, {way}: the replica holds {held} of {len(data)} rows")
        carried = link.carried.up + link.carried.down
        uncut = uncut or carried
        out[way] = {"s": elapsed[0], "bytes": carried, "requests": counter.requests, "cuts": link.carried.cuts_made,
                    "failed_syncs": failed}
    return out


def _working(port: int, data: dataset.Dataset, devices, runs: int) -> dict[str, list[dict]]:
    """A replica of the scope, synced on loopback; then, per run and per way, another device
    pushes a new equipment row and this one records another, and syncs on 3G."""
    device_id, token = next(devices)
    other_id, other_token = next(devices)
    equipment = next(p for p in data.rows if p.entity.name == "equipment")
    customer_id = equipment.data[0]["customer_id"]
    base = f"http://127.0.0.1:{port}"
    out: dict[str, list[dict]] = {"one round trip": [], "push, then pull": []}
    with counting_client(base, compressed=True, accept_encoding=BEST, timeout=600.0)[0] as fast:
        replica = Replica(servers.fresh_replica("working"), device_id, HttpTransport(fast, token))
        other = Replica(servers.fresh_replica("other"), other_id, HttpTransport(fast, other_token))
        try:
            replica.sync()
            for k in range(runs):
                for way in out:
                    other.insert("equipment", customer_id=customer_id, model="格力 GMV-H", serial=f"弱信号-{way}-{k}")
                    other.push()
                    replica.insert("equipment", customer_id=customer_id, model="大金 VRV", serial=f"现场-{way}-{k}")
                    with Link(("127.0.0.1", port), PROFILES["3G"]) as link:
                        client, counter = counting_client(link.url, compressed=True, accept_encoding=BEST)
                        transport = HttpTransport(client, token)
                        replica.transport = transport if way == "one round trip" else PlainCalls(transport)
                        with stopwatch() as elapsed:
                            report = replica.sync()
                        client.close()
                    if (report.pushed, report.pulled) < (1, 1):
                        raise RuntimeError(f"working sync pushed {report.pushed}, pulled {report.pulled}")
                    out[way].append({"s": elapsed[0], "requests": counter.requests})
        finally:
            replica.close()
            other.close()
    return out


def _section(initial: dict[str, list[dict]], working: dict[str, list[dict]], cut: dict, rows: int) -> Section:
    section = Section("7 weak link", [])
    for name, results in initial.items():
        seconds = median([r["s"] for r in results])
        section.rows.append(Row(f"initial sync on {name}: seconds / MB / requests",
                                f"{seconds:,.1f} / {median([r['bytes'] for r in results]) / 1e6:,.2f} / "
                                f"{median([r['requests'] for r in results]):,.0f}"))
        if name == "3G":
            ratio = median([r["s"] / r["bytes_s"] for r in results])
            section.rows.append(Row("initial sync on 3G ÷ time its bytes need at 1 Mbit/s", f"{ratio:.2f}",
                                    f"≤ {TARGET_3G}", ratio <= TARGET_3G))
    for way, results in working.items():
        requests = median([r["requests"] for r in results])
        section.rows.append(Row(f"working sync on 3G, {way}: requests / seconds",
                                f"{requests:.0f} / {median([r['s'] for r in results]):.2f}",
                                "1 request" if way == "one round trip" else "",
                                requests == 1 if way == "one round trip" else None))
    ratio = cut["cut"]["bytes"] / cut["uncut"]["bytes"]
    section.rows.append(Row("initial sync on the edge of coverage, uncut: seconds / MB / requests",
                            f"{cut['uncut']['s']:,.0f} / {cut['uncut']['bytes'] / 1e6:,.2f} / "
                            f"{cut['uncut']['requests']:,}"))
    section.rows.append(Row(f"the same cut {cut['cut']['cuts']} times: seconds / MB / requests / syncs that failed",
                            f"{cut['cut']['s']:,.0f} / {cut['cut']['bytes'] / 1e6:,.2f} / {cut['cut']['requests']:,} / "
                            f"{cut['cut']['failed_syncs']}"))
    section.rows.append(Row(f"bytes of the sync cut {CUTS} times ÷ uncut (completes)", f"{ratio:.2f}",
                            f"≤ {TARGET_CUT_BYTES}", ratio <= TARGET_CUT_BYTES and cut["cut"]["cuts"] == CUTS))
    section.notes.append(f"Edge of coverage: 128 kbit/s down, 64 up, 400 ms one way, jitter up to 100 ms; cut at {CUTS} "
                         f"byte counts drawn (seed {CUT_SEED}) from the uncut sync's; bytes are what the link "
                         "delivered both ways; one run each. The engine asks for pages the link carries in about "
                         "2 s and halves them after a cut (sync/pacing.py).")
    section.notes.append(f"{rows:,} rows; link profiles in bench/link.py (3G: 1 Mbit/s each way, 150 ms one way, "
                         "jitter up to 20 ms); format 2 pages with zstd; requests counted by the client.")
    return section


if __name__ == "__main__":
    from .report import table
    print(table(run(1, tuple(PROFILES))))
