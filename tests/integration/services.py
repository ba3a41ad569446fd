"""Start the real services (Rasa, action server, case store) on loopback for tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / os.environ.get("MODEL_DIR", "models") / "petition.tar.gz"


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
        "VAR_DIR": str(workdir / "var"),
        "MODEL_DIR": str(model_dir),
        "TRAINING_LOG_DIR": str(workdir / "training"),
        "CASESTORE_RETRY_DELAYS": "0.2,0.4",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "RASA_TELEMETRY_ENABLED": "false",
        "PYTHONPATH": str(ROOT),
        **(extra_env or {}),
    }
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
            str(rasa_venv / "rasa"),
            "run",
            "--enable-api",
            "--auth-token",
            env["RASA_TOKEN"],
            "-i",
            "127.0.0.1",
            "--port",
            str(ports["rasa"]),
            "--model",
            str(model_dir / MODEL.name),
            "--endpoints",
            "endpoints.yml",
            "--credentials",
            "credentials.yml",
        ],
        f"http://127.0.0.1:{ports['rasa']}/status?token={env['RASA_TOKEN']}",
        env,
        workdir / "rasa.log",
    )
    stack = Stack(workdir, env, app, actions, rasa)
    try:
        for service in (app, actions, rasa):
            on_progress(f"starting {service.name} …")
            service.start()
    except Exception:
        stack.stop()
        raise
    return stack


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
