"""ticket search index: character bigrams of tickets' texts in SQLite FTS5

Revision ID: 6a2f0c9d8e14
Revises: 4d7e9a1c2b60
Create Date: 2026-12-02 09:00:00

The console's search scanned every description (``LIKE '%…%'``): 407 ms at 100,000
tickets. ``casestore.services.search`` explains the index; this creates it on SQLite and
fills it from the tickets there are. PostgreSQL keeps the scan (no table is created).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "6a2f0c9d8e14"
down_revision: str | None = "4d7e9a1c2b60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    from casestore.services import search  # the same rules as the live index

    op.execute(search.CREATE)
    search.reindex(bind)


def downgrade() -> None:
    from casestore.services import search

    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TABLE {search.TABLE}")
