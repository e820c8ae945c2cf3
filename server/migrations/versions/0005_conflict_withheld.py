"""What a conflict record keeps from its loser: ``conflict.withheld`` (head office only),
the winning side of a record whose row had left the loser's scope.

Revision ID: 0005_conflict_withheld
Revises: 0004_conflict_queue_and_recovery
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_conflict_withheld"
down_revision = "0004_conflict_queue_and_recovery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conflict") as batch_op:
        batch_op.add_column(sa.Column("withheld", sa.Text(), nullable=True))
