"""Each time field the daily report, the quality figures and the appraisal read by the
tens of thousands keeps its instant beside it: ``<field>_ms``, ms since the epoch (a date
alone at UTC midnight), a column the database generates from the field in the write that
stores it (docs/decisions.md, "A time field's instant is stored beside it").

Reading the device's text as a time was most of those reports' cost; a generated column
holds what :func:`server.domain.moments.epoch_ms` computed at offset 0, for every row
however it was written — a push, the server's own writes, a late record from a device
that was offline, a bulk load — and the upgrade fills it for the rows already there.
PostgreSQL keeps it on disk (``STORED``), computed by ``fieldsync_instant_ms``, the
same reading of the text as ``epoch_ms``, declared ``IMMUTABLE`` as a generated column
must be: it is, since a time with an offset and one read as UTC depend on no setting.
SQLite adds it as ``VIRTUAL`` (it cannot add a stored column to a table without
rebuilding it, which would drop the stock balance triggers): the same value, computed
when read, as before.

Revision ID: 0016_report_instants
Revises: 0015_stock_balance
Create Date: 2026-12-01
"""

from alembic import op

revision = "0016_report_instants"
down_revision = "0015_stock_balance"
branch_labels = None
depends_on = None

#: the time fields given an instant, by table (server.domain.moments.INSTANTS as of this step)
INSTANTS = {
    "work_log": ("at",),
    "stock_movement": ("occurred_at",),
    "ticket": ("reported_at", "completed_at"),
}

# A date alone is read at UTC midnight; a time ending in Z or in ±HH:MM (whose sign is then
# the sixth character from the end) as the instant it names; any other time as UTC.
_FUNCTION = """
CREATE FUNCTION fieldsync_instant_ms(t character varying) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CAST(round(CASE
    WHEN length(t) = 10 THEN date_part('epoch', CAST(t AS timestamp)) * 1000
    WHEN right(t, 1) = 'Z' OR substr(t, length(t) - 5, 1) IN ('+', '-')
      THEN date_part('epoch', CAST(t AS timestamptz)) * 1000
    ELSE date_part('epoch', CAST(t AS timestamp)) * 1000 END) AS BIGINT)
$$
"""


def _sqlite_instant(field: str) -> str:
    return f"CAST(round((julianday({field}) - 2440587.5) * 86400000) AS INTEGER)"


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(_FUNCTION)
    for table, fields in INSTANTS.items():
        if postgresql:  # one rewrite of the table for all its columns
            op.execute(f"ALTER TABLE {table} " + ", ".join(
                f"ADD COLUMN {field}_ms BIGINT GENERATED ALWAYS AS (fieldsync_instant_ms({field})) STORED"
                for field in fields))
        else:
            for field in fields:
                op.execute(f"ALTER TABLE {table} ADD COLUMN {field}_ms BIGINT "
                           f"GENERATED ALWAYS AS ({_sqlite_instant(field)}) VIRTUAL")


def downgrade() -> None:
    for table, fields in INSTANTS.items():
        for field in fields:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {field}_ms")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION fieldsync_instant_ms(character varying)")
