"""The two ways the device engine holds its replica's connection while it writes."""

from __future__ import annotations

import sqlite3

__all__ = ["Transaction", "Quiet"]


class Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception.

    Immediate, so the write lock is taken at once: the app writing alongside waits its
    turn instead of failing the engine's transaction half-way.
    """

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, value, tb):
        if kind is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")
        return False


class Quiet:
    """Silence the capture triggers while the engine itself writes (pulled rows are
    not local edits to send back)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("UPDATE _sync_control SET applying = 1")

    def __exit__(self, *exc):
        self.db.execute("UPDATE _sync_control SET applying = 0")
        return False
