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

__all__ = ["HttpTransport", "RETRYABLE_STATUS"]

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

    def pull(self, cursor: str | None, limit: int) -> dict:
        params = {"limit": limit}
        if self.page_format != 1:
            params["format"] = self.page_format
        if cursor is not None:
            params["cursor"] = cursor
        return self._request("GET", "/v1/sync/pull", params=params)

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
              headers: dict | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": content_type, **(headers or {})}
        last: Exception | None = None
        for attempt in range(self.attempts):
            if attempt:
                self._sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self.client.request(method, path, headers=headers, **kw)
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
