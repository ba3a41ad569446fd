"""Apply Alembic migrations programmatically (tests, CLI)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from core.settings import ROOT


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def check(database_url: str) -> None:
    """Fail if the models and the migrations disagree (``alembic check``)."""
    command.check(alembic_config(database_url))
