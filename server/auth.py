"""People and their devices: one bearer token per device, stored as a SHA-256 hash.

Every request looks its token up afresh (no cache), so a revoked device — a lost
phone — is refused from its very next request, by every server process, with
``device_revoked``. What it synced before stays: revoking a device takes away its
access, not its work.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timezone

import sqlalchemy as sa

from sync.errors import AuthError, DeviceRevokedError, NotFoundError, ValidationError
from sync.ids import new_id
from sync.registry import ROLES

from . import driver
from .tables import devices, users

__all__ = ["hash_token", "authenticate", "add_user", "add_device", "revoke_device", "list_users", "list_devices"]

log = logging.getLogger("fieldsync")

#: Every request runs it: sent as text to the driver (:mod:`server.driver`).
_BY_TOKEN = ("SELECT devices.id, devices.name, devices.user_id, devices.revoked_at, users.role, users.name, "
             "users.depot_id FROM devices JOIN users ON users.id = devices.user_id WHERE devices.token_hash = ?")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(conn: sa.Connection, header: str | None) -> tuple[dict, dict]:
    """``(user, device)`` for an ``Authorization: Bearer …`` header, or ``AuthError``."""
    if not header or not header.startswith("Bearer "):
        raise AuthError("send the device token as 'Authorization: Bearer <token>'")
    token = header[len("Bearer "):].strip()
    if not token or len(token) > 200:
        raise AuthError("unknown device token")
    found = driver.fetch(conn, _BY_TOKEN, [hash_token(token)])
    if not found:
        raise AuthError("unknown device token")
    device_id, device_name, user_id, revoked_at, role, user_name, depot_id = found[0]
    if revoked_at is not None:
        log.warning("revoked device %s tried to connect", device_id)
        raise DeviceRevokedError("this device was revoked; ask head office for a new one")
    user = {"id": user_id, "role": role, "name": user_name, "depot_id": depot_id}
    device = {"id": device_id, "name": device_name, "user_id": user_id}
    return user, device


def add_user(conn: sa.Connection, name: str, role: str, *, user_id: str | None = None,
             depot_id: str | None = None) -> str:
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(sorted(ROLES))}", field="role")
    if role == "depot" and not depot_id:
        raise ValidationError("a depot keeper works at a depot: name it", field="depot_id")
    user_id = user_id or new_id()
    conn.execute(users.insert().values(id=user_id, name=name, role=role, depot_id=depot_id,
                                       created_at=datetime.now(timezone.utc)))
    return user_id


def add_device(
    conn: sa.Connection, user_id: str, name: str, *, device_id: str | None = None, token: str | None = None
) -> tuple[str, str]:
    """Register a device; return ``(device_id, token)``. The token is shown only now."""
    if conn.execute(sa.select(users.c.id).where(users.c.id == user_id)).first() is None:
        raise NotFoundError(f"no user {user_id}")
    device_id = device_id or new_id()
    token = token or secrets.token_urlsafe(32)
    conn.execute(devices.insert().values(id=device_id, user_id=user_id, name=name, token_hash=hash_token(token),
                                         created_at=datetime.now(timezone.utc)))
    return device_id, token


def revoke_device(conn: sa.Connection, device_id: str) -> None:
    done = conn.execute(
        devices.update().where(devices.c.id == device_id, devices.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(timezone.utc))
    )
    if done.rowcount == 0:
        raise NotFoundError(f"no active device {device_id}")


def list_users(conn: sa.Connection) -> list[dict]:
    """Everyone, with how many active devices each has."""
    active = (sa.select(devices.c.user_id, sa.func.count().label("devices"))
              .where(devices.c.revoked_at.is_(None)).group_by(devices.c.user_id).subquery())
    found = conn.execute(
        sa.select(users.c.id, users.c.name, users.c.role, users.c.depot_id,
                  sa.func.coalesce(active.c.devices, 0).label("devices"))
        .outerjoin(active, active.c.user_id == users.c.id).order_by(users.c.role, users.c.name)
    ).mappings()
    return [dict(r) for r in found]


def list_devices(conn: sa.Connection, user_id: str | None = None) -> list[dict]:
    """Devices (never their tokens), a person's only when ``user_id`` is given, with each
    one's clock skew (device minus server, ms) as its last push measured it, and when."""
    query = (sa.select(devices.c.id, devices.c.user_id, users.c.name.label("user_name"), devices.c.name,
                       devices.c.created_at, devices.c.revoked_at, devices.c.clock_skew_ms, devices.c.clock_measured_at)
             .join(users, users.c.id == devices.c.user_id).order_by(users.c.name, devices.c.created_at))
    if user_id is not None:
        query = query.where(devices.c.user_id == user_id)
    return [dict(r) for r in conn.execute(query).mappings()]
