from __future__ import annotations

from pathlib import Path

from webapp.migrate import check, downgrade, upgrade


def test_migrations_match_models_and_reverse(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    check(url)  # alembic check: no model change without a migration
    downgrade(url)
    upgrade(url)
