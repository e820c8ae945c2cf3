"""Canonical reports by RFC 8785: ``signature.report_format``, the format a signature's
``report_hash`` was computed in (sync/report.py). Every signature stored before is
format 1; and ``stale``, which a signature that matched its report left empty, is
false there from now on (a client reads a boolean, never null). The change log's copies
of those rows say the same, so a pull from any cursor brings them so.

Revision ID: 0011_report_format
Revises: 0007_writeoff
Create Date: 2026-12-01
"""

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0011_report_format"
down_revision = "0010_visit_schedule_plans"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signature") as batch_op:
        batch_op.add_column(sa.Column("report_format", sa.BigInteger(), nullable=True))
    op.execute("UPDATE signature SET report_format = 1")
    op.execute("UPDATE signature SET stale = false WHERE stale IS NULL")
    conn = op.get_bind()
    logged = conn.execute(sa.text("SELECT seq, data FROM change_log WHERE entity = 'signature' AND data IS NOT NULL"))
    rewritten = []
    for seq, data in logged:
        row = orjson.loads(data)
        row.setdefault("report_format", 1)
        if row.get("stale") is None:
            row["stale"] = False
        rewritten.append({"seq": seq, "data": orjson.dumps(row).decode()})
    if rewritten:
        conn.execute(sa.text("UPDATE change_log SET data = :data WHERE seq = :seq"), rewritten)

