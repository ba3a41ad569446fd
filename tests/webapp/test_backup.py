"""Backups: tickets, models/ and var/ come back as they were; bad or newer backups are refused.

Runs on SQLite, and on PostgreSQL (pg_dump / pg_restore) when TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
from contextlib import closing
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text

from casestore.models import Ticket
from core.settings import Settings
from tests.app_fixtures import TOKEN, draft_body
from webapp import backup
from webapp.app import create_app
from webapp.migrate import alembic_config, downgrade, upgrade

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def file_tickets(settings: Settings, *keys: str) -> None:
    with TestClient(create_app(settings)) as client:
        for key in keys:
            body = draft_body(submission_key=f"web-{key}", conversation_id=f"web-{key}")
            assert client.post("/api/v1/tickets", json=body, headers=AUTH).status_code == 201


def ticket_keys(settings: Settings) -> list[str]:
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            return sorted(connection.scalars(select(Ticket.submission_key)))
    finally:
        engine.dispose()


def revision(settings: Settings) -> str:
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SELECT version_num FROM alembic_version")).scalar())
    finally:
        engine.dispose()


def outbox_rows(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as db:
        return [row[0] for row in db.execute("SELECT key FROM item ORDER BY key")]


def write_runtime_data(settings: Settings) -> None:
    """What a running system keeps besides the database: a model, var/ files, an outbox."""
    (settings.model_dir / "versions").mkdir(parents=True, exist_ok=True)
    (settings.model_dir / "petition.tar.gz").write_bytes(b"model-1")
    (settings.model_dir / "versions" / "v1.tar.gz").write_bytes(b"model-1")
    settings.imported_nlu_dir.mkdir(parents=True, exist_ok=True)
    (settings.imported_nlu_dir / "history.yml").write_text("nlu: []\n", encoding="utf-8")
    settings.taxonomy_additions_path.write_text("categories: []\n", encoding="utf-8")
    with closing(sqlite3.connect(settings.var_dir / "outbox.db")) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE item (key TEXT)")
        db.execute("INSERT INTO item VALUES ('a')")
        db.commit()
    (settings.var_dir / "log").mkdir(exist_ok=True)
    (settings.var_dir / "log" / "app.log").write_text("not backed up\n", encoding="utf-8")


def test_restore_brings_back_tickets_models_and_var(settings: Settings, tmp_path: Path) -> None:
    file_tickets(settings, "first-0001", "second-0002")
    write_runtime_data(settings)
    target = tmp_path / "backups" / "b.tar.gz"

    manifest = backup.create_backup(settings=settings, target=target)

    assert target.stat().st_mode & 0o777 == 0o600
    assert "var/outbox.db" in manifest.files and "models/versions/v1.tar.gz" in manifest.files
    assert "var/log/app.log" not in manifest.files
    assert manifest.revision == revision(settings)

    # Life goes on after the backup: a new ticket, a retrained model, more history.
    file_tickets(settings, "third-0003")
    (settings.model_dir / "petition.tar.gz").write_bytes(b"model-2")
    (settings.imported_nlu_dir / "later.yml").write_text("nlu: []\n", encoding="utf-8")
    with closing(sqlite3.connect(settings.var_dir / "outbox.db")) as db:
        db.execute("INSERT INTO item VALUES ('b')")
        db.commit()

    with pytest.raises(backup.BackupError, match="--yes"):
        backup.restore_backup(settings=settings, archive=target, overwrite=False)
    assert len(ticket_keys(settings)) == 3  # nothing was touched

    result = backup.restore_backup(settings=settings, archive=target, overwrite=True)

    assert result.migrated_from is None
    assert ticket_keys(settings) == ["web-first-0001", "web-second-0002"]
    assert (settings.model_dir / "petition.tar.gz").read_bytes() == b"model-1"
    assert not (settings.imported_nlu_dir / "later.yml").exists()
    assert (settings.imported_nlu_dir / "history.yml").exists()
    assert outbox_rows(settings.var_dir / "outbox.db") == ["a"]
    assert (settings.var_dir / "log" / "app.log").exists()  # logs are left alone


def test_a_restore_into_an_empty_place_needs_no_yes(settings: Settings, tmp_path: Path) -> None:
    file_tickets(settings, "only-0001")
    target = tmp_path / "b.tar.gz"
    backup.create_backup(settings=settings, target=target)
    empty = settings.model_copy(
        update={
            "database_url": f"sqlite:///{tmp_path / 'new' / 'petition.db'}",
            "var_dir": tmp_path / "new" / "var",
            "model_dir": tmp_path / "new" / "models",
        }
    )
    if settings.database_url.startswith("sqlite"):
        backup.restore_backup(settings=empty, archive=target, overwrite=False)
        assert ticket_keys(empty) == ["web-only-0001"]
    else:
        with pytest.raises(backup.BackupError, match="postgresql"):
            backup.restore_backup(settings=empty, archive=target, overwrite=False)


def test_an_older_backup_is_migrated_after_restoring(settings: Settings, tmp_path: Path) -> None:
    scripts = ScriptDirectory.from_config(alembic_config(settings.database_url))
    head = scripts.get_revision(scripts.get_current_head())
    assert head is not None and isinstance(head.down_revision, str)
    downgrade(settings.database_url, head.down_revision)
    target = tmp_path / "old.tar.gz"
    backup.create_backup(settings=settings, target=target)
    upgrade(settings.database_url)

    result = backup.restore_backup(settings=settings, archive=target, overwrite=True)

    assert result.migrated_from == head.down_revision
    assert revision(settings) == head.revision


def rewrite_manifest(archive: Path, change: dict[str, object]) -> None:
    with tarfile.open(archive, "r:gz") as tar:
        members = [(m, tar.extractfile(m)) for m in tar.getmembers()]
        contents = {m.name: f.read() if f else b"" for m, f in members}
    manifest = json.loads(contents[backup.MANIFEST])
    manifest["database"].update(change)
    contents[backup.MANIFEST] = json.dumps(manifest).encode()
    with tarfile.open(archive, "w:gz") as tar:
        for member, _ in members:
            member.size = len(contents[member.name])
            tar.addfile(member, io.BytesIO(contents[member.name]))


def test_a_backup_of_a_newer_version_is_refused(settings: Settings, tmp_path: Path) -> None:
    target = tmp_path / "b.tar.gz"
    backup.create_backup(settings=settings, target=target)
    rewrite_manifest(target, {"revision": "ffffffffffff"})
    with pytest.raises(backup.BackupError, match="更新的版本"):
        backup.restore_backup(settings=settings, archive=target, overwrite=True)


def test_damaged_and_foreign_files_are_refused(settings: Settings, tmp_path: Path) -> None:
    write_runtime_data(settings)
    target = tmp_path / "b.tar.gz"
    backup.create_backup(settings=settings, target=target)
    with tarfile.open(target, "r:gz") as tar:
        members = [(m, tar.extractfile(m)) for m in tar.getmembers()]
        contents = {m.name: f.read() if f else b"" for m, f in members}
    contents["var/taxonomy-additions.yml"] = b"categories: [tampered]\n"
    with tarfile.open(target, "w:gz") as tar:
        for member, _ in members:
            member.size = len(contents[member.name])
            tar.addfile(member, io.BytesIO(contents[member.name]))
    with pytest.raises(backup.BackupError, match="已损坏"):
        backup.restore_backup(settings=settings, archive=target, overwrite=True)
    assert settings.taxonomy_additions_path.read_text(encoding="utf-8") == "categories: []\n"

    foreign = tmp_path / "foreign.tar.gz"
    with tarfile.open(foreign, "w:gz") as tar:
        tar.add(settings.taxonomy_additions_path, arcname="x.yml")
    with pytest.raises(backup.BackupError, match="不是本系统的备份"):
        backup.restore_backup(settings=settings, archive=foreign, overwrite=True)


def test_a_sqlite_backup_is_consistent_while_the_app_writes(
    settings: Settings, tmp_path: Path
) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite's online backup")
    file_tickets(settings, "done-0001")
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as writer:  # a write transaction in progress, never committed
            writer.execute(text("UPDATE ticket SET submission_key = 'web-half-written'"))
            target = tmp_path / "b.tar.gz"
            backup.create_backup(settings=settings, target=target)
            writer.rollback()
    finally:
        engine.dispose()
    copy = settings.model_copy(
        update={
            "database_url": f"sqlite:///{tmp_path / 'copy' / 'petition.db'}",
            "var_dir": tmp_path / "copy" / "var",
            "model_dir": tmp_path / "copy" / "models",
        }
    )
    backup.restore_backup(settings=copy, archive=target, overwrite=False)
    assert ticket_keys(copy) == ["web-done-0001"]
