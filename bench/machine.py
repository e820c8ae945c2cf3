"""What the figures were measured on: the machine, its load, and every version involved."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from importlib import metadata

import psycopg

from .servers import PG_ADMIN_URL, ROOT

__all__ = ["describe"]

_PACKAGES = ("flask", "gunicorn", "sqlalchemy", "httpx", "orjson", "psycopg", "kinto", "waitress")


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> str:
    try:
        with open("/proc/meminfo") as info:
            kib = int(info.readline().split()[1])
        return f"{kib / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown"


def _postgres() -> str:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error:
        return "not reachable"


def _commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe() -> list[str]:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"CPU: {_cpu()}, {os.cpu_count()} cores; memory {_memory_gib()}; load average at the end {load}",
        f"OS: {platform.platform()}",
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, PostgreSQL {_postgres()}",
        "packages: " + ", ".join(f"{p} {_version(p)}" for p in _PACKAGES),
        f"fieldsync commit: {_commit()}",
    ]
