"""Approvals: a status machine on requisitions, charges and expense claims, the record of
every decision (``approval_history``) and of everyone who wrote what a decision covers
(``authors``), and the advance an expense claim is settled against (``advance_id``).

A requisition's ``approved`` flag becomes its ``status``: approved ones are ``approved``,
the others have no status yet (read as submitted). A charge a manager had approved
(``approved_by`` set) is ``approved``. The device replicas make the same changes
(client_schema step 0009), so both sides agree without a resync.

Revision ID: 0006_approvals
Revises: 0005_conflict_withheld
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = '0006_approvals'
down_revision = '0005_conflict_withheld'
branch_labels = None
depends_on = None


def _decisions(table: str) -> None:
    op.add_column(table, sa.Column('approval_history', sa.Text(), nullable=True))
    op.add_column(table, sa.Column('authors', sa.Text(), nullable=True))


def upgrade() -> None:
    op.add_column('requisition', sa.Column('status', sa.String(length=20), nullable=True))
    _decisions('requisition')
    op.execute("UPDATE requisition SET status = 'approved' WHERE approved")
    op.drop_column('requisition', 'approved')

    op.add_column('charge', sa.Column('status', sa.String(length=20), nullable=True))
    _decisions('charge')
    op.execute("UPDATE charge SET status = 'approved' WHERE approved_by IS NOT NULL")

    _decisions('expense_claim')
    op.add_column('expense_claim', sa.Column('advance_id', sa.String(length=64), nullable=True))
    op.create_index('expense_claim_advance_id', 'expense_claim', ['advance_id'], unique=False)
