"""NLU benchmark (Rasa environment): cross-validation, training time, parse latency, size.

    .venv-rasa/bin/python -m bench.nlu                 # everything
    .venv-rasa/bin/python -m bench.nlu --skip-server   # cross-validation only

* Stratified k-fold cross-validation of the production intent and subcategory classifiers
  (the components and settings of config.yml, trained per fold on the project data):
  top-level accuracy / macro-F1 on the report examples, subcategory accuracy / macro-F1,
  all-intent accuracy.
* Held-out set (tests/data/nlu_holdout/*.csv, never trained on): the same figures.
* Training time and size of the full model (``rasa train`` with config.yml), and parse
  latency p50/p95 through a running Rasa server's HTTP API.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.importers.rasa import RasaFileImporter
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

from nlu.linear_intent import LinearIntentClassifier
from nlu.subcategory import SubcategoryClassifier, subcategory_of
from nlu.tokenizer import NormalizingJiebaTokenizer

ROOT = Path(__file__).resolve().parent.parent


def pipeline_config(name: str) -> dict[str, Any]:
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    for item in config["pipeline"]:
        if item["name"].endswith(name):
            return {k: v for k, v in item.items() if k != "name"}
    return {}


class Classifiers:
    """The production tokenizer, intent and subcategory components, trained in-process."""

    def __init__(self, workdir: Path) -> None:
        storage = LocalModelStorage(workdir)
        context = ExecutionContext(GraphSchema({}), "bench")
        tok_config = {
            **NormalizingJiebaTokenizer.get_default_config(),
            **pipeline_config("NormalizingJiebaTokenizer"),
        }
        tok_config["dictionary_path"] = str(ROOT / tok_config["dictionary_path"])
        self.tokenizer = NormalizingJiebaTokenizer.create(
            tok_config, storage, Resource("tok"), context
        )
        self.intent = LinearIntentClassifier.create(
            pipeline_config("LinearIntentClassifier"), storage, Resource("intent"), context
        )
        self.sub = SubcategoryClassifier.create(
            pipeline_config("SubcategoryClassifier"), storage, Resource("sub"), context
        )

    def train(self, data: TrainingData) -> float:
        started = time.perf_counter()
        self.tokenizer.process_training_data(data)
        self.intent.train(data)
        self.sub.train(data)
        return time.perf_counter() - started

    def predict(self, texts: list[str]) -> list[tuple[str, str | None]]:
        return [(p[0], p[1]) for p in self.predict_with_confidence(texts)]

    def predict_with_confidence(self, texts: list[str]) -> list[tuple[str, str | None, float]]:
        messages = [Message.build(text=t) for t in texts]
        self.tokenizer.process(messages)
        self.intent.process(messages)
        self.sub.process(messages)
        return [
            (
                m.get("intent")["name"],
                (m.get("subcategory") or {}).get("name"),
                float(m.get("intent")["confidence"]),
            )
            for m in messages
        ]


def load_examples() -> tuple[TrainingData, list[Message]]:
    data = RasaFileImporter(training_data_paths=[str(ROOT / "data" / "nlu")]).get_nlu_data()
    return data, [m for m in data.intent_examples if m.get("intent")]


def scores(gold: list[str], pred: list[str]) -> tuple[float, float]:
    # Macro-F1 over the gold classes; a prediction outside them counts as a miss.
    labels = sorted(set(gold))
    macro = f1_score(gold, pred, labels=labels, average="macro", zero_division=0)
    return accuracy_score(gold, pred), macro


def cross_validate(folds: int) -> None:
    data, examples = load_examples()
    labels = [m.get("intent") for m in examples]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=42)
    top_gold: list[str] = []
    top_pred: list[str] = []
    sub_gold: list[str] = []
    sub_pred: list[str] = []
    all_gold: list[str] = []
    all_pred: list[str] = []
    train_times = []
    for train_idx, test_idx in splitter.split(np.zeros(len(labels)), labels):
        train = TrainingData(
            training_examples=[examples[i] for i in train_idx],
            regex_features=data.regex_features,
        )
        with tempfile.TemporaryDirectory() as workdir:
            models = Classifiers(Path(workdir))
            train_times.append(models.train(train))
            test = [examples[i] for i in test_idx]
            predictions = models.predict([m.get("text") for m in test])
        for message, (intent, sub) in zip(test, predictions, strict=True):
            gold = message.get("intent")
            all_gold.append(gold)
            all_pred.append(intent)
            if gold.startswith("report_"):
                top_gold.append(gold)
                top_pred.append(intent)
                sub_gold.append(f"{gold}/{subcategory_of(message)}")
                sub_pred.append(f"{intent}/{sub}")
    n_reports = len(top_gold)
    print(
        f"{folds}-fold stratified cross-validation on {len(examples)} examples "
        f"({n_reports} reports in {len(set(top_gold))} categories, "
        f"{len(set(sub_gold))} subcategories)"
    )
    print("  top-level     accuracy {:.3f}  macro-F1 {:.3f}".format(*scores(top_gold, top_pred)))
    print("  subcategory   accuracy {:.3f}  macro-F1 {:.3f}".format(*scores(sub_gold, sub_pred)))
    print("  all intents   accuracy {:.3f}  macro-F1 {:.3f}".format(*scores(all_gold, all_pred)))
    print(f"  classifier training per fold: {statistics.mean(train_times):.1f} s")


def holdout() -> None:
    data, examples = load_examples()
    rows = []
    for path in sorted((ROOT / "tests" / "data" / "nlu_holdout").glob("*.csv")):
        with path.open(encoding="utf-8") as fh:
            rows += list(csv.DictReader(fh))
    with tempfile.TemporaryDirectory() as workdir:
        models = Classifiers(Path(workdir))
        models.train(TrainingData(training_examples=examples, regex_features=data.regex_features))
        predictions = models.predict_with_confidence([r["text"] for r in rows])
    top_gold = [f"report_{r['category']}" for r in rows]
    top_pred = [p[0] for p in predictions]
    sub_gold = [f"report_{r['category']}/{r['subcategory']}" for r in rows]
    sub_pred = [f"{p[0]}/{p[1]}" for p in predictions]
    print(f"held-out set: {len(rows)} messages never trained on")
    print("  top-level     accuracy {:.3f}  macro-F1 {:.3f}".format(*scores(top_gold, top_pred)))
    print("  subcategory   accuracy {:.3f}  macro-F1 {:.3f}".format(*scores(sub_gold, sub_pred)))
    print("  fallback threshold: share asked to choose / accuracy of the rest / errors caught")
    wrong = [g != p[0] for g, p in zip(top_gold, predictions, strict=True)]
    for threshold in (0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
        low = [p[2] < threshold for p in predictions]
        kept = [not w for w, lo in zip(wrong, low, strict=True) if not lo]
        caught = sum(w and lo for w, lo in zip(wrong, low, strict=True)) / max(1, sum(wrong))
        print(
            f"    {threshold:.2f}: {sum(low) / len(low):.1%} asked, "
            f"{sum(kept) / max(1, len(kept)):.3f} accurate, {caught:.0%} of errors caught"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def train_and_serve(parses: int) -> None:
    rasa = str(Path(sys.executable).parent / "rasa")
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run(
            [
                rasa,
                "train",
                "--config",
                "config.yml",
                "--domain",
                "domain.yml",
                "--data",
                "data/nlu",
                "data/rules",
                "data/stories",
                "--out",
                out,
                "--fixed-model-name",
                "bench",
                "--force",
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        train_seconds = time.perf_counter() - started
        model = Path(out) / "bench.tar.gz"
        print(
            f"full model (rasa train --force, config.yml): {train_seconds:.0f} s, "
            f"{model.stat().st_size / 1e6:.1f} MB"
        )
        port = free_port()
        server = subprocess.Popen(
            [
                rasa,
                "run",
                "--enable-api",
                "-i",
                "127.0.0.1",
                "--port",
                str(port),
                "--model",
                str(model),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # endpoints.yml names the action server; parsing does not need one.
            env={**os.environ, "ACTION_SERVER_URL": "http://127.0.0.1:9/webhook"},
        )
        try:
            url = f"http://127.0.0.1:{port}"
            started = time.perf_counter()
            while True:
                if server.poll() is not None:
                    raise RuntimeError("the Rasa server exited before answering")
                try:
                    if httpx.get(f"{url}/status", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            print(f"server start to first answer: {time.perf_counter() - started:.0f} s")
            texts = [m.get("text") for m in load_examples()[1]]
            latencies = []
            with httpx.Client(base_url=url, timeout=30) as client:
                for i in range(parses):
                    t0 = time.perf_counter()
                    client.post("/model/parse", json={"text": texts[i % len(texts)]})
                    latencies.append((time.perf_counter() - t0) * 1000)
            latencies.sort()
            p50 = latencies[len(latencies) // 2]
            p95 = latencies[int(len(latencies) * 0.95)]
            print(f"parse latency over {parses} requests: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
        finally:
            server.terminate()
            server.wait()
    shutil.rmtree(ROOT / ".rasa", ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="NLU benchmark")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--parses", type=int, default=300)
    parser.add_argument("--skip-server", action="store_true")
    args = parser.parse_args()
    print(
        f"NLU benchmark — {date.today()} — {platform.node()} ({platform.machine()}, "
        f"{platform.python_version()})"
    )
    cross_validate(args.folds)
    holdout()
    if not args.skip_server:
        train_and_serve(args.parses)


if __name__ == "__main__":
    main()
