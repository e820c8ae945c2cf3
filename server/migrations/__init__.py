"""The server's schema as Alembic migrations, run from code (there is no alembic.ini).

``fieldsync db upgrade`` and the app's start-up on SQLite reach :func:`upgrade` through
:func:`server.db.create_schema`; ``fieldsync db revision -m`` calls :func:`revision` to
write the next step after the models in :mod:`server.tables` change (see README.md
here). Steps are forward-only: a deployed database only ever moves to head.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from sync.errors import SyncError

from ..db import make_engine

__all__ = ["upgrade", "revisions", "pending", "pending_on", "revision"]

_HERE = Path(__file__).resolve().parent


def _config(database_url: str) -> Config:
    """Alembic's configuration for ``database_url``, with the scripts in this package."""
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    # ConfigParser reads "%" as interpolation: a password's %-escape must survive it.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config("sqlite://"))


def upgrade(database_url: str, target: str = "head") -> None:
    """Bring the database to ``target`` (a revision id, or ``head``), one step at a time.

    Raises ``SyncError`` for a database whose tables were made before there were
    migrations (``metadata.create_all``): Alembic would try to create them again.
    """
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()
    if tables and "alembic_version" not in tables:
        raise SyncError(
            "this database has tables but no migration record: it was made before fieldsync had "
            "migrations. Delete it (make clean, for the development database) and start again."
        )
    command.upgrade(_config(database_url), target)


def revisions() -> list[str]:
    """Every revision id, oldest first."""
    return [script.revision for script in reversed(list(_scripts().walk_revisions()))]


def pending(database_url: str) -> list[str]:
    """The revisions the database still lacks, oldest first (empty: it is at head)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
    finally:
        engine.dispose()
    return _lacking(current)


def pending_on(conn: sa.Connection) -> list[str]:
    """:func:`pending` on an open connection (the app's own pool: ``/readyz``)."""
    return _lacking(MigrationContext.configure(conn).get_current_heads())


def _lacking(current) -> list[str]:
    applied = {script.revision for script in _scripts().iterate_revisions(current, "base")}
    return [rev for rev in revisions() if rev not in applied]


def revision(message: str) -> Path:
    """Write the next step, ``NNNN_<message>.py``: what the models have that head lacks.

    The models are compared with a scratch SQLite database migrated to head, so no
    server database is needed; the step it writes runs on both databases (batch mode).
    """
    number = f"{len(revisions()) + 1:04d}"
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'head.db'}"
        upgrade(url)
        script = command.revision(_config(url), message, autogenerate=True, rev_id=number)
    return Path(script.path)
