"""Console accounts: passwords, the login decision and its lockout, and the audit of both.

Office and depot people sign in to the console with their user id and a password; field
engineers never do (their devices hold tokens, :mod:`server.auth`). A password is stored
as an argon2id hash (argon2-cffi's defaults, RFC 9106's second recommended profile) and
re-hashed at the next login when those defaults change.

Lockout (docs/decisions.md, "Console lockout"): ``max_failures`` wrong passwords within
``window`` lock the account for ``lock_for``; while locked even the right password is
refused, unchecked. A success clears the count. The lock is per account, not per
address: an office behind one NAT shares an address, and an attacker rotates theirs.
An unknown login costs the same hashing as a known one and reads the same message.

Every attempt and every logout is an audit entry (``entity`` ``console_session``), in the
trail a push writes: who, which role, from the console, when, and a refusal's code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import orjson
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sync.errors import ForbiddenError, NotFoundError, ValidationError
from sync.ids import new_id

from ..tables import audit, users

__all__ = ["CONSOLE_ROLES", "MIN_PASSWORD", "MAX_PASSWORD", "Lockout", "LoginRefused", "console_device",
           "set_password", "log_in", "record", "session_key"]

#: who may sign in to the console; an engineer works on a device
CONSOLE_ROLES = frozenset({"desk", "manager", "depot"})
MIN_PASSWORD = 10
#: argon2 takes any length; a megabyte typed in a form is refused before it is hashed
MAX_PASSWORD = 256
MAX_LOGIN = 64

_HASHER = PasswordHasher()
#: verified against when the login is unknown, so it takes as long as a known one
_DUMMY = _HASHER.hash("not a password anyone has")


@dataclass(frozen=True)
class Lockout:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)


class LoginRefused(Exception):
    """A refused login: ``code`` is ``bad_credentials``, ``locked`` or ``not_console``."""

    def __init__(self, code: str, until: datetime | None = None):
        super().__init__(code)
        self.code = code
        self.until = until


def console_device(user_id: str) -> str:
    """The device id the console's writes carry for a person: the office's own device,
    in the audit trail and on every stamp it makes (no row in ``devices``, no token)."""
    return f"console-{user_id}"[:64]


def set_password(conn: sa.Connection, user_id: str, password: str) -> None:
    """Store a new password for a console user; their open sessions end (see :func:`session_key`)."""
    found = conn.execute(sa.select(users.c.role).where(users.c.id == user_id)).first()
    if found is None:
        raise NotFoundError(f"no user {user_id}")
    if found.role not in CONSOLE_ROLES:
        raise ForbiddenError("an engineer signs in on their device with its token, not to the console")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValidationError(f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters", field="password")
    if password.strip() != password or not password.isprintable():
        raise ValidationError("a password has no leading or trailing spaces and no control characters",
                              field="password")
    conn.execute(users.update().where(users.c.id == user_id).values(
        password_hash=_HASHER.hash(password), failed_logins=0, failed_since=None, locked_until=None))


def session_key(user_id: str, password_hash: str) -> str:
    """What a session remembers: the person and the tail of their hash, so a new password
    ends every session opened with the old one."""
    return f"{user_id}.{password_hash[-12:]}"


def log_in(conn: sa.Connection, login: str, password: str, now: datetime, lockout: Lockout) -> dict:
    """The person ``login`` names when ``password`` is theirs, else :class:`LoginRefused`;
    the attempt is counted toward the lockout and audited either way."""
    found = None
    readable = 0 < len(login) <= MAX_LOGIN and login.isprintable()
    if readable and len(password) <= MAX_PASSWORD:
        # the person's row (PostgreSQL) or the database's write lock (SQLite) is taken before
        # it is read: guesses sent in parallel are each counted, none lost between read and write
        conn.execute(users.update().where(users.c.id == login).values(failed_logins=users.c.failed_logins))
        found = conn.execute(sa.select(users).where(users.c.id == login)).mappings().first()
    if found is None or found["password_hash"] is None:
        _verify(_DUMMY, password[:MAX_PASSWORD])
        # the trail keeps what was typed when it can hold it (a NUL it cannot, on PostgreSQL)
        record(conn, login if readable else "-", "unknown", "login", now, refused="bad_credentials")
        raise LoginRefused("bad_credentials")
    person = dict(found)
    locked = _aware(person["locked_until"])
    if locked is not None and locked > now:
        record(conn, login, person["role"], "login", now, refused="locked")
        raise LoginRefused("locked", locked)
    if not _verify(person["password_hash"], password):
        until = _failed(conn, person, now, lockout)
        record(conn, login, person["role"], "login", now, refused="locked" if until else "bad_credentials")
        raise LoginRefused("locked", until) if until else LoginRefused("bad_credentials")
    if person["role"] not in CONSOLE_ROLES:
        record(conn, login, person["role"], "login", now, refused="not_console")
        raise LoginRefused("not_console")
    changes: dict = {"failed_logins": 0, "failed_since": None, "locked_until": None}
    if _HASHER.check_needs_rehash(person["password_hash"]):
        changes["password_hash"] = person["password_hash"] = _HASHER.hash(password)
    conn.execute(users.update().where(users.c.id == login).values(**changes))
    record(conn, login, person["role"], "login", now)
    return person


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _failed(conn: sa.Connection, person: dict, now: datetime, lockout: Lockout) -> datetime | None:
    """Count a wrong password; the time the account is locked until when this one locks it."""
    since = _aware(person["failed_since"])
    count = person["failed_logins"] + 1 if since is not None and now - since < lockout.window else 1
    since = since if count > 1 else now
    if count >= lockout.max_failures:
        until = now + lockout.lock_for
        conn.execute(users.update().where(users.c.id == person["id"])
                     .values(failed_logins=0, failed_since=None, locked_until=until))
        return until
    conn.execute(users.update().where(users.c.id == person["id"]).values(failed_logins=count, failed_since=since))
    return None


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def record(conn: sa.Connection, user_id: str, role: str, op: str, now: datetime, *, refused: str | None = None) -> None:
    """One audit entry for a sign-in or sign-out, as a push's entries are written."""
    conn.execute(audit.insert().values(
        at=now, device_time=now, skew_ms=None, user_id=user_id or "-", role=role[:20],
        device_id=console_device(user_id or "-"), mutation_id=new_id(), entity="console_session",
        row_id=user_id or "-", op=op, fields=orjson.dumps([]).decode(),
        status="rejected" if refused else "applied", code=refused, version=None, recovered_by=None))
