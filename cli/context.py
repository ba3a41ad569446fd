"""What the command groups share: the user-facing error, the settings, sessions, the taxonomy."""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Iterator

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, make_sessionmaker, session_scope
from core.settings import Settings, get_settings
from core.taxonomy import Taxonomy, load_taxonomy_with_additions


class CommandError(RuntimeError):
    """A user-facing failure: printed without a traceback, exit status 2."""


def settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        raise CommandError(
            f"配置不完整（.env）：{exc.errors()[0]['msg']}。请先运行 make run"
        ) from exc


def taxonomy(current: Settings) -> Taxonomy:
    """The taxonomy as the app sees it: data/taxonomy.yml plus the console's additions."""
    return load_taxonomy_with_additions(
        current.data_dir / "taxonomy.yml", current.taxonomy_additions_path
    )


def actor() -> str:
    return f"cli:{getpass.getuser()}"


@contextlib.contextmanager
def factory() -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings().database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


@contextlib.contextmanager
def session() -> Iterator[Session]:
    """One short transaction (the console keeps working meanwhile)."""
    with factory() as made, session_scope(made) as current:
        yield current
