"""Bearer tokens: one per device, stored as a SHA-256 hash, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone

import sqlalchemy as sa

from sync.errors import AuthError, NotFoundError, ValidationError
from sync.ids import new_id
from sync.registry import ROLES

from .tables import devices, users

__all__ = ["hash_token", "authenticate", "add_user", "add_device", "revoke_device"]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(conn: sa.Connection, header: str | None) -> tuple[dict, dict]:
    """``(user, device)`` for an ``Authorization: Bearer …`` header, or ``AuthError``."""
    if not header or not header.startswith("Bearer "):
        raise AuthError("send the device token as 'Authorization: Bearer <token>'")
    token = header[len("Bearer "):].strip()
    if not token or len(token) > 200:
        raise AuthError("unknown device token")
    row = conn.execute(
        sa.select(devices, users.c.role, users.c.name.label("user_name"), users.c.depot_id)
        .join(users, users.c.id == devices.c.user_id)
        .where(devices.c.token_hash == hash_token(token))
    ).mappings().first()
    if row is None:
        raise AuthError("unknown device token")
    if row["revoked_at"] is not None:
        error = AuthError("this device was revoked; ask head office for a new one")
        error.code = "device_revoked"
        raise error
    user = {"id": row["user_id"], "role": row["role"], "name": row["user_name"], "depot_id": row["depot_id"]}
    device = {"id": row["id"], "name": row["name"], "user_id": row["user_id"]}
    return user, device


def add_user(conn: sa.Connection, name: str, role: str, *, user_id: str | None = None, depot_id: str | None = None) -> str:
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(sorted(ROLES))}", field="role")
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
