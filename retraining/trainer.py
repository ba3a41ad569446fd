"""Train a Rasa model with the Rasa environment's CLI (the two environments share no code)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from core.settings import ROOT

RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
DATA = ("data/nlu", "data/rules", "data/stories")


def rasa_env(project: Path) -> dict[str, str]:
    """Environment of Rasa subprocesses: the project's components importable, no telemetry."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(dict.fromkeys([str(ROOT), str(project)])),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "RASA_TELEMETRY_ENABLED": "false",
    }


@dataclass(frozen=True)
class TrainResult:
    model: Path
    seconds: float


class TrainingFailed(RuntimeError):
    pass


def train(
    *,
    project: Path = ROOT,
    out_dir: Path,
    name: str,
    force: bool = False,
    extra_data: Sequence[Path] = (),
    config: Path | None = None,
    log: IO[bytes] | None = None,
    on_start: Callable[[subprocess.Popen[bytes]], None] | None = None,
) -> TrainResult:
    """Run ``rasa train`` on the project's data plus ``extra_data`` (e.g. accepted examples).

    Without ``log`` Rasa's own progress shows on the terminal; ``on_start`` receives the
    process (its own process group) so a caller can cancel it.
    """
    if not RASA.exists():
        raise TrainingFailed("找不到Rasa环境 .venv-rasa，请先运行 make envs")
    command = [
        str(RASA), "train", "--config", str(config or "config.yml"), "--domain", "domain.yml",
        "--data", *DATA, *(str(p) for p in extra_data),
        "--out", str(out_dir), "--fixed-model-name", name,
    ]  # fmt: skip
    if force:
        command.append("--force")
    env = rasa_env(project)
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=project, env=env, stdout=log, stderr=log, start_new_session=True
    )
    if on_start:
        on_start(process)
    returncode = process.wait()
    if returncode != 0:
        raise TrainingFailed(f"训练失败（rasa train 退出码 {returncode}）")
    model = out_dir / f"{name}.tar.gz"
    if not model.exists():
        raise TrainingFailed(f"训练结束但没有找到模型文件 {model}")
    return TrainResult(model=model, seconds=time.monotonic() - started)
