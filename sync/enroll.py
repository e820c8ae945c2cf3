"""Enrolling a device: the one-time code the office hands an engineer, and its exchange
for the device's id and bearer token (``POST /v1/devices/enroll``, docs/protocol.md).

A code is 12 characters of a 32-character alphabet with no 0, O, 1 or I (60 bits),
shown as ``ABCD-EFGH-JKLM``; typed in any case, with or without the hyphens and spaces.
The console's QR code holds ``fieldsync:enroll?code=…&server=…``: the code and the
address the device reaches the server at. :func:`read_code` takes either.

The exchange is sent once, never retried: the server spends the code as it answers, so
an answer lost on the way cannot be asked for again (the person gets a new code, and the
office revokes the device the lost answer made).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import orjson

from .errors import TransportError, ValidationError, error_from_response

__all__ = ["ALPHABET", "CODE_LENGTH", "Enrollment", "normalize_code", "shown_code", "qr_payload", "read_code",
           "enroll"]

#: no 0/O and no 1/I: a code read off a screen is typed right
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 12
#: what a code may be sent as before it is normalized (spaces, hyphens, a pasted line)
MAX_TYPED = 64
_SCHEME = "fieldsync:enroll"
_SEPARATORS = str.maketrans("", "", " -\t")


@dataclass(frozen=True)
class Enrollment:
    """What the exchange gave the device: keep ``token`` as its bearer token."""

    device_id: str
    device_name: str
    token: str
    server_url: str
    person: dict


def normalize_code(typed: str) -> str:
    """The code as the server stores it (upper case, no separators), or ``ValidationError``."""
    if not isinstance(typed, str) or len(typed) > MAX_TYPED:
        raise ValidationError(f"an enrollment code is {CODE_LENGTH} letters and digits", field="code")
    code = typed.translate(_SEPARATORS).upper()
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        raise ValidationError(f"an enrollment code is {CODE_LENGTH} letters and digits, without 0, O, 1 or I",
                              field="code")
    return code


def shown_code(code: str) -> str:
    """``ABCDEFGHJKLM`` as ``ABCD-EFGH-JKLM``: three groups to read aloud or type."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def qr_payload(code: str, server_url: str) -> str:
    """What the console's QR code holds: the code and where to send it."""
    return f"{_SCHEME}?{urlencode({'code': shown_code(code), 'server': server_url})}"


def read_code(scanned: str) -> tuple[str | None, str]:
    """``(server URL or None, code)`` from a scanned QR payload or a typed code."""
    text = scanned.strip() if isinstance(scanned, str) else scanned
    if isinstance(text, str) and text.startswith(_SCHEME + "?"):
        query = parse_qs(urlsplit(text).query)
        server = (query.get("server") or [None])[0]
        return server, normalize_code((query.get("code") or [""])[0])
    return None, normalize_code(text)


def enroll(client: httpx.Client, code: str) -> Enrollment:
    """Exchange ``code`` for this device's id and token, through ``client`` (its base URL
    the server's). One request: a refusal raises its :mod:`sync.errors` class
    (``EnrollmentCodeUnknownError``, ``…UsedError``, ``…ExpiredError``, ``RateLimitedError``)."""
    body = orjson.dumps({"code": normalize_code(code)})
    try:
        response = client.post("/v1/devices/enroll", content=body, headers={"Content-Type": "application/json"})
    except httpx.HTTPError as exc:
        raise TransportError(f"the enrollment did not reach the server: {exc}") from None
    try:
        answer = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        answer = None
    if response.status_code >= 400 or not isinstance(answer, dict):
        raise error_from_response(response.status_code, answer)
    return Enrollment(device_id=answer["device"]["id"], device_name=answer["device"]["name"], token=answer["token"],
                      server_url=answer["server"]["url"], person=answer["person"])
