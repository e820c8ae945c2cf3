"""The device's HTTP transport: JSON over httpx, with retries and backoff.

The same code talks to a live server and, in tests, to the app in-process (hand it an
``httpx.Client`` built on ``httpx.WSGITransport``). Only failures that a retry can mend
are retried (no answer, 408 for a request that came too slowly, 429, 502-504); another
4xx is the server's word and is raised as the matching :mod:`sync.errors` class at once.
"""

from __future__ import annotations

import time
from typing import Any, Callable
from urllib.parse import quote

import httpx
import orjson

from .errors import TransportError, error_from_response

__all__ = ["HttpTransport", "OpenPage", "RETRYABLE_STATUS"]

RETRYABLE_STATUS = frozenset({408, 429, 502, 503, 504})


class HttpTransport:
    def __init__(
        self,
        client: httpx.Client,
        token: str,
        *,
        attempts: int = 5,
        backoff: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        page_format: int = 2,
    ):
        self.client = client
        #: the pull page format asked for (``docs/protocol.md``): 2, columns named once per entity
        self.page_format = page_format
        self.token = token
        self.attempts = attempts
        self.backoff = backoff
        self._sleep = sleep

    @classmethod
    def connect(cls, base_url: str, token: str, **kw: Any) -> "HttpTransport":
        return cls(httpx.Client(base_url=base_url, timeout=30.0), token, **kw)

    def me(self) -> dict:
        """Who this token is (person, device id, depot), the server's time, the versions it
        speaks and the limits in force (``GET /v1/me``)."""
        return self._request("GET", "/v1/me")

    def push(self, changeset: dict) -> dict:
        return self._request("POST", "/v1/sync/push", content=orjson.dumps(changeset))

    def push_and_pull(self, changeset: dict, cursor: str | None, limit: int) -> dict:
        """Push, and have the answer carry the first pull page after ``cursor`` as ``pull``:
        one round trip for a sync whose push and pull both fit."""
        params = {"pull": 1, "limit": limit, "format": self.page_format}
        if cursor is not None:
            params["cursor"] = cursor
        return self._request("POST", "/v1/sync/push", content=orjson.dumps(changeset), params=params)

    def pull(self, cursor: str | None, limit: int, *, estimate: bool = False) -> dict:
        return self._request("GET", "/v1/sync/pull", params=self._pull_params(cursor, limit, estimate))

    def open_pull(self, cursor: str | None, limit: int, *, estimate: bool = False) -> "OpenPage":
        """Ask for a pull page and return once its head has arrived: the page's end
        (``cursor``, ``has_more``) is known before its body, so the next page can be asked
        for while this one is still on its way (:mod:`sync.pull`)."""
        return OpenPage(self, cursor, limit, estimate)

    def _pull_params(self, cursor: str | None, limit: int, estimate: bool) -> dict:
        params: dict[str, Any] = {"limit": limit}
        if self.page_format != 1:
            params["format"] = self.page_format
        if cursor is not None:
            params["cursor"] = cursor
        if estimate:
            params["estimate"] = 1
        return params

    def get_row(self, entity: str, row_id: str) -> dict:
        """The row as the server holds it for this device; :class:`sync.errors.NotFoundError`
        when it holds none the device may read."""
        return self._request("GET", f"/v1/sync/rows/{quote(entity, safe='')}/{quote(row_id, safe='')}")

    def put_blob(self, sha256: str, data: bytes, content_type: str = "application/octet-stream",
                 start: int | None = None, total: int | None = None) -> dict:
        """Upload a blob whole, or the piece of it that starts at ``start``."""
        extra = {}
        if start is not None:
            extra["Content-Range"] = f"bytes {start}-{start + len(data) - 1}/{total}"
        return self._request("PUT", f"/v1/blobs/{sha256}", content=data, content_type=content_type, headers=extra)

    def blob_status(self, sha256: str) -> dict:
        return self._request("GET", f"/v1/blobs/{sha256}/status")

    def blob_statuses(self, names: list[str]) -> dict:
        """Where this device stands with each blob, in one request (at most 100 names):
        ``{"known": [status, …], "unknown": [name, …]}``."""
        return self._request("POST", "/v1/blobs/status/batch", content=orjson.dumps({"sha256": names}))

    def drop_blob_upload(self, sha256: str) -> None:
        """Drop this device's upload of the blob in progress, to send it again from byte 0."""
        self._send("DELETE", f"/v1/blobs/{sha256}/upload")

    def get_blob(self, sha256: str) -> bytes:
        return self._send("GET", f"/v1/blobs/{sha256}").content

    def _request(self, method: str, path: str, **kw: Any) -> dict:
        response = self._send(method, path, **kw)
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise TransportError(f"{method} {path}: the answer is not JSON") from None

    def _send(self, method: str, path: str, *, content_type: str = "application/json",
              headers: dict | None = None, stream: bool = False, attempts: int | None = None,
              **kw: Any) -> httpx.Response:
        """The answer once it is a success; ``stream``: once its head has arrived (read
        the body with ``response.read()``)."""
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": content_type, **(headers or {})}
        last: Exception | None = None
        for attempt in range(self.attempts if attempts is None else attempts):
            if attempt:
                self._sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self.client.send(self.client.build_request(method, path, headers=headers, **kw),
                                            stream=stream)
                if stream and response.status_code != 200:
                    response.read()
            except httpx.HTTPError as exc:
                last = exc
                continue
            if response.status_code in RETRYABLE_STATUS:
                last = TransportError(f"{method} {path}: the server answered {response.status_code}")
                continue
            if response.status_code >= 400:
                try:
                    body = orjson.loads(response.content)
                except orjson.JSONDecodeError:
                    body = None
                raise error_from_response(response.status_code, body)
            return response
        raise TransportError(f"{method} {path} failed after {self.attempts} attempts: {last}")


class OpenPage:
    """A pull answer whose head has arrived: ``cursor`` and ``has_more`` from its headers
    (``None`` when the server sent none: then they are known only with the body).

    :meth:`answer` reads the body; a body cut on the way is asked for again (within the
    transport's attempts), and ``cuts`` counts the times, so the engine can make its next
    pages smaller.
    """

    def __init__(self, transport: HttpTransport, cursor: str | None, limit: int, estimate: bool):
        self.transport, self.asked = transport, (cursor, limit, estimate)
        self.cuts = 0
        #: the body's bytes as they travelled (compressed), once read
        self.bytes = 0
        self._response = self._open(transport.attempts)
        headers = self._response.headers
        self.cursor: str | None = headers.get("Fieldsync-Cursor")
        more = headers.get("Fieldsync-Has-More")
        self.has_more: bool | None = None if more is None else more == "1"

    def _open(self, attempts: int) -> httpx.Response:
        params = self.transport._pull_params(*self.asked)
        return self.transport._send("GET", "/v1/sync/pull", params=params, stream=True, attempts=attempts)

    def answer(self) -> dict:
        for attempt in range(self.transport.attempts):
            if attempt:
                self.cuts += 1
                self._response = self._open(self.transport.attempts - attempt)
            try:
                body = self._response.read()
            except httpx.HTTPError:
                self._response.close()
                continue
            self.bytes = self._response.num_bytes_downloaded
            try:
                return orjson.loads(body)
            except orjson.JSONDecodeError:
                raise TransportError("GET /v1/sync/pull: the answer is not JSON") from None
        raise TransportError(f"GET /v1/sync/pull: the page was cut {self.cuts + 1} times")

    def close(self) -> None:
        """Give the page up unread (the sync stopped before it)."""
        self._response.close()
