"""What each addition to the linear intent classifier is worth (Rasa environment).

    .venv-rasa/bin/python -m bench.nlu_ablation

Stratified 5-fold cross-validation of the top-level category on the report examples, with the
production features and with one addition switched off at a time: place masking, taxonomy
lexicon tokens. Then the held-out messages rewritten in traditional characters with full-width
digits, classified with and without the normalising tokenizer.
"""

from __future__ import annotations

import csv
import platform
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from bench.nlu import ROOT, Classifiers, load_examples, pipeline_config
from nlu import text_features
from nlu import tokenizer as tokenizer_module
from nlu.linear_component import AveragedSGD
from nlu.text_features import DEFAULT_FEATURE_CONFIG, Lexicon, document, lexicon_for


def traditional_holdout() -> tuple[list[str], list[str]]:
    import opencc

    to_traditional = opencc.OpenCC("s2t")
    fullwidth = str.maketrans("0123456789", "０１２３４５６７８９")
    texts, labels = [], []
    for path in sorted((ROOT / "tests" / "data" / "nlu_holdout").glob("*.csv")):
        with path.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                texts.append(to_traditional.convert(row["text"]).translate(fullwidth))
                labels.append(f"report_{row['category']}")
    return texts, labels


def normalisation_effect() -> None:
    data, examples = load_examples()
    texts, gold = traditional_holdout()
    for name, patched in (("with normalisation", False), ("without normalisation", True)):
        originals = (tokenizer_module.normalize, text_features.normalize)
        if patched:
            tokenizer_module.normalize = text_features.normalize = _identity  # type: ignore[assignment]
        try:
            with tempfile.TemporaryDirectory() as workdir:
                models = Classifiers(Path(workdir))
                models.train(TrainingData(training_examples=list(examples)))
                predicted = [p[0] for p in models.predict(texts)]
        finally:
            tokenizer_module.normalize, text_features.normalize = originals
        print(
            f"  held-out in traditional + full-width, {name:<24} "
            f"accuracy {accuracy_score(gold, predicted):.3f}"
        )


def _identity(text: str) -> str:
    return text


def main() -> None:
    data, examples = load_examples()
    reports = [m for m in examples if m.get("intent").startswith("report_")]
    with tempfile.TemporaryDirectory() as workdir:
        Classifiers(Path(workdir)).tokenizer.process_training_data(data)
    config = {**DEFAULT_FEATURE_CONFIG, **pipeline_config("LinearIntentClassifier")}
    full = lexicon_for(config)
    variants = {
        "production (masking + lexicon + normalisation)": (full, True),
        "without place masking": (replace(full, places=frozenset()), True),
        "without lexicon tokens": (replace(full, terms=()), True),
        "without masking and lexicon": (Lexicon(), True),
    }
    labels = [m.get("intent") for m in reports]
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=42)
    print(f"NLU ablation — {date.today()} — {platform.node()} ({platform.machine()})")
    print(f"top-level category, 5-fold CV on {len(reports)} report examples")
    for name, (lexicon, _) in variants.items():
        pipeline = text_features.make_pipeline(
            config,
            AveragedSGD(alpha=float(config.get("alpha", 3e-6))),
        )  # fmt: skip
        docs = [document(m, lexicon) for m in reports]
        predicted = cross_val_predict(pipeline, np.array(docs, dtype=object), labels, cv=folds)
        accuracy = accuracy_score(labels, predicted)
        macro = f1_score(labels, predicted, average="macro")
        print(f"  {name:<48} accuracy {accuracy:.3f}  macro-F1 {macro:.3f}")
    normalisation_effect()


if __name__ == "__main__":
    main()
