"""The ``fieldsync`` command: a thin edge over the server library.

Expected failures are messages (``click.ClickException``), never tracebacks.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click
import sqlalchemy as sa
from alembic.util import CommandError

from sync import hlc
from sync.errors import SyncError

from . import auth

__all__ = ["main"]


def _app():
    from .app import create_app

    return create_app()


@contextmanager
def _engine() -> Iterator[sa.Engine]:
    """The database for one command; its connections are closed when it ends."""
    engine = _app().extensions["fieldsync"].engine
    try:
        yield engine
    finally:
        engine.dispose()


def _friendly(command):
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SyncError as exc:
            raise click.ClickException(exc.message) from None
        except CommandError as exc:  # Alembic's refusal, e.g. a database newer than this code
            raise click.ClickException(str(exc)) from None

    return wrapper


@click.group(help="fieldsync: offline-first sync server for after-sales field service.")
def main() -> None:
    pass


@main.command(help="Serve the API with gunicorn (DATABASE_URL picks the database).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="processes; each holds its own database pool")
@click.option("--threads", default=12, show_default=True, type=click.IntRange(1, 64),
              help="request threads per worker; a slow client holds one until its read timeout")
@click.option("--read-timeout", default=30.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="seconds a request's head and body have to arrive from its first byte; a late body gets 408")
@_friendly
def serve(host: str, port: int, workers: int, threads: int, read_timeout: float) -> None:
    from .migrations import pending
    from .serving import serve as run

    # Before the fork: SQLite is migrated here once (create_app); PostgreSQL must already
    # be at head, or every request would fail in every worker.
    app = _app()
    behind = pending(app.config["DATABASE_URL"])
    app.extensions["fieldsync"].engine.dispose()  # no pooled connection crosses the fork
    if behind:
        raise click.ClickException(f"the database lacks migrations {', '.join(behind)}: run `fieldsync db upgrade` first")

    click.echo(f"fieldsync serving on http://{host}:{port} with {workers} worker(s) of {threads} thread(s)")
    run(_app, bind=f"{host}:{port}", workers=workers, threads=threads, read_timeout=read_timeout)


@main.group(help="Database schema (Alembic migrations in server/migrations).")
def db() -> None:
    pass


@db.command("upgrade", help="Create the schema or bring it to the newest migration; run before starting new code.")
@_friendly
def db_upgrade() -> None:
    from .db import create_schema

    with _engine() as engine:
        create_schema(engine)
    click.echo("schema is at head")


@db.command("revision", help="Write the next migration: what server.tables has that the migrations lack.")
@click.option("-m", "--message", required=True, help="what the step does, e.g. 'add stock movements'")
@_friendly
def db_revision(message: str) -> None:
    from .migrations import revision

    path = revision(message)
    click.echo(f"wrote {path}\nread it (renames show as drop + add), then commit it")


@db.command("compact", help="Drop change-log entries no device needs (devices behind the new horizon resync) "
                             "and uploads in progress abandoned for a while (their devices upload again).")
@click.option("--keep-days", default=30, show_default=True, type=click.IntRange(0, 3650),
              help="keep every entry of the last N days")
@click.option("--keep-after", type=click.IntRange(0), default=None, help="keep every entry after this seq instead")
@click.option("--upload-days", default=7, show_default=True, type=click.IntRange(0, 3650),
              help="drop uploads in progress that no piece reached for N days")
@_friendly
def db_compact(keep_days: int, keep_after: int | None, upload_days: int) -> None:
    from datetime import datetime, timedelta, timezone

    from .blobs import drop_abandoned
    from .compaction import compact, seq_before

    now = datetime.now(timezone.utc)
    with _engine() as engine:
        if keep_after is None:
            keep_after = seq_before(engine, now - timedelta(days=keep_days))
        done = compact(engine, keep_after)
        dropped = drop_abandoned(engine, now - timedelta(days=upload_days))
    click.echo(f"removed {done.purged} log entries and {done.unscoped} scope entries; "
               f"a device whose cursor is below {done.horizon} resyncs its scope")
    click.echo(f"dropped {dropped} upload{'' if dropped == 1 else 's'} in progress untouched for {upload_days} days")


@main.command(help="Load demo people and records (once) and print their device tokens.")
@_friendly
def demo() -> None:
    from .demo import DEMO_PASSWORD, load_demo

    app = _app()
    services = app.extensions["fieldsync"]
    clock = {}

    def hlc_for(device: str) -> str:
        clock.setdefault(device, hlc.Clock(device))
        return str(clock[device].tick())

    for name, role, token in load_demo(services.engine, services.registry, hlc_for):
        click.echo(f"{role:9} {name:28} token: {token}")
    click.echo(f"console: http://127.0.0.1:8000/console/ — sign in as u-desk, u-manager or u-depot "
               f"with the password {DEMO_PASSWORD}")


@main.group(help="People.")
def user() -> None:
    pass


@user.command("add", help="Add a person with a role.")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["engineer", "depot", "desk", "manager"]))
@click.option("--depot", "depot_id", default=None, help="the depot a depot keeper works at")
@_friendly
def user_add(name: str, role: str, depot_id: str | None) -> None:
    with _engine() as engine, engine.begin() as conn:
        click.echo(auth.add_user(conn, name, role, depot_id=depot_id))


@user.command("list", help="List people: id, role, depot, active devices.")
def user_list() -> None:
    with _engine() as engine, engine.connect() as conn:
        people = auth.list_users(conn)
    for p in people:
        click.echo(f"{p['id']}  {p['role']:9} {p['name']:28} depot={p['depot_id'] or '-'}  devices={p['devices']}")


@user.command("set-password", help="Set the console password of a desk, manager or depot person (LOGIN is their "
                                    "user id): asked twice at a terminal, else read as one line from stdin. "
                                    "Their open console sessions end.")
@click.argument("login")
@_friendly
def user_set_password(login: str) -> None:
    import sys

    from .console.accounts import set_password

    stdin = sys.stdin
    if stdin.isatty():
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException("no password on stdin: pipe one line, e.g. `printf '%s\\n' \"$PW\" | "
                                       "fieldsync user set-password LOGIN`")
    with _engine() as engine, engine.begin() as conn:
        set_password(conn, login, password)
    click.echo(f"password set for {login}; they sign in at /console/login")


@main.group(help="Devices and their tokens.")
def device() -> None:
    pass


@device.command("add", help="Register a device for a person; prints its id and token once.")
@click.argument("user_id")
@click.option("--name", default="device", show_default=True)
@_friendly
def device_add(user_id: str, name: str) -> None:
    with _engine() as engine, engine.begin() as conn:
        device_id, token = auth.add_device(conn, user_id, name)
    click.echo(f"device {device_id}\ntoken  {token}")


@device.command("list", help="List devices (never their tokens), with when each was revoked and its clock skew.")
@click.option("--user", "user_id", default=None, help="only this person's devices")
def device_list(user_id: str | None) -> None:
    with _engine() as engine, engine.connect() as conn:
        found = auth.list_devices(conn, user_id)
    for d in found:
        state = f"revoked {d['revoked_at']:%Y-%m-%d %H:%M}" if d["revoked_at"] else "active"
        click.echo(f"{d['id']}  {d['user_name']:28} {d['name']:24} {state:24} clock {_skew(d)}")


def _skew(device: dict) -> str:
    """A device's clock as its last push measured it: ``+3d 00:00:01 fast (at …)``."""
    skew = device["clock_skew_ms"]
    if skew is None:
        return "not measured"
    size = abs(skew) // 1000
    days, rest = divmod(size, 86400)
    text = f"{days}d {rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    way = "fast" if skew > 0 else "slow" if skew < 0 else "right"
    return f"{text} {way} (measured {device['clock_measured_at']:%Y-%m-%d %H:%M})"


@device.command("revoke", help="Revoke a device at once (a lost phone).")
@click.argument("device_id")
@_friendly
def device_revoke(device_id: str) -> None:
    with _engine() as engine, engine.begin() as conn:
        auth.revoke_device(conn, device_id)
    click.echo(f"revoked {device_id}")


@device.command("recover", help="Push a revoked device's unsent work from its replica file, on its owner's behalf "
                                 "(audited; rows its owner could not write are refused and listed).")
@click.argument("replica_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "recovered_by", required=True, help="the head-office person recovering it (user id)")
@_friendly
def device_recover(replica_file: Path, recovered_by: str) -> None:
    from .blobs import BlobLimits
    from .recovery import recover

    app = _app()
    services = app.extensions["fieldsync"]
    try:
        done = recover(services.engine, services.registry, services.config, replica_file, recovered_by,
                       services.now_ms, BlobLimits.of(app.config))
    finally:
        services.engine.dispose()
    click.echo(f"device {done.device_id} of {done.user_id}: {done.pushed} change(s) recovered, "
               f"{done.conflicts} in conflict, {len(done.refused)} refused, {done.images} image(s) uploaded")
    for parked in done.refused:
        click.echo(f"  refused {parked.op} {parked.entity} {parked.row_id}: {parked.code} ({parked.message})")


@main.group(help="The OpenAPI document.")
def openapi() -> None:
    pass


@openapi.command("write", help="Write openapi.yaml from the code.")
@click.argument("path", default="openapi.yaml", type=click.Path(dir_okay=False, path_type=Path))
def openapi_write(path: Path) -> None:
    from .openapi import render

    path.write_text(render(_app()))
    click.echo(f"wrote {path}")


@main.group(help="Generated documentation.")
def docs() -> None:
    pass


@docs.command("write", help="Write the entity reference (docs/entities.md) from the registry and the rules.")
@click.argument("path", default="docs/entities.md", type=click.Path(dir_okay=False, path_type=Path))
def docs_write(path: Path) -> None:
    from .entity_reference import render

    path.write_text(render(), encoding="utf-8")
    click.echo(f"wrote {path}")


@main.group("client-schema", help="The device replica's SQL, for clients in other languages.")
def client_schema_group() -> None:
    pass


@client_schema_group.command("write", help="Write the replica's trigger SQL and migrations table into DIR.")
@click.argument("directory", default="client_schema/sql", type=click.Path(file_okay=False, path_type=Path))
def client_schema_write(directory: Path) -> None:
    import client_schema

    for path in client_schema.write_sql(directory):
        click.echo(f"wrote {path}")


@contextmanager
def _server_batch():
    """A server batch for one command; the database's connections are closed when it ends."""
    from .apply import server_batch

    services = _app().extensions["fieldsync"]
    try:
        with server_batch(services.engine, services.registry, services.config, services.now_ms()) as batch:
            yield batch
    finally:
        services.engine.dispose()


@main.group(help="Head office jobs, for a scheduler (cron) to run.")
def office() -> None:
    pass


@office.command("generate-visits", help="Create the maintenance visits due within the horizon.")
@click.option("--horizon-days", default=31, show_default=True, type=click.IntRange(1, 366))
@_friendly
def office_generate_visits(horizon_days: int) -> None:
    from .domain.maintenance import generate_visits

    with _server_batch() as batch:
        made = generate_visits(batch, horizon_days)
    click.echo(f"{len(made)} visit(s) created")


@office.command("mark-missed-visits", help="Mark missed the planned maintenance visits not done by their date.")
@_friendly
def office_mark_missed_visits() -> None:
    from .domain.maintenance import mark_missed_visits

    with _server_batch() as batch:
        missed = mark_missed_visits(batch)
    click.echo(f"{len(missed)} visit(s) marked missed")


@office.command("escalate-complaints", help="Escalate open complaints past their deadline.")
@_friendly
def office_escalate() -> None:
    from .domain.complaints import escalate_overdue

    with _server_batch() as batch:
        overdue = escalate_overdue(batch)
    click.echo(f"{len(overdue)} complaint(s) escalated")


@office.command("evaluate-sla", help="Re-evaluate the SLA state of every open ticket (on time, at risk, late, "
                                     "met, missed) as of now.")
@_friendly
def office_evaluate_sla() -> None:
    from .domain.sla import evaluate_open

    with _server_batch() as batch:
        changed = evaluate_open(batch)
    click.echo(f"{len(changed)} ticket(s) changed SLA state")
