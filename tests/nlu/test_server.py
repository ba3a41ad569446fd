"""Rasa's server as the project runs it (nlu/server.py): the same validation, cheaper."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
from rasa.core import run
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event, SlotSet

from nlu import server

VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "category", "value": "transportation"}]},
    {"events": [{"event": "active_loop", "name": None}, {"event": "followup", "name": "x"}]},
    {"responses": [{"text": "您好"}]},
]
INVALID = [
    {"events": [{"event": "slot", "name": 3, "value": "x"}]},  # a slot name must be a string
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"name": "category"}]},  # no event type
    {"events": "slot"},
    {"responses": ["text"]},
]


@pytest.fixture
def patched() -> Iterator[None]:
    original = RemoteAction._validate_action_result
    resolve = Event.resolve_by_type
    server.compile_action_validation()
    server.cache_event_types()
    yield
    RemoteAction._validate_action_result = original  # type: ignore[method-assign]
    Event.resolve_by_type = resolve  # type: ignore[method-assign]


def rasa_accepts(result: dict[str, Any]) -> bool:
    try:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
    except jsonschema.ValidationError:
        return False
    return True


@pytest.mark.parametrize("result", VALID + INVALID)
def test_compiled_validation_accepts_and_refuses_what_rasa_does(
    patched: None, result: dict[str, Any]
) -> None:
    action = RemoteAction("action_x", None)
    expected = rasa_accepts(result)
    assert expected == (result in VALID)
    if expected:
        assert action._validate_action_result(result) is True
    else:
        with pytest.raises(jsonschema.ValidationError, match="Failed to validate"):
            action._validate_action_result(result)


def test_event_types_are_found_by_name(patched: None) -> None:
    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("slot") is SlotSet  # from the dictionary
    assert Event.resolve_by_type("nothing", default=SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("nothing")


async def test_each_worker_names_itself_on_its_model_pulls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[dict[str, str]] = []

    async def load(model_path: Any, endpoints: Any, *args: Any) -> str:
        seen.append(dict(endpoints.model.headers) if endpoints.model else {})
        return "agent"

    monkeypatch.setattr(run, "load_agent_on_start", load)
    server.name_model_pulls()
    model = SimpleNamespace(headers={"Authorization": "Bearer t"})
    assert await run.load_agent_on_start(None, SimpleNamespace(model=model), None, None) == "agent"
    assert seen == [{"Authorization": "Bearer t", server.WORKER_HEADER: server.worker_name()}]
    assert model.headers[server.WORKER_HEADER].endswith(f":{server.os.getpid()}")
    await run.load_agent_on_start(None, SimpleNamespace(model=None), None, None)  # no server
    assert seen[-1] == {}
