"""Compressed JSON answers, in the best encoding the client says it accepts.

A snapshot page is hundreds of KB of JSON; compressed, it is what an engineer's phone
pays for on a mobile link (bench/RESULTS.md, benchmark 5). The server prefers zstd,
then brotli, then gzip, among the encodings the client's ``Accept-Encoding`` accepts
(``q=0`` refuses one; ``*`` accepts any): zstd and brotli make pages smaller than gzip
for less CPU at the levels chosen here, and every HTTP client reads gzip. Levels are
the fast ones (zstd 3, brotli 5, gzip 1): most of the gain for a small part of the CPU,
since on a fast link the CPU is the whole cost. Small answers go as they are: there the
header costs more than it saves.
"""

from __future__ import annotations

import zlib
from typing import Callable

import brotli
import zstandard
from flask import Flask, Response, request

__all__ = ["register", "negotiate", "ENCODINGS", "MIN_SIZE", "LEVEL"]

MIN_SIZE = 1024
#: gzip's level
LEVEL = 1
ZSTD_LEVEL = 3
BROTLI_QUALITY = 5
_GZIP = 16 + zlib.MAX_WBITS


def _gzip(body: bytes) -> bytes:
    packer = zlib.compressobj(LEVEL, zlib.DEFLATED, _GZIP)
    return packer.compress(body) + packer.flush()


def _zstd(body: bytes) -> bytes:
    # a compressor per answer: a ZstdCompressor is not safe to share between threads
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(body)


def _brotli(body: bytes) -> bytes:
    return brotli.compress(body, mode=brotli.MODE_TEXT, quality=BROTLI_QUALITY)


#: The encodings the server speaks, most preferred first.
ENCODINGS: dict[str, Callable[[bytes], bytes]] = {"zstd": _zstd, "br": _brotli, "gzip": _gzip}


def register(app: Flask) -> None:
    app.after_request(_compress)


def negotiate(accepted) -> str | None:
    """The encoding to answer in: the server's first choice among those the client
    accepts at a quality above 0 (``accepted``: werkzeug's ``request.accept_encodings``)."""
    for name in ENCODINGS:
        if accepted[name] > 0:
            return name
    return None


def _compress(response: Response) -> Response:
    if response.mimetype != "application/json" or response.direct_passthrough or "Content-Encoding" in response.headers:
        return response
    response.vary.add("Accept-Encoding")
    encoding = negotiate(request.accept_encodings)
    if encoding is None:
        return response
    body = response.get_data()
    if len(body) < MIN_SIZE:
        return response
    response.set_data(ENCODINGS[encoding](body))
    response.headers["Content-Encoding"] = encoding
    return response
