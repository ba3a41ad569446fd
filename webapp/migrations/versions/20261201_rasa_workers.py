"""rasa workers: which model each Rasa worker or replica has loaded (the model endpoint's pulls)

Revision ID: 7b1d2c9e4f10
Revises: e52f6c378a58
Create Date: 2026-12-01 22:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision: str = "7b1d2c9e4f10"
down_revision: str | None = "e52f6c378a58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rasa_worker",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index(op.f("ix_rasa_worker_seen_at"), "rasa_worker", ["seen_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_rasa_worker_seen_at"), table_name="rasa_worker")
    op.drop_table("rasa_worker")
