"""Indexes for head office's reports (server.reports): each reads a range of days by a
record's own time field, and stock movements of one kind by time.

Revision ID: 0002_report_indexes
Revises: 0011_report_format
Create Date: 2026-12-01
"""

from alembic import op

revision = "0002_report_indexes"
down_revision = "0011_report_format"
branch_labels = None
depends_on = None

INDEXES = {
    "work_log": (("at",),),
    "stock_movement": (("kind", "occurred_at"), ("kind", "device_time")),
    "ticket": (("reported_at",), ("completed_at",)),
    "complaint": (("received_at",),),
    "satisfaction_survey": (("surveyed_at",),),
}


def _name(table: str, columns: tuple[str, ...]) -> str:
    return f"{table}_report_{'_'.join(columns)}"


def upgrade() -> None:
    for table, indexes in INDEXES.items():
        for columns in indexes:
            op.create_index(_name(table, columns), table, list(columns), unique=False)

