"""Train a Rasa model with the Rasa environment's CLI (the two environments share no code)."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from casestore.config import ROOT

RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
DATA = ("data/nlu", "data/rules", "data/stories")


@dataclass(frozen=True)
class TrainResult:
    model: Path
    seconds: float


class TrainingFailed(RuntimeError):
    pass


def train(*, project: Path = ROOT, out_dir: Path, name: str, force: bool = False) -> TrainResult:
    """Run ``rasa train``; its own progress bars show on the terminal."""
    if not RASA.exists():
        raise TrainingFailed("找不到Rasa环境 .venv-rasa，请先运行 make envs")
    command = [
        str(RASA), "train", "--config", "config.yml", "--domain", "domain.yml",
        "--data", *DATA, "--out", str(out_dir), "--fixed-model-name", name,
    ]  # fmt: skip
    if force:
        command.append("--force")
    started = time.monotonic()
    completed = subprocess.run(command, cwd=project, check=False)
    if completed.returncode != 0:
        raise TrainingFailed(f"训练失败（rasa train 退出码 {completed.returncode}）")
    model = out_dir / f"{name}.tar.gz"
    if not model.exists():
        raise TrainingFailed(f"训练结束但没有找到模型文件 {model}")
    return TrainResult(model=model, seconds=time.monotonic() - started)
