"""``python -m bot`` without a token: says so in Chinese and stays up (not restarted in a loop)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_without_token_the_bot_is_off_and_idles() -> None:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "", "APP_PORT": "8123", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "Telegram 机器人未启用" in line
        assert "http://localhost:8123/chat" in line
        assert process.poll() is None  # still running after saying so
    finally:
        process.terminate()
        process.wait(timeout=10)
