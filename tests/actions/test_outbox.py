from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from actions.outbox import Outbox, deliver_pending


def test_put_is_idempotent_and_delivery_marks_entries(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.db")
    outbox.put("k-1", {"submission_key": "k-1"})
    outbox.put("k-1", {"submission_key": "k-1"})
    outbox.put("k-2", {"submission_key": "k-2"})
    assert [e["key"] for e in outbox.pending()] == ["k-1", "k-2"]
    sent: list[dict[str, Any]] = []

    def post(payload: dict[str, Any]) -> httpx.Response:
        sent.append(payload)
        return httpx.Response(201, json={"number": f"20261126{len(sent):05d}"})

    assert deliver_pending(outbox, post) == 2
    assert deliver_pending(outbox, post) == 0  # nothing is delivered twice
    assert outbox.entry("k-1")["ticket_number"] == "2026112600001"
    assert outbox.counts() == {"delivered": 2}


def test_store_down_keeps_entries_pending(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.db")
    outbox.put("k-1", {"submission_key": "k-1"})

    def down(payload: dict[str, Any]) -> httpx.Response:
        raise httpx.ConnectError("refused")

    def error(payload: dict[str, Any]) -> httpx.Response:
        return httpx.Response(503)

    assert deliver_pending(outbox, down) == 0
    assert deliver_pending(outbox, error) == 0
    entry = outbox.entry("k-1")
    assert entry["state"] == "pending" and entry["attempts"] == 2


def test_rejected_entries_are_kept_not_retried(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.db")
    outbox.put("k-1", {"submission_key": "k-1"})

    def reject(payload: dict[str, Any]) -> httpx.Response:
        return httpx.Response(422, json={"detail": "bad"})

    assert deliver_pending(outbox, reject) == 0
    assert outbox.pending() == []
    assert outbox.entry("k-1")["state"] == "rejected"
