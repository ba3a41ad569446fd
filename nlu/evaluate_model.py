"""Classify texts with one or more trained models (Rasa env), for comparing model versions.

.venv-rasa/bin/python -m nlu.evaluate_model --model A.tar.gz [--model B.tar.gz] \
    --texts T.json --out P.json

T.json is a JSON list of strings; P.json becomes a JSON object mapping each model path to
one prediction per text, in order: {"intent", "confidence", "ranking"}. (A file, not
stdout: Rasa's loggers write to stdout.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any, Dict, List  # noqa: UP035  (Rasa-side module, Python 3.10)

BATCH = 256


def parse_all(model: Path, texts: List[str]) -> List[Dict[str, Any]]:
    """Parse results for every text, a batch at a time through the model's NLU graph.

    What the server's ``parse_message`` does for one message, done for a list: every
    component processes the batch at once, which on thousands of held-back letters is many
    times faster than one message after another.
    """
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage
    from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
    from rasa.shared.core.trackers import DialogueStateTracker

    processor = Agent.load(str(model)).processor
    if processor is None:
        raise RuntimeError(f"{model} has no NLU pipeline")
    target = processor.model_metadata.nlu_target
    tracker = DialogueStateTracker.from_events("evaluate", [])
    parsed: List[Dict[str, Any]] = []
    for start in range(0, len(texts), BATCH):
        batch = [UserMessage(text) for text in texts[start : start + BATCH]]
        results = processor.graph_runner.run(
            inputs={PLACEHOLDER_MESSAGE: batch, PLACEHOLDER_TRACKER: tracker}, targets=[target]
        )
        parsed += [m.as_dict(only_output_properties=True) for m in results[target]]
    return parsed


async def predict(model: Path, texts: List[str]) -> List[Dict[str, Any]]:
    predictions = []
    for parsed in parse_all(model, texts):
        intent = parsed.get("intent") or {}
        predictions.append(
            {
                "intent": intent.get("name"),
                "confidence": float(intent.get("confidence") or 0.0),
                "ranking": [
                    [r["name"], float(r["confidence"])]
                    for r in (parsed.get("intent_ranking") or [])[:5]
                ],
            }
        )
    return predictions


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, type=Path)
    parser.add_argument("--texts", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    texts = json.loads(args.texts.read_text(encoding="utf-8"))
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        print("texts must be a JSON list of strings", file=sys.stderr)
        return 2
    missing = [str(m) for m in args.model if not m.exists()]
    if missing:
        print(f"model not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    result = {str(m): asyncio.run(predict(m, texts)) for m in args.model}
    args.out.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
