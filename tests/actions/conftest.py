from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rasa_sdk import Tracker

from actions.api import Services, build_services, set_services
from actions.settings import ROOT, ActionSettings
from tests.actions.fakes import FakeCaseStore, FakeRasa, transport


@pytest.fixture
def action_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ActionSettings:
    monkeypatch.setenv("CASESTORE_URL", "http://casestore.test")
    monkeypatch.setenv("CASESTORE_API_TOKEN", "token-for-tests-123456")
    monkeypatch.setenv("CASESTORE_TIMEOUT_SECONDS", "3")
    monkeypatch.setenv("RASA_URL", "http://rasa.test")
    monkeypatch.setenv("RASA_TOKEN", "rasa-token-for-tests")
    monkeypatch.setenv("OUTBOX_PATH", str(tmp_path / "outbox.db"))
    monkeypatch.setenv("DATA_DIR", str(ROOT / "data"))
    monkeypatch.setenv("CASESTORE_RETRY_DELAYS", "0,0")
    return ActionSettings.from_env()


@pytest.fixture
def store(action_settings: ActionSettings) -> FakeCaseStore:
    """The case store (tickets, grids, training examples) the actions talk to."""
    return FakeCaseStore(action_settings.casestore_api_token, action_settings.data_dir)


@pytest.fixture
def rasa(action_settings: ActionSettings) -> FakeRasa:
    return FakeRasa(action_settings.rasa_token)


@pytest.fixture(autouse=True)
def services(
    action_settings: ActionSettings, store: FakeCaseStore, rasa: FakeRasa
) -> Iterator[Services]:
    """The actions' real clients, over fakes of the case store and Rasa instead of the network."""
    routes = {
        httpx.URL(action_settings.casestore_url).host: store.handle,
        httpx.URL(action_settings.rasa_url).host: rasa.handle,
    }
    installed = build_services(action_settings, transport=transport(routes))
    set_services(installed)
    yield installed
    set_services(None)


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
