"""Human numbers are unique: ``ticket.number`` and ``complaint.number``.

The month's counter row is locked while a push hands out its numbers
(server/domain/numbering.py); these indexes refuse a duplicate whatever hands it out.

Revision ID: 0008_unique_numbers
Revises: 0007_writeoff
Create Date: 2026-12-01
"""

from alembic import op

revision = "0008_unique_numbers"
down_revision = "0007_writeoff"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ticket_number_unique", "ticket", ["number"], unique=True)
    op.create_index("complaint_number_unique", "complaint", ["number"], unique=True)


def downgrade() -> None:
    op.drop_index("complaint_number_unique", table_name="complaint")
    op.drop_index("ticket_number_unique", table_name="ticket")
