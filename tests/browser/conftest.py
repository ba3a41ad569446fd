"""Browser tests: the real stack on loopback, driven through Debian's Chromium by Playwright."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.integration.services import ROOT, Stack, start_stack

SCREENSHOTS = ROOT / "test-output" / "browser"
ADMIN = ("admin", "admin-password-01")


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not path:
        raise RuntimeError("Chromium is missing: run scripts/ensure-browser.sh (make test does)")
    return path


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("browser-stack")
    # Training from the console uses the small test configuration (tests/data/config-small.yml).
    small = {"TRAINING_CONFIG": str(ROOT / "tests" / "data" / "config-small.yml")}
    running = start_stack(workdir, extra_env=small)
    try:
        create = subprocess.run(
            [
                str(ROOT / ".venv/bin/petition"),
                "users",
                "create",
                "--username",
                ADMIN[0],
                "--name",
                "值班长",
                "--role",
                "admin",
                "--password-stdin",
            ],  # fmt: skip
            input=ADMIN[1] + "\n",
            env=running.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert create.returncode == 0, create.stderr
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path(),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield chromium
        chromium.close()


def shot(page: object, name: str) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


__all__ = ["ADMIN", "Path", "shot"]
