"""gzip for JSON answers, when the client says it accepts gzip.

A snapshot page is ~400 KB of JSON repeating the same keys a thousand times; gzip
makes it several times smaller, which is what an engineer's phone pays for on a
mobile link (bench/RESULTS.md, benchmark 5). Level 1: most of the gain for a fraction
of the CPU of the default level, since on a fast link the CPU is the whole cost. Small
answers are sent as they are: there the header costs more than it saves.
"""

from __future__ import annotations

import zlib

from flask import Flask, Response, request

__all__ = ["register", "MIN_SIZE", "LEVEL"]

MIN_SIZE = 1024
LEVEL = 1
_GZIP = 16 + zlib.MAX_WBITS


def register(app: Flask) -> None:
    app.after_request(_compress)


def _compress(response: Response) -> Response:
    if response.mimetype != "application/json" or response.direct_passthrough or "Content-Encoding" in response.headers:
        return response
    response.vary.add("Accept-Encoding")
    if request.accept_encodings["gzip"] <= 0:
        return response
    body = response.get_data()
    if len(body) < MIN_SIZE:
        return response
    packer = zlib.compressobj(LEVEL, zlib.DEFLATED, _GZIP)
    response.set_data(packer.compress(body) + packer.flush())
    response.headers["Content-Encoding"] = "gzip"
    return response
