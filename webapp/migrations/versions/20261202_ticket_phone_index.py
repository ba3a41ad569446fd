"""ticket phone index: a resident's record (民生档案) finds their tickets by phone number

Revision ID: 8b3e5d7f9a21
Revises: 6a2f0c9d8e14
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "8b3e5d7f9a21"
down_revision: str | None = "6a2f0c9d8e14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_ticket_contact_phone", "ticket", ["contact_phone"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_ticket_contact_phone", table_name="ticket")
