"""Enrolling a device from the console: a one-time code the office hands an engineer,
which the device exchanges for its id and bearer token (``POST /v1/devices/enroll``).

The code (:mod:`sync.enroll`: 12 characters of a 32-letter alphabet, 60 bits) is kept
as its SHA-256 only and shown once, to the office person who asked for it. It is tied
to the engineer and a label for the device, expires (``ENROLLMENT_TTL_SECONDS``, 15
minutes) and makes one device: the exchange spends it with one conditional ``UPDATE``
(unused and unexpired), so of two exchanges at once one gets the device and the other
``enrollment_code_used``, on SQLite and PostgreSQL alike.

Guessing (docs/decisions.md, "Enrollment codes against guessing"): wrong codes are
counted per client address (an IPv6 address by its /64, which one subscriber holds);
``ENROLLMENT_MAX_FAILURES`` (10) within ``ENROLLMENT_FAILURE_WINDOW_SECONDS`` lock the
address out of the exchange for ``ENROLLMENT_LOCKOUT_SECONDS``, right code or not, as
the console's login does. Every exchange from an address holds that address's row for
its transaction, so guesses sent in parallel are each counted before the next is read.
Issuing, exchanging (refusals too) and revoking are audit entries.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Mapping

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from sync.enroll import ALPHABET, CODE_LENGTH, normalize_code
from sync.errors import (EnrollmentCodeExpiredError, EnrollmentCodeUnknownError, EnrollmentCodeUsedError,
                         NotFoundError, RateLimitedError, ValidationError)
from sync.ids import new_id

from .auth import add_device
from .tables import audit, devices, enrollment_failures, enrollments, users

__all__ = ["Rules", "Issued", "Enrolled", "rules_of", "new_code", "hash_code", "issue", "exchange", "revoke",
           "client_address", "MAX_DEVICE_NAME"]

MAX_DEVICE_NAME = 200
#: who is enrolled from the console: the people who work on a device
ENROLLED_ROLES = frozenset({"engineer"})


@dataclass(frozen=True)
class Rules:
    ttl: timedelta = timedelta(minutes=15)
    max_failures: int = 10
    window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)


def rules_of(config: Mapping) -> Rules:
    """The enrollment settings of an app's configuration (``FIELDSYNC_ENROLLMENT_*``)."""
    default = Rules()

    def seconds(name: str, fallback: timedelta) -> timedelta:
        return timedelta(seconds=int(config.get(name, fallback.total_seconds())))

    return Rules(ttl=seconds("ENROLLMENT_TTL_SECONDS", default.ttl),
                 max_failures=int(config.get("ENROLLMENT_MAX_FAILURES", default.max_failures)),
                 window=seconds("ENROLLMENT_FAILURE_WINDOW_SECONDS", default.window),
                 lock_for=seconds("ENROLLMENT_LOCKOUT_SECONDS", default.lock_for))


@dataclass(frozen=True)
class Issued:
    """A code just made: ``code`` is shown now and never again."""

    enrollment_id: str
    code: str
    user_id: str
    device_name: str
    expires_at: datetime


@dataclass(frozen=True)
class Enrolled:
    """The device an exchange made; ``token`` is answered once and stored as a hash."""

    enrollment_id: str
    device_id: str
    device_name: str
    token: str
    person: dict


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def issue(conn: sa.Connection, user_id: str, device_name: str, *, by: tuple[str, str], by_device: str,
          now: datetime, rules: Rules) -> Issued:
    """A new code for ``user_id``'s device called ``device_name``, asked for by ``by``
    (user id, role) from ``by_device``; ``NotFoundError`` when no engineer has that id."""
    name = (device_name or "").strip()
    if not name or len(name) > MAX_DEVICE_NAME or not name.isprintable():
        raise ValidationError(f"a device name is 1 to {MAX_DEVICE_NAME} printable characters", field="device_name")
    person = conn.execute(sa.select(users.c.role).where(users.c.id == user_id)).first()
    if person is None or person.role not in ENROLLED_ROLES:
        raise NotFoundError(f"no engineer {user_id}")
    code, enrollment_id = new_code(), new_id()
    expires = now + rules.ttl
    conn.execute(enrollments.insert().values(id=enrollment_id, code_hash=hash_code(code), user_id=user_id,
                                             device_name=name, issued_by=by[0], created_at=now, expires_at=expires))
    _record(conn, by, by_device, "enrollment", enrollment_id, "issue", now, ["user_id", "device_name"])
    return Issued(enrollment_id, code, user_id, name, expires)


def exchange(engine: sa.Engine, typed: str, address: str, now: datetime, rules: Rules) -> Enrolled:
    """The device ``typed`` (a code) makes, or why not: ``ValidationError`` (not a code
    at all; not counted), ``RateLimitedError`` (the address is locked out; the code is
    not looked at), ``EnrollmentCodeUnknownError`` (counted against the address),
    ``EnrollmentCodeUsedError``, ``EnrollmentCodeExpiredError``. Its own transaction: a
    refusal's count and audit entry are kept."""
    code = normalize_code(typed)
    refused: Exception | None = None
    with engine.begin() as conn:
        held = _hold(conn, address, now)
        locked = _aware(held.locked_until)
        if locked is not None and locked > now:
            retry = max(1, int((locked - now).total_seconds() + 0.999))
            raise RateLimitedError(f"too many wrong enrollment codes from this address: retry in {retry} s",
                                   details={"retry_after": retry})
        device_id = new_id()
        claimed = conn.execute(enrollments.update().where(
            enrollments.c.code_hash == hash_code(code), enrollments.c.used_at.is_(None),
            enrollments.c.expires_at > now).values(used_at=now, device_id=device_id)).rowcount
        found = conn.execute(sa.select(enrollments).where(enrollments.c.code_hash == hash_code(code))).mappings().first()
        if claimed == 1:
            return _made(conn, found, device_id, address, now, held)
        caller = ("-", "unknown")
        if found is None:
            _failed(conn, address, held, now, rules)
            refused = EnrollmentCodeUnknownError("no device is waiting for this code: check it, or ask the office "
                                                 "for a new one")
        elif found["used_at"] is not None:
            refused = EnrollmentCodeUsedError("this code was used already: ask the office for a new one")
        else:
            refused = EnrollmentCodeExpiredError("this code has expired: ask the office for a new one")
        row_id = found["id"] if found is not None else "-"
        _record(conn, caller, _caller_device(address), "enrollment", row_id, "exchange", now, ["code"],
                refused=refused.code)
    raise refused


def _made(conn: sa.Connection, found, device_id: str, address: str, now: datetime, held) -> Enrolled:
    person = conn.execute(sa.select(users.c.id, users.c.name, users.c.role, users.c.depot_id)
                          .where(users.c.id == found["user_id"])).mappings().one()
    device_id, token = add_device(conn, found["user_id"], found["device_name"], device_id=device_id)
    if held.failures == 0:  # an address that never failed leaves nothing behind
        conn.execute(enrollment_failures.delete().where(enrollment_failures.c.address == address))
    _record(conn, (person["id"], person["role"]), device_id, "enrollment", found["id"], "exchange", now, ["code"])
    return Enrolled(found["id"], device_id, found["device_name"], token, dict(person))


def _hold(conn: sa.Connection, address: str, now: datetime):
    """The address's row, made when missing and held (PostgreSQL: its row lock; SQLite:
    the write lock, taken by the insert) until the exchange commits."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(enrollment_failures).values(address=address, failures=0, failed_since=now)
                 .on_conflict_do_nothing(index_elements=["address"]))
    return conn.execute(sa.select(enrollment_failures).where(enrollment_failures.c.address == address)
                        .with_for_update()).one()


def _failed(conn: sa.Connection, address: str, held, now: datetime, rules: Rules) -> None:
    """Count a wrong code against the address; lock it at the limit; forget addresses
    whose window and lock are both over."""
    since = _aware(held.failed_since)
    fresh = held.failures == 0 or since is None or now - since >= rules.window
    count, since = (1, now) if fresh else (held.failures + 1, since)
    values = {"failures": count, "failed_since": since, "locked_until": None}
    if count >= rules.max_failures:
        values = {"failures": 0, "failed_since": now, "locked_until": now + rules.lock_for}
    conn.execute(enrollment_failures.update().where(enrollment_failures.c.address == address).values(**values))
    conn.execute(enrollment_failures.delete().where(
        enrollment_failures.c.address != address, enrollment_failures.c.failed_since < now - rules.window,
        sa.or_(enrollment_failures.c.locked_until.is_(None), enrollment_failures.c.locked_until < now)))


def revoke(conn: sa.Connection, device_id: str, *, by: tuple[str, str], by_device: str, now: datetime) -> dict:
    """Revoke an engineer's active device at once (its next request is refused
    ``device_revoked``); the device as it was. ``NotFoundError`` when there is none."""
    found = conn.execute(sa.select(devices.c.id, devices.c.name, devices.c.user_id, users.c.name.label("user_name"))
                         .join(users, users.c.id == devices.c.user_id)
                         .where(devices.c.id == device_id, devices.c.revoked_at.is_(None),
                                users.c.role.in_(ENROLLED_ROLES))).mappings().first()
    if found is None:
        raise NotFoundError(f"no active engineer's device {device_id}")
    conn.execute(devices.update().where(devices.c.id == device_id, devices.c.revoked_at.is_(None))
                 .values(revoked_at=now))
    _record(conn, by, by_device, "device", device_id, "revoke", now, ["revoked_at"])
    return dict(found)


def client_address(remote: str | None) -> str:
    """The key wrong codes are counted by: an IPv4 address, or an IPv6 address's /64
    (a subscriber is handed a whole /64)."""
    try:
        parsed = ipaddress.ip_address(remote or "")
    except ValueError:
        return (remote or "-")[:64]
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False))


def _caller_device(address: str) -> str:
    """Who an exchange came from, before it made a device: its address."""
    return f"enroll-{address}"[:64]


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def _record(conn: sa.Connection, who: tuple[str, str], device_id: str, entity: str, row_id: str, op: str,
            now: datetime, fields: list[str], *, refused: str | None = None) -> None:
    """One audit entry, as a push's are written."""
    conn.execute(audit.insert().values(
        at=now, device_time=now, skew_ms=None, user_id=who[0], role=who[1][:20], device_id=device_id[:64],
        mutation_id=new_id(), entity=entity, row_id=row_id, op=op, fields=orjson.dumps(fields).decode(),
        status="rejected" if refused else "applied", code=refused, version=None, recovered_by=None))
