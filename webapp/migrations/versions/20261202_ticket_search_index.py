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
from sqlalchemy import text

revision: str = "6a2f0c9d8e14"
down_revision: str | None = "4d7e9a1c2b60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "ticket_fts"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    from casestore.services.search import CREATE, terms  # the same rules as the live index

    op.execute(CREATE)
    last = 0
    while True:
        rows = bind.execute(
            text(
                "SELECT id, description, location_text, contact_phone FROM ticket "
                "WHERE id > :last ORDER BY id LIMIT 2000"
            ),
            {"last": last},
        ).all()
        if not rows:
            break
        bind.execute(
            text(f"INSERT INTO {TABLE} (rowid, terms) VALUES (:id, :terms)"),
            [{"id": row[0], "terms": terms(*row[1:])} for row in rows],
        )
        last = rows[-1][0]


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TABLE {TABLE}")
