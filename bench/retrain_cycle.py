"""Time from "train" to "active" for the project data (full config.yml), on a real stack.

.venv/bin/python -m bench.retrain_cycle [--config config.yml]

Starts Rasa, the action server and the app on loopback (like the integration tests, with
their own model copy), accepts one staff correction, then times `petition train` (training,
registration, comparison on the held-back set) and `petition models activate` (hot swap).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from tests.integration.services import ROOT, start_stack

PHRASE = "共享单车把盲道全占了，盲人根本没法走"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config.yml"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = start_stack(Path(tmp), on_progress=lambda _: None)
        try:
            api = stack.api_headers()
            draft = {"submission_key": "bench-retrain-1", "category": "civil_affairs",
                     "description": PHRASE, "anonymous": True, "channel": "webchat",
                     "conversation_id": "web-bench",
                     "transcript": [{"role": "resident", "text": PHRASE}]}  # fmt: skip
            number = httpx.post(f"{stack.app_url}/api/v1/tickets", json=draft, headers=api).json()
            tickets = f"{stack.app_url}/api/v1/tickets/{number['number']}"
            correction = {"action": "correct", "actor": "bench", "category": "transportation"}
            httpx.post(f"{tickets}/actions", headers=api, json=correction)
            examples = f"{stack.app_url}/api/v1/training-examples"
            example = httpx.get(examples, headers=api).json()["items"][0]
            httpx.post(f"{examples}/{example['id']}/review", headers=api,
                       json={"action": "accept", "actor": "bench"})  # fmt: skip

            def petition(*cmd: str) -> tuple[float, str]:
                started = time.monotonic()
                command = [str(ROOT / ".venv/bin/petition"), *cmd]
                done = subprocess.run(command, env=stack.env, cwd=ROOT, capture_output=True,
                                      text=True, check=True)  # fmt: skip
                return time.monotonic() - started, done.stdout

            train_total, out = petition("train", "--config", args.config)
            trained = float(re.search(r"训练 (\d+) 秒", out).group(1))  # type: ignore[union-attr]
            name = re.search(r"已登记模型版本 (\S+)（", out).group(1)  # type: ignore[union-attr]
            activate, _ = petition("models", "activate", name, "--reason", "benchmark")
            print(f"{platform.node()} · {os.cpu_count()} cores · config {Path(args.config).name}")
            print(out.strip())
            print(f"rasa train:                          {trained:6.0f} s")
            print(f"train + register + compare (CLI):    {train_total:6.0f} s")
            print(f"activate (hot swap + copy):          {activate:6.0f} s")
            print(f"train → active:                      {train_total + activate:6.0f} s")
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
