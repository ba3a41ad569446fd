"""Backups (备份) of everything the running system keeps, and restoring one.

A backup is one ``.tar.gz`` with a ``manifest.json`` first:

* ``database/petition.sqlite3`` — the case store copied with SQLite's online backup API (a
  consistent snapshot while the app writes), or ``database/petition.dump`` — ``pg_dump -Fc``
  of a PostgreSQL case store. Tickets, events, accounts, model versions and the residents'
  photos (stored in the database) are all in it.
* ``models/`` — the model Rasa runs and every registered version.
* ``var/`` — runtime data: taxonomy additions, imported history, held-back sets, training
  logs, the outbox and the bot's state (SQLite files again through the backup API). Not
  ``var/scale/`` (servers of ``make run-scale``, dumped above), logs, supervisord's files or
  earlier backups.

The manifest names the format, the database backend, the schema revision and the SHA-256 of
every file. ``.env`` is not included: it holds secrets, and a new one is written on a new
machine (keep the Telegram token elsewhere).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import CommandError as AlembicError
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

from core.settings import Settings
from webapp.migrate import alembic_config, upgrade

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database/petition.sqlite3"
POSTGRES_FILE = "database/petition.dump"
# Under var/: not runtime data, or kept another way.
SKIPPED_VAR = {"scale", "log", "backups", "supervisord.conf", "supervisord.pid", "supervisor.sock"}
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
SQLITE_HEADER = b"SQLite format 3\x00"
# A table in `pg_restore -l`: "215; 1259 16390 TABLE public ticket owner" (not TABLE DATA).
PG_TABLE_ENTRY = re.compile(r"^\d+; \d+ \d+ TABLE (?!DATA )(\S+) (\S+) ", re.MULTILINE)


class BackupError(RuntimeError):
    """A backup or restore that cannot go on (message in Chinese, shown to the operator)."""


@dataclass(frozen=True)
class Manifest:
    created_at: str
    backend: str  # "sqlite" or "postgresql"
    revision: str | None  # the Alembic revision of the database when it was backed up
    files: dict[str, str]  # archive name → SHA-256

    def to_json(self) -> bytes:
        data = {
            "format": FORMAT,
            "application": "petition-channel",
            "created_at": self.created_at,
            "database": {"backend": self.backend, "revision": self.revision},
            "files": self.files,
        }
        return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT or data.get("application") != "petition-channel":
                raise BackupError(f"不支持的备份格式（format={data.get('format')}）")
            manifest = cls(
                created_at=str(data["created_at"]),
                backend=str(data["database"]["backend"]),
                revision=data["database"]["revision"],
                files={str(k): str(v) for k, v in data["files"].items()},
            )
            if any(_unsafe(name) for name in manifest.files):
                raise BackupError("备份清单中有不安全的文件名")
            return manifest
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BackupError("备份清单（manifest.json）无法读取") from exc


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    migrated_from: str | None  # the backup's revision when migrations ran afterwards


def _unsafe(name: str) -> bool:
    parts = name.split("/")
    return name.startswith("/") or ".." in parts or parts[0] not in {"database", "models", "var"}


# --- what is backed up


def _backend(url: URL) -> str:
    backend = url.get_backend_name()
    if backend not in {"sqlite", "postgresql"}:
        raise BackupError(f"不支持的数据库类型：{backend}")
    return backend


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("SQLite 数据库必须是一个文件")
    return Path(url.database).resolve()


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER


def _runtime_files(directory: Path) -> Iterator[Path]:
    """Regular files under ``directory`` worth keeping (no SQLite WAL/journal side files)."""
    if not directory.is_dir():
        return
    for path in sorted(directory.rglob("*")):
        if path.is_file() and not path.is_symlink() and not path.name.endswith(SQLITE_SIDE_FILES):
            yield path


def _data_files(settings: Settings) -> dict[str, Path]:
    """Archive name → file for models/ and var/ as they are now."""
    url = make_url(settings.database_url)
    case_store = _sqlite_path(url) if _backend(url) == "sqlite" else None
    files = {
        f"models/{path.relative_to(settings.model_dir).as_posix()}": path
        for path in _runtime_files(settings.model_dir)
    }
    for path in _runtime_files(settings.var_dir):
        relative = path.relative_to(settings.var_dir)
        top = relative.parts[0]
        # dot-folders: a backup or restore in progress
        if top in SKIPPED_VAR or top.startswith(".") or path.resolve() == case_store:
            continue
        files[f"var/{relative.as_posix()}"] = path
    return files


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's online backup API (also of a database in use)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- PostgreSQL through its own tools


def _pg_tool(name: str) -> str:
    """pg_dump / pg_restore of Debian's newest PostgreSQL package, or from PATH."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parts[-3].split(".")],
    )
    found = str(versions[-1]) if versions else shutil.which(name)
    if not found:
        raise BackupError(f"找不到 {name}，请安装 PostgreSQL 客户端（apt-get install postgresql）")
    return found


def _pg_connection(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password (it goes in PGPASSWORD, not in ps)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _pg_run(args: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(args, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{what}失败：{result.stderr.strip()[-500:]}")


def _drop_tables_not_in(dump: Path, database_url: str, env: dict[str, str]) -> None:
    """Tables a later migration created: ``--clean`` drops only what the dump holds, and the
    migrations run after the restore would find them in the way."""
    listing = subprocess.run(
        [_pg_tool("pg_restore"), "-l", str(dump)], env=env, capture_output=True, text=True
    )
    if listing.returncode != 0:
        raise BackupError(f"pg_restore 无法读取备份：{listing.stderr.strip()[-500:]}")
    kept = {(m[1], m[2]) for m in PG_TABLE_ENTRY.finditer(listing.stdout)}
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            for schema in {schema for schema, _ in kept} or {"public"}:
                for table in inspect(connection).get_table_names(schema=schema):
                    if (schema, table) not in kept:
                        connection.exec_driver_sql(f'DROP TABLE "{schema}"."{table}" CASCADE')
    finally:
        engine.dispose()


# --- backup


def _revision(database_url: str) -> str | None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def default_target(settings: Settings, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return settings.var_dir / "backups" / f"petition-{stamp}.tar.gz"


def create_backup(*, settings: Settings, target: Path) -> Manifest:
    """Write the backup to ``target`` (readable by its owner only: it holds residents' data)."""
    url = make_url(settings.database_url)
    backend = _backend(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".backup-") as staging:
        stage = Path(staging)
        files: dict[str, Path] = {}
        if backend == "sqlite":
            source = _sqlite_path(url)
            if not source.exists():
                raise BackupError(f"数据库文件不存在：{source}")
            _copy_sqlite(source, stage / SQLITE_FILE)
            files[SQLITE_FILE] = stage / SQLITE_FILE
            revision = _revision(f"sqlite:///{stage / SQLITE_FILE}")
        else:
            revision = _revision(settings.database_url)
            dump = stage / POSTGRES_FILE
            dump.parent.mkdir(parents=True)
            connection, env = _pg_connection(url)
            _pg_run(
                [_pg_tool("pg_dump"), "-Fc", "--no-owner", "-f", str(dump), "-d", connection],
                env,
                "pg_dump ",
            )
            files[POSTGRES_FILE] = dump
        for name, path in _data_files(settings).items():
            if _is_sqlite(path):
                _copy_sqlite(path, stage / name)
                path = stage / name
            files[name] = path
        manifest = Manifest(
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            backend=backend,
            revision=revision,
            files={name: _sha256(path) for name, path in files.items()},
        )
        partial = stage / "backup.tar.gz"
        with tarfile.open(partial, "w:gz") as archive:
            raw = manifest.to_json()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(raw), int(datetime.now().timestamp()), 0o600
            archive.addfile(info, io.BytesIO(raw))
            for name, path in files.items():
                archive.add(path, arcname=name, recursive=False)
        partial.chmod(0o600)
        partial.replace(target)  # same directory: a backup file is complete or absent
    return manifest


# --- restore


def read_manifest(archive: Path) -> Manifest:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            return Manifest.from_json(member.read())
    except (OSError, tarfile.TarError, KeyError) as exc:
        raise BackupError(f"{archive} 不是本系统的备份文件（没有 {MANIFEST}）") from exc


def _unpack(archive: Path, manifest: Manifest, stage: Path) -> None:
    """Extract the listed files and check each against the manifest's SHA-256."""
    with tarfile.open(archive, "r:gz") as tar:
        members = [m for m in tar.getmembers() if m.name in manifest.files]
        tar.extractall(stage, members=members, filter="data")
    for name, digest in manifest.files.items():
        path = stage / name
        if not path.is_file() or _sha256(path) != digest:
            raise BackupError(f"备份文件已损坏或不完整：{name}")


def _schema_state(settings: Settings, revision: str | None) -> str | None:
    """The backup's revision when it is older than the code (then migrations run after)."""
    scripts = ScriptDirectory.from_config(alembic_config(settings.database_url))
    if revision is None:
        return "base"  # backed up before its first migration
    if revision in scripts.get_heads():
        return None
    try:
        if scripts.get_revision(revision) is None:
            raise AlembicError("unknown")
    except AlembicError as exc:
        raise BackupError(
            f"备份的数据库版本 {revision} 不在本程序的迁移记录中（备份来自更新的版本？），"
            "请先更新程序再恢复"
        ) from exc
    return revision


def _database_has_data(settings: Settings, url: URL) -> bool:
    if _backend(url) == "sqlite" and not _sqlite_path(url).exists():
        return False
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            return bool(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def restore_backup(*, settings: Settings, archive: Path, overwrite: bool) -> RestoreResult:
    """Put the backup's database, models/ and var/ in place of the current ones.

    Stop ``make run`` first: the services would keep writing to what is being replaced.
    """
    if not archive.is_file():
        raise BackupError(f"找不到备份文件：{archive}")
    manifest = read_manifest(archive)
    url = make_url(settings.database_url)
    backend = _backend(url)
    if manifest.backend != backend:
        raise BackupError(
            f"备份的数据库是 {manifest.backend}，当前 DATABASE_URL 是 {backend}，无法直接恢复"
        )
    older = _schema_state(settings, manifest.revision)
    current = _data_files(settings)
    if not overwrite and (current or _database_has_data(settings, url)):
        raise BackupError("当前已有数据，恢复会覆盖数据库、models/ 和 var/。确认后请加 --yes")
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.var_dir, prefix=".restore-") as staging:
        stage = Path(staging)
        _unpack(archive, manifest, stage)
        if backend == "sqlite":
            _copy_sqlite(stage / SQLITE_FILE, _sqlite_path(url))
        else:
            connection, env = _pg_connection(url)
            _drop_tables_not_in(stage / POSTGRES_FILE, settings.database_url, env)
            _pg_run(
                [_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner"]
                + ["--no-privileges", "--single-transaction", "-d", connection]
                + [str(stage / POSTGRES_FILE)],
                env,
                "pg_restore ",
            )
        roots = {"models": settings.model_dir, "var": settings.var_dir}
        for name, path in current.items():
            if name not in manifest.files:
                path.unlink()  # added after the backup was made
        for name in manifest.files:
            top, _, rest = name.partition("/")
            if top not in roots:
                continue
            source, target = stage / name, roots[top] / rest
            target.parent.mkdir(parents=True, exist_ok=True)
            if _is_sqlite(source):
                _copy_sqlite(source, target)  # also right when a stale -wal lies next to it
            else:
                shutil.copy2(source, target)
    if older is not None:
        upgrade(settings.database_url)
    return RestoreResult(manifest=manifest, migrated_from=older)
