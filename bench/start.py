"""Start-up: how long until Rasa answers, and until `make run` prints its banner.

``rasa``: starts Rasa as `make run` does (``python -m nlu.server run``) on the trained model,
several times, with TensorFlow left out (the default for this project's pipeline) and with it
imported (``RASA_TENSORFLOW=1``), and prints the seconds from process start to the first
answered ``/model/parse`` and the process's resident memory then.

``make-run``: runs ``make run`` in this checkout (environments, model and database already
there, as on a second start) on spare ports and prints the seconds until its banner.

    .venv/bin/python -m bench.start rasa --runs 3
    .venv/bin/python -m bench.start make-run
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BANNER = "Press Ctrl-C to stop everything."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rasa_start(tensorflow: bool, timeout: float = 180) -> tuple[float, float]:
    """Seconds to the first answer, and resident MB at that moment."""
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        endpoints = Path(scratch) / "endpoints.yml"
        endpoints.write_text("{}\n")
        env = {
            **os.environ,
            "RASA_TENSORFLOW": "1" if tensorflow else "0",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "RASA_TELEMETRY_ENABLED": "false",
        }
        command = [
            str(ROOT / ".venv-rasa/bin/python"),
            "-m",
            "nlu.server",
            "run",
            "--enable-api",
            "-i",
            "127.0.0.1",
            "--port",
            str(port),
            "-m",
            str(ROOT / "models/petition.tar.gz"),
            "--endpoints",
            str(endpoints),
        ]
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            while time.monotonic() - started < timeout:
                if process.poll() is not None:
                    raise RuntimeError(f"Rasa exited with {process.returncode}")
                try:
                    answer = httpx.post(
                        f"http://127.0.0.1:{port}/model/parse", json={"text": "路灯坏了"}, timeout=2
                    )
                    if answer.status_code == 200 and answer.json().get("intent"):
                        return time.monotonic() - started, resident_mb(process.pid)
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
            raise TimeoutError(f"Rasa did not answer within {timeout} s")
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def make_run(timeout: float = 600) -> float:
    ports = {"APP_PORT": free_port(), "RASA_PORT": free_port(), "ACTION_PORT": free_port()}
    env = {
        **os.environ,
        **{key: str(value) for key, value in ports.items()},
        "RASA_URL": f"http://127.0.0.1:{ports['RASA_PORT']}",
        "CASESTORE_URL": f"http://127.0.0.1:{ports['APP_PORT']}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{ports['ACTION_PORT']}/webhook",
    }
    started = time.monotonic()
    process = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if BANNER in line:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                break
        raise RuntimeError(f"no banner within {timeout} s (exit {process.poll()})")
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["rasa", "make-run"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{date.today()} · {platform.node()} · {platform.machine()} · {os.cpu_count()} cores")
    if args.what == "make-run":
        for _ in range(args.runs):
            print(f"make run → banner: {make_run():.1f} s")
        return
    for tensorflow in (False, True):
        runs = [rasa_start(tensorflow) for _ in range(args.runs)]
        seconds = [run[0] for run in runs]
        label = "with TensorFlow" if tensorflow else "without TensorFlow (default)"
        print(
            f"Rasa start → first answer, {label}: median {statistics.median(seconds):.1f} s "
            f"(runs: {', '.join(f'{s:.1f}' for s in seconds)}), "
            f"resident memory {statistics.median(run[1] for run in runs):.0f} MB"
        )


if __name__ == "__main__":
    main()
