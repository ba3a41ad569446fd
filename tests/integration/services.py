"""Start the real services (Rasa, action server, case store) on loopback for tests.

``STACK_PROFILE=scale`` starts them as ``make run-scale`` does: the case store and Rasa's
tracker store on PostgreSQL (fresh databases on the TEST_POSTGRES_URL server), Rasa's lock
store on Redis (REDIS_HOST, REDIS_PORT), two Rasa workers and two action-server workers.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from retraining import serving
from tests.app_fixtures import postgres_database

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / os.environ.get("MODEL_DIR", "models") / "petition.tar.gz"
SCALE = os.environ.get("STACK_PROFILE") == "scale"
WORKERS = int(os.environ.get("STACK_WORKERS", 2 if SCALE else 1))  # Rasa (Sanic) workers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    name: str
    command: list[str]
    ready_url: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 240) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            try:
                if httpx.get(self.ready_url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{self.name} not ready after {timeout} s; see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None


@dataclass
class Stack:
    workdir: Path
    env: dict[str, str]
    app: Service
    actions: Service
    rasa: Service
    extra: list[Service] = field(default_factory=list)
    resources: ExitStack = field(default_factory=ExitStack)  # databases of the scale profile

    @property
    def app_url(self) -> str:
        return self.env["CASESTORE_URL"]

    @property
    def rasa_url(self) -> str:
        return self.env["RASA_URL"]

    def api_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.env['CASESTORE_API_TOKEN']}"}

    def run_rasa_side(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ROOT / ".venv-rasa/bin/python"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )

    def stop(self) -> None:
        for service in (self.rasa, self.actions, self.app, *self.extra):
            service.stop()
        self.resources.close()


def scale_env(resources: ExitStack) -> dict[str, str]:
    """The scale profile's settings: fresh PostgreSQL databases, a Redis key prefix of its own."""
    database_url = resources.enter_context(postgres_database())
    tracker_url = urlsplit(resources.enter_context(postgres_database()))
    return {
        "DATABASE_URL": database_url,
        "RASA_ENDPOINTS": "endpoints-scale.yml",
        "SANIC_WORKERS": str(WORKERS),
        "ACTION_WORKERS": "2",
        "TRACKER_DB_HOST": tracker_url.hostname or "127.0.0.1",
        "TRACKER_DB_PORT": str(tracker_url.port or 5432),
        "TRACKER_DB_NAME": tracker_url.path.lstrip("/"),
        "TRACKER_DB_USER": tracker_url.username or "postgres",
        "TRACKER_DB_PASSWORD": tracker_url.password or "",
        "REDIS_HOST": os.environ.get("REDIS_HOST", "127.0.0.1"),
        "REDIS_PORT": os.environ.get("REDIS_PORT", "6379"),
        "REDIS_DB": "1",
        "REDIS_KEY_PREFIX": f"it{uuid.uuid4().hex[:10]}",
    }


def start_stack(
    workdir: Path,
    on_progress: Callable[[str], None] = print,
    extra_env: dict[str, str] | None = None,
) -> Stack:
    if not MODEL.exists():
        raise RuntimeError(f"no trained model at {MODEL}; run `make train` first")
    ports = {name: free_port() for name in ("app", "rasa", "actions")}
    # Each stack runs its own copy of the model: activating a retrained model in a test
    # replaces that copy, never the checkout's models/petition.tar.gz.
    model_dir = workdir / "models"
    model_dir.mkdir(exist_ok=True)
    shutil.copy2(MODEL, model_dir / MODEL.name)
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'petition.db'}",
        "CASESTORE_API_TOKEN": "integration-token-0123456789",
        "RASA_TOKEN": "integration-rasa-token",
        "ACTION_SERVER_TOKEN": "integration-action-token-0123",
        "ACTION_PORT": str(ports["actions"]),
        "CASESTORE_URL": f"http://127.0.0.1:{ports['app']}",
        "RASA_URL": f"http://127.0.0.1:{ports['rasa']}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{ports['actions']}/webhook",
        "OUTBOX_PATH": str(workdir / "outbox.db"),
        "RASA_TRACKER_DB": str(workdir / "rasa-tracker.db"),
        "VAR_DIR": str(workdir / "var"),
        "MODEL_DIR": str(model_dir),
        "TRAINING_LOG_DIR": str(workdir / "training"),
        "CASESTORE_RETRY_DELAYS": "0.2,0.4",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "RASA_TELEMETRY_ENABLED": "false",
        "PYTHONPATH": str(ROOT),
        "RASA_ENDPOINTS": "endpoints.yml",
        **(extra_env or {}),
    }
    resources = ExitStack()
    if SCALE:
        env.update(scale_env(resources))
    subprocess.run(
        [str(ROOT / ".venv/bin/alembic"), "upgrade", "head"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    venv, rasa_venv = ROOT / ".venv/bin", ROOT / ".venv-rasa/bin"
    app = Service(
        "app",
        [
            str(venv / "uvicorn"),
            "webapp.app:create_app",
            "--factory",
            "--no-proxy-headers",
            "--host",
            "127.0.0.1",
            "--port",
            str(ports["app"]),
        ],
        f"http://127.0.0.1:{ports['app']}/healthz",
        env,
        workdir / "app.log",
    )
    actions = Service(
        "actions",
        [str(rasa_venv / "python"), "-m", "actions.server"],
        f"http://127.0.0.1:{ports['actions']}/health",
        env,
        workdir / "actions.log",
    )
    rasa = Service(
        "rasa",
        [
            str(rasa_venv / "python"),
            "-m",
            "nlu.server",
            "run",
            "--enable-api",
            "-i",
            "127.0.0.1",
            "--port",
            str(ports["rasa"]),
            "--endpoints",
            env["RASA_ENDPOINTS"],
            "--credentials",
            "credentials.yml",
        ],
        f"http://127.0.0.1:{ports['rasa']}/status?token={env['RASA_TOKEN']}",
        env,
        workdir / "rasa.log",
    )
    stack = Stack(workdir, env, app, actions, rasa, resources=resources)
    try:
        for service in (app, actions, rasa):
            on_progress(f"starting {service.name} …")
            service.start()
        every_worker_loaded(env["DATABASE_URL"], serving.fingerprint_of(model_dir / MODEL.name))
    except Exception:
        stack.stop()
        raise
    return stack


def every_worker_loaded(database_url: str, fingerprint: str, timeout: float = 240) -> None:
    """Until all of the stack's Rasa workers run the model (each reports it when it pulls).

    Rasa's /status answers as soon as one worker is up; a request the kernel hands to a worker
    still loading would wait for it.
    """
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                loaded = connection.execute(
                    text("SELECT count(*) FROM rasa_worker WHERE model_id = :f"), {"f": fingerprint}
                ).scalar_one()
            if loaded >= WORKERS:
                return
            time.sleep(0.5)
    finally:
        engine.dispose()
    raise TimeoutError(f"fewer than {WORKERS} Rasa workers loaded the model in {timeout} s")


class Resident:
    """A resident talking to the bot through Rasa's REST channel."""

    def __init__(self, stack: Stack, sender: str) -> None:
        self.stack = stack
        self.sender = sender
        self.turns = 0

    def say(self, text: str) -> list[dict[str, object]]:
        self.turns += 1
        response = httpx.post(
            f"{self.stack.rasa_url}/webhooks/rest/webhook",
            json={"sender": self.sender, "message": text, "metadata": {"channel": "rest"}},
            timeout=60,
        )
        response.raise_for_status()
        return list(response.json())

    @staticmethod
    def text_of(replies: list[dict[str, object]]) -> str:
        return "\n".join(str(r.get("text", "")) for r in replies)


def telegram_bot(
    stack: Stack, *, base_url: str, file_url: str, ready_url: str, token: str
) -> Service:
    """The real bot process (``python -m bot``) pointed at a fake Bot API; not started yet."""
    env = {
        **stack.env,
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_BASE_URL": base_url,
        "TELEGRAM_BASE_FILE_URL": file_url,
        "TELEGRAM_WEBHOOK_URL": "",
        "BOT_STATE_PATH": str(stack.workdir / "bot.sqlite3"),
        "BOT_NOTIFICATION_POLL_SECONDS": "0.5",
        "BOT_RETRY_SECONDS": "1",
        "BOT_POLLING_TIMEOUT_SECONDS": "2",
    }
    bot = Service(
        "bot",
        [str(ROOT / ".venv/bin/python"), "-m", "bot"],
        ready_url,
        env,
        stack.workdir / "bot.log",
    )
    stack.extra.append(bot)
    return bot
