"""Row ids: UUID version 7, minted where the row is born, on or off line.

Time-ordered ids keep B-tree inserts local on both the device and the server.
"""

from __future__ import annotations

import os
import time
import uuid

__all__ = ["new_id"]


def new_id() -> str:
    """A fresh UUIDv7 (RFC 9562) as text."""
    millis = time.time_ns() // 1_000_000
    raw = bytearray(millis.to_bytes(6, "big") + os.urandom(10))
    raw[6] = 0x70 | (raw[6] & 0x0F)
    raw[8] = 0x80 | (raw[8] & 0x3F)
    return str(uuid.UUID(bytes=bytes(raw)))
