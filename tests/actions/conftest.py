from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker

from actions.settings import ROOT, ActionSettings


@pytest.fixture
def action_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ActionSettings:
    monkeypatch.setenv("CASESTORE_URL", "http://casestore.test")
    monkeypatch.setenv("CASESTORE_API_TOKEN", "token-for-tests-123456")
    monkeypatch.setenv("RASA_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("OUTBOX_PATH", str(tmp_path / "outbox.db"))
    monkeypatch.setenv("DATA_DIR", str(ROOT / "data"))
    monkeypatch.setenv("CASESTORE_RETRY_DELAYS", "0,0")
    return ActionSettings.from_env()


def make_tracker(
    slots: dict[str, Any] | None = None,
    text: str = "",
    intent: str = "",
    entities: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    ranking: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
        "intent_ranking": ranking or [{"name": intent, "confidence": 0.9}],
    }
    return Tracker(
        sender_id="web-abcdef123456",
        slots=slots or {},
        latest_message=latest,
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name=None,
    )


@pytest.fixture(autouse=True)
def no_grid_service(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Grid resolution answers what a test puts here (default: the case store cannot say)."""
    from actions import grid

    answers: dict[str, Any] = {}

    async def locate(
        text: str, domain: Any, *, after_landmark: bool = False, point: Any = None
    ) -> Any:
        for key, value in answers.items():
            if key in text:
                return value
        return None

    monkeypatch.setattr(grid, "locate", locate)
    return answers
