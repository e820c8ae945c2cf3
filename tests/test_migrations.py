"""The schema is Alembic's: every revision applies in order on SQLite and PostgreSQL, and
the database it builds is exactly the models of server/tables.py (no drift either way).

Tests elsewhere build their databases through the same migrations (the app's start-up
on SQLite, tests/conftest.py on PostgreSQL), so the whole suite also runs on them.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

import server.migrations
from server import create_app
from server.cli import main
from server.db import make_engine
from server.migrations import pending, revisions, upgrade
from server.tables import log_head, metadata


def _schema_drift(url: str) -> list:
    """What Alembic would have to change for the database at ``url`` to match the models."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()


def _current(url: str) -> tuple[str, ...]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_heads()
    finally:
        engine.dispose()


def _log_head(url: str) -> tuple[int, int, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(sa.select(log_head)).one())
    finally:
        engine.dispose()


def test_upgrading_an_empty_database_one_revision_at_a_time_ends_exactly_at_the_models(empty_database_url):
    """Each step starts from a database of the previous version, as a deployment would."""
    steps = revisions()
    assert steps, "there is no migration at all"
    for done, step in enumerate(steps, start=1):
        upgrade(empty_database_url, step)
        assert _current(empty_database_url) == (step,)
        assert pending(empty_database_url) == steps[done:]
    assert _schema_drift(empty_database_url) == [], (
        "server/tables.py and server/migrations differ: run `fieldsync db revision -m '...'` (server/migrations/README.md)"
    )
    assert _log_head(empty_database_url) == (1, 0, 0)


def test_db_upgrade_command_builds_the_schema_and_a_second_run_changes_nothing(empty_database_url):
    runner = CliRunner()
    first = runner.invoke(main, ["db", "upgrade"], env={"DATABASE_URL": empty_database_url})
    assert first.exit_code == 0, first.output
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.update(log_head).values(last_seq=41))
        second = runner.invoke(main, ["db", "upgrade"], env={"DATABASE_URL": empty_database_url})
        assert second.exit_code == 0, second.output
        with engine.connect() as conn:
            assert conn.execute(sa.select(log_head.c.last_seq)).scalar_one() == 41
    finally:
        engine.dispose()
    assert pending(empty_database_url) == []
    assert "schema is at head" in second.output


def test_app_start_up_migrates_sqlite_but_leaves_postgresql_to_db_upgrade(empty_database_url):
    """Several workers starting at once must not race to migrate PostgreSQL; SQLite has one host."""
    app = create_app({"DATABASE_URL": empty_database_url, "TESTING": True})
    try:
        sqlite = app.extensions["fieldsync"].engine.dialect.name == "sqlite"
    finally:
        app.extensions["fieldsync"].engine.dispose()
    assert pending(empty_database_url) == ([] if sqlite else revisions())


def test_db_revision_writes_a_step_that_builds_the_models(tmp_path, monkeypatch):
    """The recipe for the next schema change: with no step yet, it writes the whole schema."""
    scripts = tmp_path / "migrations"
    shutil.copytree(server.migrations._HERE, scripts, ignore=shutil.ignore_patterns("__pycache__", "0*.py"))
    monkeypatch.setattr(server.migrations, "_HERE", scripts)

    result = CliRunner().invoke(main, ["db", "revision", "-m", "everything so far"])

    assert result.exit_code == 0, result.output
    assert [p.name for p in (scripts / "versions").glob("*.py")] == ["0001_everything_so_far.py"]
    url = f"sqlite:///{tmp_path / 'built.db'}"
    upgrade(url)
    assert _schema_drift(url) == []


def test_a_database_newer_than_the_code_is_refused_with_a_message(empty_database_url):
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()

    result = CliRunner().invoke(main, ["db", "upgrade"], env={"DATABASE_URL": empty_database_url})

    assert result.exit_code == 1
    assert "9999" in result.output and "Traceback" not in result.output


def test_a_database_made_before_there_were_migrations_is_refused_with_a_message(empty_database_url):
    engine = make_engine(empty_database_url)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()

    result = CliRunner().invoke(main, ["db", "upgrade"], env={"DATABASE_URL": empty_database_url})

    assert result.exit_code == 1
    assert "made before fieldsync had migrations" in result.output and "Traceback" not in result.output


def test_a_requisition_and_a_part_sale_approved_before_the_upgrade_are_approved_after_it(empty_database_url):
    upgrade(empty_database_url, "0003_device_clock")
    engine = make_engine(empty_database_url)
    bookkeeping = {"version": 2, "deleted": False, "clock": "{}", "created_at": datetime.now(timezone.utc),
                   "updated_at": datetime.now(timezone.utc)}
    try:
        with engine.begin() as conn:
            for row_id, approved in (("r-approved", True), ("r-waiting", False)):
                conn.execute(sa.text("INSERT INTO requisition (id, approved, reason, version, deleted, clock, "
                                     "created_at, updated_at) VALUES (:id, :approved, '换皮带', :version, "
                                     ":deleted, :clock, :created_at, :updated_at)"),
                             {"id": row_id, "approved": approved, **bookkeeping})
            conn.execute(sa.text("INSERT INTO charge (id, kind, amount, approved_by, version, deleted, clock, "
                                 "created_at, updated_at) VALUES ('c-sold', 'part_sale', 800, 'u-manager', :version, "
                                 ":deleted, :clock, :created_at, :updated_at)"), bookkeeping)
        upgrade(empty_database_url)
        with engine.connect() as conn:
            statuses = dict(conn.execute(sa.text("SELECT id, status FROM requisition")).all())
            charge = conn.execute(sa.text("SELECT status FROM charge")).scalar_one()
    finally:
        engine.dispose()
    assert statuses == {"r-approved": "approved", "r-waiting": None}
    assert charge == "approved"
