"""Parsing texts with the running Rasa server (its HTTP API)."""

from __future__ import annotations

import httpx
import pytest

from retraining.rasa_client import RasaParser, RasaUnavailable, to_prediction
from tests.retraining.fake_rasa import FakeRasaServer


def test_predictions_keep_categories_and_their_ranking() -> None:
    parsed = {
        "intent": {"name": "report_transportation", "confidence": 0.7},
        "intent_ranking": [
            {"name": "report_transportation", "confidence": 0.7},
            {"name": "greet", "confidence": 0.2},
            {"name": "report_other", "confidence": 0.1},
        ],
        "subcategory": {"name": "road_traffic", "confidence": 0.6},
    }
    p = to_prediction(parsed)
    assert (p.category, p.subcategory, p.subcategory_confidence) == (
        "transportation", "road_traffic", 0.6,
    )  # fmt: skip
    assert p.top3 == [("transportation", 0.7), ("other", 0.1)]
    assert to_prediction({"intent": {"name": "greet", "confidence": 0.9}}).category is None


def test_many_texts_in_order_and_a_clear_error_when_rasa_is_down(
    fake_rasa: FakeRasaServer,
) -> None:
    fake_rasa.parse["路灯坏了"] = "report_urban_construction"
    parser = RasaParser(fake_rasa.url, fake_rasa.token)
    found = parser.parse_many(["路灯坏了", "你好"])
    assert [p.intent for p in found] == ["report_urban_construction", "nlu_fallback"]
    with pytest.raises(RasaUnavailable, match="无法连接Rasa服务器"):
        RasaParser(fake_rasa.url, "wrong-token").parse_many(["路灯坏了"])
    refused = httpx.MockTransport(lambda request: httpx.Response(503))
    with httpx.Client(transport=refused) as client, pytest.raises(RasaUnavailable):
        parser.parse(client, "路灯坏了")
