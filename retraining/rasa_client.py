"""Parse texts with the model running on the Rasa server (its HTTP API, token-protected)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from core.secret import rasa_auth_header

REPORT_PREFIX = "report_"


class RasaUnavailable(RuntimeError):
    """The Rasa server did not answer."""


@dataclass(frozen=True)
class Prediction:
    intent: str
    confidence: float
    category: str | None
    subcategory: str | None
    subcategory_confidence: float | None
    top3: list[tuple[str, float]]


def to_prediction(parsed: dict[str, Any]) -> Prediction:
    intent = parsed.get("intent") or {}
    name = str(intent.get("name") or "")
    ranking = [
        (str(r["name"])[len(REPORT_PREFIX) :], float(r["confidence"]))
        for r in parsed.get("intent_ranking") or []
        if str(r.get("name", "")).startswith(REPORT_PREFIX)
    ][:3]
    sub = parsed.get("subcategory") or {}
    return Prediction(
        intent=name,
        confidence=float(intent.get("confidence") or 0.0),
        category=name[len(REPORT_PREFIX) :] if name.startswith(REPORT_PREFIX) else None,
        subcategory=sub.get("name"),
        subcategory_confidence=sub.get("confidence"),
        top3=ranking,
    )


class RasaParser:
    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def parse(self, client: httpx.Client, text: str) -> Prediction:
        try:
            response = client.post(
                f"{self.url}/model/parse",
                headers=rasa_auth_header(self.token),
                json={"text": text},
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise RasaUnavailable(
                f"无法连接Rasa服务器 {self.url}（{exc}）。请先运行 make run 启动服务"
            ) from exc
        return to_prediction(response.json())

    def parse_many(self, texts: list[str], workers: int = 4) -> list[Prediction]:
        with httpx.Client(timeout=self.timeout) as client, ThreadPoolExecutor(workers) as pool:
            return list(pool.map(lambda t: self.parse(client, t), texts))
