"""Alembic environment: the database URL comes from the app settings."""

from __future__ import annotations

from alembic import context

from casestore.services.search import TABLE as SEARCH_TABLE
from core.db import make_engine
from core.settings import get_settings
from webapp.schema import metadata

config = context.config
target_metadata = metadata


def include_object(
    obj: object, name: str | None, kind: str, reflected: bool, compare_to: object
) -> bool:
    """Leave out what no model describes: the SQLite FTS5 search index and its shadow tables
    (``casestore.services.search``, created by its own migration)."""
    return not (kind == "table" and (name or "").startswith(SEARCH_TABLE))


def database_url() -> str:
    return config.attributes.get("database_url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        render_as_batch=True,
        literal_binds=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(database_url())
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
