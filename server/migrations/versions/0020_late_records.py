"""Each work log and stock movement keeps its receipt lag beside it, indexed:
``receipt_lag_ms``, how long after its own time the server received it — ``created_at``
minus its time field's instant (``at``, ``occurred_at``; a date alone at UTC midnight),
else minus ``device_time`` — a column the database generates in the write that stores the
row, like the instants of 0016_report_instants.

The appraisal's late days (server.reports.daily, ``late_only``) read a year of work logs
and consumptions to keep the few received late. A late record's lag passes the
deployment's grace (server.reports.daily._only_late works out why), so the report asks
the index for those and tests its rule on them alone (docs/decisions.md, "Late records
found by their receipt lag"). The lag holds no offset and no grace: changing either needs
no new column.

A column rather than an index on the expression: SQLite cannot reflect an index on an
expression, so the schema could not be checked against server/tables.py there. PostgreSQL
keeps it on disk (``STORED``: one rewrite of each table), computed by
``fieldsync_receipt_lag_ms``, declared ``IMMUTABLE`` as a generated column's must be
(``date_part('epoch', timestamptz)`` is declared ``STABLE`` but depends on no setting);
the instant is computed again from the text, as a generated column may not read another.
SQLite adds it as ``VIRTUAL``, indexed all the same: a table rebuilt to add a stored
column would lose stock_movement's triggers (0015, 0017).

Revision ID: 0020_late_records
Revises: 0019_ticket_facts
Create Date: 2026-12-01
"""

from alembic import op

revision = "0020_late_records"
down_revision = "0019_ticket_facts"
branch_labels = None
depends_on = None

#: the records given a receipt lag, by their time field (server.domain.moments.RECEIPT_LAGS)
_LAGS = {"work_log": "at", "stock_movement": "occurred_at"}
#: the columns before the lag in each index: consumptions are read by kind
_FIRST = {"work_log": "", "stock_movement": "kind, "}

_FUNCTION = """
CREATE FUNCTION fieldsync_receipt_lag_ms(received timestamptz, instant bigint, device_time timestamptz)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CAST(round(date_part('epoch', received) * 1000) AS BIGINT)
    - coalesce(instant, CAST(round(date_part('epoch', device_time) * 1000) AS BIGINT))
$$
"""


def _sqlite_ms(column: str) -> str:
    return f"CAST(round((julianday({column}) - 2440587.5) * 86400000) AS INTEGER)"


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(_FUNCTION)
    for table, field in _LAGS.items():
        if postgresql:
            op.execute(f"ALTER TABLE {table} ADD COLUMN receipt_lag_ms BIGINT GENERATED ALWAYS AS "
                       f"(fieldsync_receipt_lag_ms(created_at, fieldsync_instant_ms({field}), device_time)) STORED")
        else:
            op.execute(f"ALTER TABLE {table} ADD COLUMN receipt_lag_ms BIGINT GENERATED ALWAYS AS "
                       f"({_sqlite_ms('created_at')} - coalesce({_sqlite_ms(field)}, {_sqlite_ms('device_time')}))"
                       f" VIRTUAL")
        op.execute(f"CREATE INDEX {table}_receipt_lag ON {table} ({_FIRST[table]}receipt_lag_ms)")


def downgrade() -> None:
    for table in _LAGS:
        op.execute(f"DROP INDEX {table}_receipt_lag")
        op.execute(f"ALTER TABLE {table} DROP COLUMN receipt_lag_ms")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION fieldsync_receipt_lag_ms(timestamptz, bigint, timestamptz)")
