"""``python -m bench.profile``: where the time of the slow paths goes, with pyinstrument.

Writes one text profile per path to ``bench/profiles/``; RESULTS.md and the reports
quote them for every target that is not met. Each path runs in-process, so one profile
holds the whole of it:

* ``push.txt`` — :func:`server.push.apply_push` of benchmark 3's change-sets (SQLite);
* ``pull_server.txt`` — the server answering an initial sync's pull pages (SQLite);
* ``pull_device.txt`` — the device applying those pages into a new replica;
* ``fleet_sync.txt`` — benchmark 4's working syncs, one device at a time against a live
  ``fieldsync serve --workers 2``: what one small sync costs the device and how long it
  waits on the server, with no queue in front of it.
"""

from __future__ import annotations

from pathlib import Path

import time

import orjson
from pyinstrument import Profiler

from server.app import create_app
from server.db import create_schema, make_engine
from server.push import apply_push
from sync.client import Replica
from sync.pull import PAGE_SIZE
from sync.registry import REGISTRY

from . import dataset, fleet, load, push_rate, servers
from .wire import Counter

OUT = Path(__file__).with_name("profiles")


def _write(name: str, profiler: Profiler) -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / name).write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    print(f"wrote {OUT / name}")


def profile_push() -> None:
    with servers.sqlite_database("profile_push") as url:
        engine = make_engine(url)
        create_schema(engine)
        load.add_people(engine, push_rate.ENGINEERS)
        pool = push_rate._Pool()
        for k, engineer in enumerate(push_rate.ENGINEERS):
            data = dataset.build(push_rate.BASE, engineer, prefix=f"p{k}", seed=k)
            load.load_dataset(engine, data)
            pool.add(data)
        payloads = [pool.changeset(push_rate.CHANGESET) for _ in range(4)]
        pool.learn(payloads[0], apply_push(engine, REGISTRY, push_rate.DESK, payloads[0]))
        profiler = Profiler()
        with profiler:
            for payload in payloads[1:]:
                pool.learn(payload, apply_push(engine, REGISTRY, push_rate.DESK, payload))
        engine.dispose()
    _write("push.txt", profiler)


class _Pages:
    """A transport that hands the device pages fetched in advance."""

    def __init__(self, pages: list[bytes]):
        self.pages = iter(pages)

    def pull(self, cursor, limit):
        return orjson.loads(next(self.pages))

    def push(self, changeset):
        raise AssertionError("nothing to push")


def profile_pull() -> None:
    engineer = "u-eng-1"
    data = dataset.build(dataset.ENGINEER_SCOPE, engineer)
    with servers.sqlite_database("profile_pull") as url:
        engine = make_engine(url)
        create_schema(engine)
        load.add_people(engine, [engineer])
        load.load_dataset(engine, data)
        engine.dispose()
        app = create_app({"DATABASE_URL": url, "RATE_LIMIT_PER_MINUTE": 0})
        client = app.test_client()
        headers = {"Authorization": f"Bearer tok-{engineer}"}
        pages, cursor = [], None
        profiler = Profiler()
        with profiler:
            while True:
                query = {"limit": PAGE_SIZE} | ({"cursor": cursor} if cursor else {})
                body = client.get("/v1/sync/pull", query_string=query, headers=headers).data
                pages.append(body)
                answer = orjson.loads(body)
                cursor = answer["cursor"]
                if not answer["has_more"]:
                    break
        _write("pull_server.txt", profiler)
        app.extensions["fieldsync"].engine.dispose()
    replica = Replica(servers.fresh_replica("profile"), f"d-{engineer}", _Pages(pages))
    profiler = Profiler()
    with profiler:
        replica.pull()
    replica.close()
    _write("pull_device.txt", profiler)


def profile_fleet_sync(devices: int = 5, rounds: int = 40) -> None:
    fleet.DEVICES = devices
    with servers.sqlite_database("profile_fleet") as url:
        engineers, parts = fleet._load(url)
        with servers.fieldsync_server(url, workers=2) as server:
            phones = [fleet._Device(server.url, e, parts, Counter()) for e in engineers]
            for phone in phones:
                phone.first_sync(time.monotonic() + 60)
            profiler = Profiler(interval=0.0005)
            with profiler:
                for _ in range(rounds):
                    for phone in phones:
                        phone._edit()
                        phone._timed_sync()
            for phone in phones:
                phone.close()
    _write("fleet_sync.txt", profiler)


if __name__ == "__main__":
    profile_push()
    profile_pull()
    profile_fleet_sync()
