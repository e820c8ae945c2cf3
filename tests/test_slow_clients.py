"""Slow clients cannot stall ``fieldsync serve``.

Connections that trickle their request — a body a byte a second, or the head itself a
byte at a time — each hold a request thread while they last. More of them than there
are workers must not keep a device from syncing, and each ends at the server's read
deadline: a trickled body with a JSON 408 ``request_timeout``, a trickled head with its
connection closed. The deadline is set short here (``--read-timeout``); the device's sync
needs a small part of it. The body is read whole before the app sees it, chunked too, and
a device answered 408 sends its request again.
"""

from __future__ import annotations

import json
import select
import socket
import threading
from dataclasses import dataclass

import httpx
import orjson

from server.serving import BufferedBody
from sync import hlc
from sync.transport import HttpTransport
from tests.conftest import auth_header
from tests.scenario import desk_opens_ticket
from tests.served import device, serving

READ_TIMEOUT = 15
BODY_TRICKLES = 6
HEAD_TRICKLES = 3
#: Every loop and wait here ends by itself: a trickle sends for at most this long.
GIVE_UP_S = 4 * READ_TIMEOUT + 30


@dataclass
class Trickle:
    """One slow connection: the start of its request went at once, ``trickled`` goes a byte a second."""

    sock: socket.socket
    trickled: bytes
    answer: bytes | None = None  # what the server sent before it closed the connection

    def readable(self) -> bool:
        return bool(select.select([self.sock], [], [], 0)[0])


class Trickles:
    """Slow connections driven by one thread, a byte each a second, until the server ends each."""

    def __init__(self, port: int, requests: list[tuple[bytes, bytes]]):
        self._port = port
        self._requests = requests
        self.trickles: list[Trickle] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.trickling = threading.Event()  # every connection has sent a byte or two of its trickle
        self.ended = threading.Event()  # the server has answered or closed every connection
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Trickles":
        for sent, trickled in self._requests:
            sock = socket.create_connection(("127.0.0.1", self._port), timeout=5)
            sock.sendall(sent)
            self.trickles.append(Trickle(sock, trickled))
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for trickle in self.trickles:
            trickle.sock.close()

    def _run(self) -> None:
        for second in range(GIVE_UP_S):
            with self._lock:
                for trickle in self.trickles:
                    if trickle.answer is None:
                        self._step(trickle, second)
                if second == 2:
                    self.trickling.set()
                if all(t.answer is not None for t in self.trickles):
                    self.ended.set()
                    return
            if self._stop.wait(1.0):
                return

    @staticmethod
    def _step(trickle: Trickle, second: int) -> None:
        try:
            if not trickle.readable():
                trickle.sock.sendall(trickle.trickled[second:second + 1])
                return
        except OSError:
            pass  # the server closed it: read what it said first
        trickle.answer = _read_to_end(trickle.sock)
        trickle.sock.close()

    def still_open(self) -> list[Trickle]:
        """The connections the server has neither answered nor closed yet."""
        with self._lock:
            return [t for t in self.trickles if t.answer is None and not t.readable()]


def _read_to_end(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except OSError:
        pass  # reset after what was read, or the 5 s socket timeout
    return data


def _body_trickle(person) -> tuple[bytes, bytes]:
    """A push whose head arrives at once and whose body then comes a byte a second."""
    body = json.dumps({"changeset_id": "cs-slow", "mutations": [{"fields": {"diagnosis": "信号很弱" * 100}}]}).encode()
    head = (f"POST /v1/sync/push HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {person.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    return head, body


def _head_trickle(person) -> tuple[bytes, bytes]:
    """A pull whose head itself comes a byte a second."""
    head = (f"GET /v1/sync/pull?limit=100 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {person.token}\r\n"
            f"User-Agent: 北京市朝阳区 field device on one bar of signal\r\n\r\n").encode()
    return b"", head


def _parse(answer: bytes) -> tuple[str, dict[str, str], dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    return status, headers, json.loads(body)


def test_a_device_syncs_while_more_slow_connections_than_workers_trickle_and_each_trickle_ends_at_the_deadline(
        database_url, people, tmp_path):
    wang = people["wang"]
    # Nine slow connections, two workers of 12 threads (the default): whichever worker
    # they land on, it has threads to spare while they last.
    with serving(database_url, "--workers", "2", "--read-timeout", str(READ_TIMEOUT)) as (server, base_url):
        port = int(base_url.rsplit(":", 1)[1])
        requests = [_body_trickle(wang)] * BODY_TRICKLES + [_head_trickle(wang)] * HEAD_TRICKLES
        with Trickles(port, requests) as trickles:
            assert trickles.trickling.wait(timeout=GIVE_UP_S)

            with device(base_url, people["desk"], tmp_path / "desk.replica") as desk:
                ticket = desk_opens_ticket(desk, wang.user_id, fault_description="复印机卡纸，定影器异响")["ticket"]
                with device(base_url, wang, tmp_path / "wang.replica") as phone:
                    phone.sync()
                    phone.update("ticket", ticket, diagnosis="定影器磨损，已更换")
                    phone.sync()
                desk.sync()
                assert desk.get("ticket", ticket)["diagnosis"] == "定影器磨损，已更换"

            assert len(trickles.still_open()) == BODY_TRICKLES + HEAD_TRICKLES, "a trickle ended before the sync did"
            assert trickles.ended.wait(timeout=GIVE_UP_S), "the server never ended some trickles"

        bodies, heads = trickles.trickles[:BODY_TRICKLES], trickles.trickles[BODY_TRICKLES:]
        for trickle in bodies:
            status, headers, error = _parse(trickle.answer)
            assert status.startswith("HTTP/1.1 408 ")
            assert headers["connection"] == "close"
            assert error["code"] == "request_timeout"
        assert [t.answer for t in heads] == [b""] * HEAD_TRICKLES
    assert server.returncode == 0 and "Traceback" not in server.output, server.output


def test_a_change_set_sent_in_chunks_is_read_whole_by_the_body_reader_and_one_past_the_limit_gets_413(app, people):
    limit = app.config["MAX_CONTENT_LENGTH"]
    served = httpx.Client(transport=httpx.WSGITransport(app=BufferedBody(app.wsgi_app, limit, READ_TIMEOUT)),
                          base_url="http://fieldsync",
                          headers={**auth_header(people["desk"]), "Content-Type": "application/json"})
    customer = {"mutation_id": "m1", "entity": "customer", "id": "c-huaxin", "op": "insert",
                "fields": {"name": "华信印务", "address": "北京市朝阳区新源路12号"}, "hlc": str(hlc.Clock("d-desk").tick())}
    body = orjson.dumps({"changeset_id": "cs-in-chunks", "device_id": "d-desk", "schema_version": 1,
                         "mutations": [customer]})

    pushed = served.post("/v1/sync/push", content=iter([body[:40], body[40:]]))
    too_long = served.post("/v1/sync/push", content=iter([b" " * limit, body]))

    assert pushed.status_code == 200 and [r["status"] for r in pushed.json()["results"]] == ["applied"]
    assert (too_long.status_code, too_long.json()["code"]) == (413, "too_large")


class FirstPushArrivesTooSlowly(httpx.BaseTransport):
    """The app in-process, except that the first push is answered as a body that came too slowly."""

    def __init__(self, app):
        self._app = httpx.WSGITransport(app=app)
        self.refused = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/sync/push" and not self.refused:
            self.refused += 1
            return httpx.Response(408, headers={"Connection": "close"}, json={
                "code": "request_timeout", "message": "the request did not arrive within 30 s of its first byte"})
        return self._app.handle_request(request)


def test_a_push_answered_408_on_one_bar_of_signal_is_sent_again_and_lands_once(app, people, replica_for):
    desk = replica_for(people["desk"])
    ticket = desk_opens_ticket(desk, people["wang"].user_id, fault_description="卡纸后定影器异响")["ticket"]
    wire = FirstPushArrivesTooSlowly(app)
    client = httpx.Client(transport=wire, base_url="http://fieldsync")
    wang = replica_for(people["wang"], transport=HttpTransport(client, people["wang"].token, sleep=lambda _s: None))
    wang.sync()
    wang.update("ticket", ticket, diagnosis="定影器磨损，已更换")

    report = wang.sync()

    assert wire.refused == 1 and report.rejected == 0 and wang.pending() == 0
    desk.sync()
    assert desk.get("ticket", ticket)["diagnosis"] == "定影器磨损，已更换"
