"""Cost of `petition train` after importing thousands of historical letters.

.venv/bin/python -m bench.import_scale [--letters 8000] [--holdout 0.2] [--config config.yml]

Builds a generated history of long letters (200–800 characters: a greeting, sentences drawn
from the project's own report examples of one category, a closing; labelled with that
category's Chinese name), imports it with `petition nlu import` into a scratch var/ and
database, then times `petition train` (train, register, compare on the held-out part) and
reports its peak memory (largest process, the Rasa training) and the model file's size.
The letters are generated for volume and length, so the accuracy figures printed here say
little; they are not the evaluation of the classifier (see bench/nlu.py).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import re
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SENTENCE_END = re.compile(r"(?<=[。！？!?])")
ANNOTATION = re.compile(r"\[([^\]]*)\]\([^)]*\)")
GREETINGS = ["尊敬的领导：您好！", "领导您好，", "尊敬的市长：", "您好！", ""]
CLOSINGS = [
    "恳请有关部门尽快处理，盼复。",
    "希望领导重视，谢谢！",
    "望早日解决。",
    "此致敬礼！",
    "",
]


def sentences_by_category(data_dir: Path) -> dict[str, list[str]]:
    taxonomy = yaml.safe_load((data_dir / "taxonomy.yml").read_text(encoding="utf-8"))
    names = {c["code"]: c["name"] for c in taxonomy["categories"]}
    found: dict[str, list[str]] = {}
    for path in sorted((data_dir / "nlu").glob("report_*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            code = block.get("intent", "").removeprefix("report_")
            if code not in names:
                continue
            for line in block["examples"].splitlines():
                text = ANNOTATION.sub(r"\1", line.strip().removeprefix("- ").strip())
                parts = [s for s in SENTENCE_END.split(text) if len(s) >= 6]
                found.setdefault(names[code], []).extend(parts)
    return found


def generate(count: int, seed: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pools = sentences_by_category(ROOT / "data")
    labels = sorted(pools)
    letters: set[tuple[str, str]] = set()
    while len(letters) < count:
        label = labels[len(letters) % len(labels)]
        target = rng.randint(200, 800)
        body = ""
        while len(body) < target:
            body += rng.choice(pools[label])
        letters.add((rng.choice(GREETINGS) + body[:target] + rng.choice(CLOSINGS), label))
    return sorted(letters)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=8000)
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--config", default=str(ROOT / "config.yml"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        scratch = Path(tmp)
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{scratch / 'bench.db'}",
            "VAR_DIR": str(scratch / "var"),
            "MODEL_DIR": str(scratch / "models"),
            "TRAINING_LOG_DIR": str(scratch / "training"),
        }
        source = scratch / "history.csv"
        with source.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["内容", "分类"])
            writer.writerows(generate(args.letters))

        def run(*command: str) -> tuple[float, str]:
            started = time.monotonic()
            done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
            return time.monotonic() - started, done.stdout

        petition = str(ROOT / ".venv/bin/petition")
        run(str(ROOT / ".venv/bin/alembic"), "upgrade", "head")
        imported, out = run(petition, "nlu", "import", "--csv", str(source), "--text-col", "内容",
                            "--label-col", "分类", "--name", "bench", "--holdout",
                            str(args.holdout))  # fmt: skip
        print(out.strip())
        seconds, out = run(petition, "train", "--config", args.config)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        models = sorted((scratch / "models").rglob("*.tar.gz"))
        size = max((m.stat().st_size for m in models), default=0) / 1e6
        print(out.strip())
        print(f"\n{platform.node()} · {os.cpu_count()} cores · {Path(args.config).name}")
        print(f"letters generated:                  {args.letters}")
        print(f"import:                             {imported:6.1f} s")
        print(f"petition train (train+register+compare): {seconds:6.1f} s")
        print(f"peak RSS (largest process):         {peak:6.0f} MB")
        print(f"model file:                         {size:6.1f} MB")


if __name__ == "__main__":
    main()
