from __future__ import annotations

from typing import Any

import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core import audit
from retraining import examples as service


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


def test_review_accepts_relabels_and_rejects_with_audit(
    client: TestClient, auth: dict[str, str], session: Session
) -> None:
    ids = []
    for text in ("楼下烧烤店油烟太大", "这个月工资又没发", "[测试](location)乱码"):
        body = {"text": text, "intent": "report_urban_construction", "source": "correction"}
        ids.append(client.post("/api/v1/training-examples", json=body, headers=auth).json()["id"])

    def review(example_id: int, **body: str) -> Any:
        return client.post(
            f"/api/v1/training-examples/{example_id}/review",
            json={"actor": "admin:boss", **body},
            headers=auth,
        )

    assert review(ids[0], action="accept").json()["status"] == "accepted"
    relabelled = review(ids[1], action="relabel", intent="report_labor_social_security")
    assert relabelled.json()["intent"] == "report_labor_social_security"
    assert review(ids[2], action="reject").json()["status"] == "rejected"
    bad = review(ids[0], action="relabel", intent="report_nowhere")
    assert bad.status_code == 422 and "未知的分类意图" in bad.json()["detail"]
    assert review(ids[0], action="relabel", intent="greet", subcategory="x").status_code == 422
    assert review(999, action="accept").status_code == 404
    actions = [e.action for e in audit.recent(session, object_type="training_example")]
    assert actions == ["example_reject", "example_relabel", "example_accept"]
    text = service.to_nlu_yaml(service.accepted(session))
    data = yaml.safe_load(text)
    assert [b["intent"] for b in data["nlu"]] == [
        "report_labor_social_security",
        "report_urban_construction",
    ]
    assert data["nlu"][0]["examples"] == "- 这个月工资又没发\n"


def test_example_ids_and_offsets_are_bounded(client: TestClient, auth: dict[str, str]) -> None:
    review = {"action": "reject", "actor": "admin"}
    too_big = client.post(f"/api/v1/training-examples/{2**31}/review", json=review, headers=auth)
    assert too_big.status_code == 422
    assert f"字段 example_id 必须小于或等于 {2**31 - 1}" in too_big.json()["detail"]
    missing = client.post(
        f"/api/v1/training-examples/{2**31 - 1}/review", json=review, headers=auth
    )
    assert missing.status_code == 404
    page = client.get("/api/v1/training-examples", params={"offset": 10**30}, headers=auth)
    assert page.status_code == 422 and "字段 offset 必须小于或等于" in page.json()["detail"]
