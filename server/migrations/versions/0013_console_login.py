"""Console login for office and depot people: a password hash per person (argon2id;
none until ``fieldsync user set-password``) and what the lockout counts — failures in
the current window, when the window began, and until when the account is locked; and
an index on the ticket's zone, which the console's board filters and lists.

Revision ID: 0013_console_login
Revises: 0011_report_format
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_console_login"
down_revision = "0012_report_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("failed_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ticket_zone", "ticket", ["zone"])
