"""open311 keys: per-client Open311 API keys (hash only); ticket.updated_at read back in UTC

Revision ID: 3f8a61c2d5b7
Revises: 7b1d2c9e4f10
Create Date: 2026-12-02 01:40:00

``ticket.updated_at`` becomes ``UTCDateTime`` in the model. Its column type stays
``DateTime(timezone=True)`` (UTCDateTime's storage type), so no DDL is needed: PostgreSQL kept
the offset already, and SQLite holds the UTC wall time that ``utcnow()`` wrote, which
UTCDateTime now reads back as UTC instead of as a naive value. The column is restated here so
that the migration history records the change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision: str = "3f8a61c2d5b7"
down_revision: str | None = "7b1d2c9e4f10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "open311_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_open311_key_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_open311_key_name")),
    )


def downgrade() -> None:
    op.drop_table("open311_key")
