from __future__ import annotations

from fastapi.testclient import TestClient


def test_fallback_choice_is_stored_with_provenance(
    client: TestClient, auth: dict[str, str]
) -> None:
    body = {
        "text": "楼上天天往下扔东西",
        "intent": "report_disputes",
        "source": "fallback_choice",
        "predicted_intent": "report_public_safety",
        "predicted_confidence": 0.25,
        "conversation_id": "web-abc",
    }
    created = client.post("/api/v1/training-examples", json=body, headers=auth)
    assert created.status_code == 201
    assert created.json()["status"] == "pending"
    listed = client.get(
        "/api/v1/training-examples", params={"source": "fallback_choice"}, headers=auth
    ).json()
    assert listed["total"] == 1 and listed["items"][0]["intent"] == "report_disputes"


def test_bad_examples_are_rejected(client: TestClient, auth: dict[str, str]) -> None:
    base = {"text": "x", "source": "fallback_choice"}
    assert (
        client.post(
            "/api/v1/training-examples", json={**base, "source": "x"}, headers=auth
        ).status_code
        == 422
    )
    unknown = client.post(
        "/api/v1/training-examples", json={**base, "intent": "report_nope"}, headers=auth
    )
    assert unknown.status_code == 422 and "未知的意图" in unknown.json()["detail"]
    assert client.post("/api/v1/training-examples", json=base).status_code == 401
