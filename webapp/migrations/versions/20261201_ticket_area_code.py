"""ticket area code: the community, street or district queue when no grid is known

Revision ID: e52f6c378a58
Revises: 5cbea642cb6b
Create Date: 2026-12-01 18:43:18.617154
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e52f6c378a58"
down_revision: str | None = "5cbea642cb6b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("area_code", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_ticket_area_code"), ["area_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_area_code"))
        batch_op.drop_column("area_code")
