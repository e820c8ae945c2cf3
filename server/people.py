"""Whose scope a person or a device reads, as a push asks it: each looked up once.

Authorization asks whom a reference names (a part's holder, the maker of a row in
nobody's scope); a conflict note asks whose device lost, so that person's devices pull it,
and whether the value it replaces was its own author's (then it is no conflict).
"""

from __future__ import annotations

import sqlalchemy as sa

from . import driver, scopes

__all__ = ["People"]

_PERSON = "SELECT role, depot_id FROM users WHERE id = ?"
_DEVICE = "SELECT users.id, users.role, users.depot_id FROM users JOIN devices ON devices.user_id = users.id " \
          "WHERE devices.id = ?"


class People:
    """Lookups of people and devices in the caller's transaction, remembered for it."""

    def __init__(self, conn: sa.Connection):
        self.conn = conn
        self._people: dict[str, tuple[str, str | None] | None] = {}
        #: device id → (user id, role, depot id) of its owner, or None
        self._devices: dict[str, tuple[str, str, str | None] | None] = {}

    def person(self, user_id: str) -> tuple[str, str | None] | None:
        """``(role, depot id)`` of a person, or ``None`` when nobody has that id."""
        if user_id not in self._people:
            found = driver.fetch(self.conn, _PERSON, [user_id])
            self._people[user_id] = (found[0][0], found[0][1]) if found else None
        return self._people[user_id]

    def device_key(self, device_id: str | None) -> str | None:
        """The scope key of the person behind a device (none for the office or the server)."""
        owner = self._owner(device_id)
        return scopes.person_key(*owner) if owner else None

    def device_user(self, device_id: str | None) -> str | None:
        """The id of the person a device belongs to (none for the server)."""
        owner = self._owner(device_id)
        return owner[0] if owner else None

    def _owner(self, device_id: str | None) -> tuple[str, str, str | None] | None:
        if not device_id or device_id == "server":
            return None
        if device_id not in self._devices:
            found = driver.fetch(self.conn, _DEVICE, [device_id])
            self._devices[device_id] = (found[0][0], found[0][1], found[0][2]) if found else None
        return self._devices[device_id]
