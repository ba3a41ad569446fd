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


async def predict(model: Path, texts: List[str]) -> List[Dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    predictions = []
    for text in texts:
        parsed = await agent.parse_message(text)
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
