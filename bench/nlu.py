"""NLU benchmark (Rasa environment): cross-validation, training time, parse latency, size.

    .venv-rasa/bin/python -m bench.nlu                 # everything
    .venv-rasa/bin/python -m bench.nlu --skip-server   # cross-validation only

* Stratified k-fold cross-validation of the production intent and subcategory classifiers
  (the components and settings of config.yml, trained per fold on the project data):
  top-level accuracy / macro-F1 on the report examples, subcategory accuracy / macro-F1,
  all-intent accuracy.
* Held-out set (tests/data/nlu_holdout/*.csv, never trained on): the same figures.
* Independent evaluation set (tests/data/nlu_eval/*.csv: long letters and chat messages
  written by people who saw only the taxonomy, never the training data; never trained on):
  accuracy and macro-F1 overall, per category, per register and per length bucket; the
  fallback (share asked, share of the classifier's errors it catches) over a grid of
  thresholds with the chosen one marked; a reliability table; false emergency advice.
  ``--train-ref REV`` trains on data/nlu as it was at a git revision ("before" figures).
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

from nlu.emergency import EmergencyClassifier
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


def load_examples(nlu_dir: Path | None = None) -> tuple[TrainingData, list[Message]]:
    folder = nlu_dir or ROOT / "data" / "nlu"
    data = RasaFileImporter(training_data_paths=[str(folder)]).get_nlu_data()
    return data, [m for m in data.intent_examples if m.get("intent")]


def nlu_dir_at(ref: str, into: Path) -> Path:
    """data/nlu as it was at a git revision, written into ``into``."""
    names = subprocess.run(["git", "ls-tree", "--name-only", f"{ref}:data/nlu"], cwd=ROOT,
                           check=True, capture_output=True, text=True).stdout.split()  # fmt: skip
    for name in names:
        blob = subprocess.run(["git", "show", f"{ref}:data/nlu/{name}"], cwd=ROOT, check=True,
                              capture_output=True).stdout  # fmt: skip
        (into / name).write_bytes(blob)
    return into


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


LENGTH_BUCKETS = ((0, 50, "<50"), (50, 200, "50–200"), (200, 500, "200–500"), (500, 10**9, ">500"))


def component_config(name: str) -> dict[str, Any]:
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    return next((c for c in config["pipeline"] if c["name"].endswith(name)), {})


def bucket_of(text: str) -> str:
    return next(name for low, high, name in LENGTH_BUCKETS if low <= len(text) < high)


def independent(train_ref: str | None = None) -> None:
    rows = []
    for path in sorted((ROOT / "tests" / "data" / "nlu_eval").glob("*.csv")):
        with path.open(encoding="utf-8") as fh:
            rows += list(csv.DictReader(fh))
    with tempfile.TemporaryDirectory() as workdir:
        nlu_dir = nlu_dir_at(train_ref, Path(workdir)) if train_ref else None
        data, examples = load_examples(nlu_dir)
        (Path(workdir) / "models").mkdir()
        models = Classifiers(Path(workdir) / "models")
        models.train(TrainingData(training_examples=examples, regex_features=data.regex_features))
        messages = [Message.build(text=r["text"]) for r in rows]
        models.tokenizer.process(messages)
        models.intent.process(messages)
        models.sub.process(messages)
        (Path(workdir) / "emergency").mkdir()
        emergency = EmergencyClassifier.create(
            {},
            LocalModelStorage(Path(workdir) / "emergency"),
            Resource("emergency"),
            ExecutionContext(GraphSchema({}), "bench"),
        )
        emergency.train(data)
    gold = [f"report_{r['category']}" for r in rows]
    # Before any fallback: the ranking without nlu_fallback (the report's entry carries the
    # combined category confidence the fallback threshold is compared with).
    ranking = [[r for r in m.get("intent_ranking") or [] if r["name"] != "nlu_fallback"]
               for m in messages]  # fmt: skip
    pred = [r[0]["name"] if r else "" for r in ranking]
    top = np.array([r[0]["confidence"] if r else 0.0 for r in ranking])
    second = np.array([r[1]["confidence"] if len(r) > 1 else 0.0 for r in ranking])
    wrong = np.array([g != p for g, p in zip(gold, pred, strict=True)])
    source = f"data/nlu at {train_ref}" if train_ref else "data/nlu"
    print(f"independent evaluation set: {len(rows)} messages ({source}, {len(examples)} examples)")
    print("  top-level     accuracy {:.3f}  macro-F1 {:.3f}".format(*scores(gold, pred)))
    sub_gold = [f"{g}/{r['subcategory']}" for g, r in zip(gold, rows, strict=True)]
    sub_pred = [f"{p}/{(m.get('subcategory') or {}).get('name')}"
                for p, m in zip(pred, messages, strict=True)]  # fmt: skip
    print("  subcategory   accuracy {:.3f}  macro-F1 {:.3f}".format(*scores(sub_gold, sub_pred)))
    for title, key in (
        ("register", lambda r: r["register"]),
        ("length", lambda r: bucket_of(r["text"])),
    ):
        groups: dict[str, list[int]] = {}
        for i, row in enumerate(rows):
            groups.setdefault(key(row), []).append(i)
        order = [b[2] for b in LENGTH_BUCKETS] if title == "length" else sorted(groups)
        cells = [f"{name} {np.mean(~wrong[groups[name]]):.3f} (n={len(groups[name])})"
                 for name in order if name in groups]  # fmt: skip
        print(f"  by {title}: " + ", ".join(cells))
    labels = sorted(set(gold))
    per_class = f1_score(gold, pred, labels=labels, average=None, zero_division=0)
    named = zip(labels, per_class, strict=True)
    print(
        "  F1 by category: " + ", ".join(f"{n.removeprefix('report_')} {f:.2f}" for n, f in named)
    )
    fallback = component_config("FallbackClassifier")
    other_t, other_a = float(fallback["threshold"]), float(fallback["ambiguity_threshold"])
    chosen = float(component_config("SubcategoryClassifier").get("fallback_threshold", 0.0))
    is_report = np.array([p.startswith("report_") for p in pred])
    print(f"  fallback: a report below t, any intent below {other_t} or within {other_a} of"
          " the second → asked; share asked / accuracy of the rest / errors caught")  # fmt: skip
    outcomes = {}
    for t in sorted({round(x / 100, 2) for x in range(0, 95, 5)} | {chosen}):
        asked = (is_report & (top < t)) | (top < other_t) | (top - second < other_a)
        outcomes[t] = (asked.mean(), (wrong & asked).sum() / max(1, wrong.sum()), asked)
    # The most errors caught while asking at most 10 % of residents.
    best = max((t for t, v in outcomes.items() if v[0] <= 0.10), key=lambda t: outcomes[t][1])
    for t in sorted({0.0, 0.2, 0.4, 0.5, 0.7, 0.8, 0.9, best, chosen}):
        share, caught, asked = outcomes[t]
        kept = ~asked
        marks = ("  ← config.yml" if t == chosen else "") + (
            "  ← most caught with ≤ 10 % asked" if t == best else "")  # fmt: skip
        print(f"    t={t:.2f}: {share:6.1%} asked, "
              f"{np.mean(~wrong[kept]) if kept.any() else 0:.3f} accurate, "
              f"{caught:4.0%} of errors caught{marks}")  # fmt: skip
    print("  reliability (top confidence → share right):")
    edges = [0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01]
    for low, high in zip(edges, edges[1:], strict=False):
        inside = (top >= low) & (top < high)
        if inside.any():
            print(f"    {low:.1f}–{min(high, 1.0):.1f}: n={inside.sum():4d}  mean confidence "
                  f"{top[inside].mean():.2f}  right {np.mean(~wrong[inside]):.2f}")  # fmt: skip
    false_alarms = [r["text"] for r in rows if emergency.services_in(r["text"])]
    print(f"  false emergency advice on these ordinary petitions: {len(false_alarms)} of "
          f"{len(rows)} ({len(false_alarms) / len(rows):.2%})")  # fmt: skip
    for text in false_alarms[:5]:
        print(f"    {text[:70]}…")


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
    parser.add_argument("--only-independent", action="store_true")
    parser.add_argument("--train-ref", help="train on data/nlu at this git revision")
    args = parser.parse_args()
    print(
        f"NLU benchmark — {date.today()} — {platform.node()} ({platform.machine()}, "
        f"{platform.python_version()})"
    )
    if args.only_independent:
        independent(args.train_ref)
        return
    cross_validate(args.folds)
    holdout()
    independent()
    if not args.skip_server:
        train_and_serve(args.parses)


if __name__ == "__main__":
    main()
