"""How ``fieldsync serve`` runs gunicorn so that slow clients cannot stall it.

gunicorn's threaded worker (gthread) gives a request a thread from its first byte to its
answer, and reads the request with blocking socket reads that have no deadline: a client
that trickles its head or its body a byte a second keeps that thread as long as it likes,
and a few such clients take every thread of a worker (docs/decisions.md, "Slow clients").
Here a request must arrive whole, head and body, within ``read_timeout`` seconds of its
first byte:

* :class:`ReadDeadline` is the socket as gunicorn's parser reads it, each read bounded by
  the time the request has left;
* :class:`BufferedBody` reads the body before the app runs, so a slow body never holds a
  database connection; one that runs out of time is answered 408 ``request_timeout``;
  a head that runs out of time has its connection closed;
* :class:`ReadDeadlineWorker` lets such a connection linger in its own thread for its
  answer to reach the client, not in the worker's main loop (gunicorn would hold that
  loop, and every other connection of the worker, for up to 2 s).

A slow client still holds a thread until its deadline: threads are cheap, so each worker
has enough (``--threads``) for a handful at once. Many more is a flood, for a buffering
proxy in front to absorb (docs/operations.md). HTTP/1.1 on plain TCP only: TLS ends at the
load balancer.
"""

from __future__ import annotations

import io
import socket
import time
from typing import Callable

from flask import Flask
from gunicorn import http
from gunicorn.app.base import BaseApplication
from gunicorn.http.errors import NoMoreData
from gunicorn.workers.gthread import ThreadWorker

from .errors import json_error

__all__ = ["ReadTimeoutError", "ReadDeadline", "BufferedBody", "ReadDeadlineWorker", "serve"]

#: How long a connection ended for its deadline waits for the client to close first, as
#: gunicorn's own graceful close: closing with the client's bytes unread would reset the
#: connection, and the reset can destroy the 408 on its way.
LINGER_S = 2.0


class ReadTimeoutError(NoMoreData):
    """The request did not arrive by its deadline.

    A ``NoMoreData`` for gunicorn, which closes the connection quietly, as for a client
    that went away; :class:`BufferedBody` catches it to answer 408.
    """

    def __str__(self) -> str:
        return "the request did not arrive by its deadline"


class ReadDeadline:
    """A connection's socket as gunicorn's request parser reads it.

    The first read of each request starts its clock; every read after it waits only for
    what is left of ``seconds``, so a byte a second cannot stretch a request forever.
    """

    def __init__(self, sock: socket.socket, seconds: float):
        self._sock = sock
        self._seconds = seconds
        self._deadline: float | None = None
        #: the request being read, told to close its connection if it runs out of time
        self.request = None
        self.expired = False

    def next_request(self) -> None:
        self._deadline = None
        self.request = None

    def recv(self, size: int) -> bytes:
        now = time.monotonic()
        if self._deadline is None:
            self._deadline = now + self._seconds
        left = self._deadline - now
        if left > 0:
            self._sock.settimeout(left)
            try:
                return self._sock.recv(size)
            except TimeoutError:
                pass
            finally:
                self._sock.settimeout(None)  # blocking again, as gunicorn writes the answer
        self.expired = True
        if self.request is not None:
            self.request.force_close()  # the answer says "Connection: close"
        raise ReadTimeoutError()


class BufferedBody:
    """WSGI middleware: the app sees a request only once its body has arrived whole.

    A body longer than ``max_bytes`` is left unread for the app to refuse (413). A chunked
    body is read to ``max_bytes`` + 1 and handed on with its length, so the app refuses it
    the same way when it is too long.
    """

    def __init__(self, app, max_bytes: int, read_timeout: float):
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout

    def __call__(self, environ, start_response):
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if not chunked and not 0 < length <= self.max_bytes:
            return self.app(environ, start_response)
        try:
            body = environ["wsgi.input"].read(self.max_bytes + 1 if chunked else length)
        except ReadTimeoutError:
            refusal = json_error(408, "request_timeout", f"the request did not arrive within {self.read_timeout:g} s "
                                                         "of its first byte: send it again")
            return refusal(environ, start_response)
        environ["wsgi.input"] = io.BytesIO(body)
        if chunked:
            environ["CONTENT_LENGTH"] = str(len(body))
            del environ["HTTP_TRANSFER_ENCODING"]
        return self.app(environ, start_response)


class ReadDeadlineWorker(ThreadWorker):
    """gunicorn's gthread worker, reading each request through a :class:`ReadDeadline`."""

    #: seconds; :func:`serve` makes a subclass with the one it is given
    read_timeout: float

    def enqueue_req(self, conn) -> None:
        if conn.parser is None:  # a new connection: gunicorn keeps a parser it finds in place
            conn.read_deadline = ReadDeadline(conn.sock, self.read_timeout)
            conn.parser = http.get_parser(self.cfg, conn.read_deadline, conn.client)
        super().enqueue_req(conn)

    def handle(self, conn):
        conn.read_deadline.next_request()
        keep = super().handle(conn)
        if conn.read_deadline.expired:
            _linger(conn.sock)
            return False
        return keep

    def handle_request(self, req, conn):
        conn.read_deadline.request = req
        return super().handle_request(req, conn)

    def finish_request(self, conn, fs) -> None:
        if conn.read_deadline.expired:  # its thread has lingered already: close at once
            self.nr_conns -= 1
            conn.close()
            return
        super().finish_request(conn, fs)


def _linger(sock: socket.socket) -> None:
    """Send the end of the answer, then read what the client still sends until it closes."""
    try:
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + LINGER_S
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            if not sock.recv(65536):
                return
    except OSError:
        pass  # gone, or still sending after LINGER_S: closed all the same


class _Gunicorn(BaseApplication):
    def __init__(self, load_app: Callable[[], Flask], settings: dict, read_timeout: float):
        self._load_app = load_app
        self._settings = settings
        self._read_timeout = read_timeout
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._settings.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        app = self._load_app()
        app.wsgi_app = BufferedBody(app.wsgi_app, app.config["MAX_CONTENT_LENGTH"], self._read_timeout)
        return app


def serve(load_app: Callable[[], Flask], *, bind: str, workers: int, threads: int, read_timeout: float) -> None:
    """Serve the app that ``load_app`` makes, in ``workers`` processes of ``threads`` threads."""
    worker = type("ReadDeadlineWorker", (ReadDeadlineWorker,), {"read_timeout": read_timeout})
    settings = {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": worker,
        "accesslog": None,
        # gunicornc's socket sits at one path per user: two servers would share it.
        "control_socket_disable": True,
    }
    _Gunicorn(load_app, settings, read_timeout).run()
