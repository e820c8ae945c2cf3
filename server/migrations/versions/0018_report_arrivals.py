"""An index of the arrivals logged on tickets: the quality figures' first-time fix finds
the tickets with a second arrival in one pass over it, where they had looked into every
finished ticket's work log (server.reports.quality).

Revision ID: 0018_report_arrivals
Revises: 0017_open_consumption
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_report_arrivals"
down_revision = "0017_open_consumption"
branch_labels = None
depends_on = None

#: the live arrivals; the queries that use the index name the event as this literal
_ARRIVED = sa.text("event = 'arrived' AND deleted IS false")
_ARRIVED_SQLITE = sa.text("event = 'arrived' AND deleted IS 0")


def upgrade() -> None:
    op.create_index("work_log_arrivals", "work_log", ["ticket_id"], postgresql_where=_ARRIVED,
                    sqlite_where=_ARRIVED_SQLITE)


def downgrade() -> None:
    op.drop_index("work_log_arrivals", "work_log")
