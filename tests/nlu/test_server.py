"""Rasa's server as the project runs it (nlu/server.py): the same validation, cheaper."""

from __future__ import annotations

import argparse
import sys
import time
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


# The same figure is checked on the app side (tests/core/test_secret.py).
KEY_FOR_TEST_TOKEN = "2839a2867b36bb832f803a143cd51aafeb62f91ae7fe169c86a47997344feeab"
RUN = ["run", "--enable-api", "-i", "127.0.0.1", "--port", "5005"]


def test_the_token_comes_from_the_environment_not_the_command_line() -> None:
    argv = server.with_secrets(RUN, {"RASA_TOKEN": "rasa-token-for-tests"})
    assert argv[: len(RUN)] == RUN
    assert argv[len(RUN) :] == [
        "--auth-token", "rasa-token-for-tests",
        "--jwt-secret", KEY_FOR_TEST_TOKEN, "--jwt-method", "HS256",
    ]  # fmt: skip
    assert server.jwt_secret("rasa-token-for-tests") == KEY_FOR_TEST_TOKEN


def test_given_arguments_win() -> None:
    given = [*RUN, "--auth-token=given"]
    argv = server.with_secrets(given, {"RASA_TOKEN": "env"})
    assert argv == [*given, "--jwt-secret", server.jwt_secret("given"), "--jwt-method", "HS256"]
    own = [*RUN, "-t", "given", "--jwt-secret", "own"]
    assert server.with_secrets(own, {"RASA_TOKEN": "env"}) == own
    assert server.with_secrets(RUN, {}) == RUN  # no token anywhere: Rasa checks nothing
    for other in (["run", "actions"], ["train"], []):
        assert server.with_secrets(other, {"RASA_TOKEN": "env"}) == other


async def test_rasa_takes_a_jwt_signed_with_the_derived_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rasa's own server, with the arguments ``main`` gives it: the header works, ``?token=``
    still works, anything else is a 401. (409: authenticated, but no model loaded.)"""
    import httpx
    import jwt
    from rasa.cli.arguments.run import add_server_arguments
    from rasa.server import create_app
    from sanic import Sanic

    from actions.api.rasa import auth_header

    monkeypatch.setattr(Sanic, "test_mode", True)
    parser = argparse.ArgumentParser()
    add_server_arguments(parser)
    args = parser.parse_args(server.with_secrets(RUN, {"RASA_TOKEN": "tok"})[1:])
    app = create_app(
        auth_token=args.auth_token, jwt_secret=args.jwt_secret, jwt_method=args.jwt_method
    )
    await app._startup()
    forged = jwt.encode({"user": {"username": "x", "role": "admin"}}, "tok", algorithm="HS256")
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://rasa") as client:
        assert (await client.get("/status", headers=auth_header("tok"))).status_code == 409
        assert (await client.get("/status", params={"token": "tok"})).status_code == 409
        assert (await client.get("/status")).status_code == 401
        bad = {"Authorization": f"Bearer {forged}"}  # signed with the token itself
        assert (await client.get("/status", headers=bad)).status_code == 401
        stale = auth_header("tok", now=time.time() - 3600)
        assert (await client.get("/status", headers=stale)).status_code == 401


def test_request_bodies_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANIC_REQUEST_MAX_SIZE", "set here so that it is restored")
    monkeypatch.delenv("SANIC_REQUEST_MAX_SIZE")
    monkeypatch.setattr(server.no_tensorflow, "wanted", lambda *a: True)
    for name in ("compile_action_validation", "cache_event_types", "name_model_pulls"):
        monkeypatch.setattr(server, name, lambda: None)
    seen: list[list[str]] = []
    monkeypatch.setattr("rasa.__main__.main", lambda: seen.append(list(sys.argv)))
    monkeypatch.setattr(sys, "argv", ["nlu/server.py", *RUN])
    monkeypatch.setenv("RASA_TOKEN", "tok")
    server.main()
    assert server.os.environ["SANIC_REQUEST_MAX_SIZE"] == str(1024 * 1024)
    assert seen == [["rasa", *server.with_secrets(RUN, {"RASA_TOKEN": "tok"})]]


class BrokenTrackerStore:
    """A primary tracker store whose database is gone."""

    domain = None
    event_broker = None

    async def retrieve(self, sender_id: str) -> None:
        raise ConnectionError("database went away")

    async def save(self, tracker: object) -> None:
        raise ConnectionError("database went away")


async def test_a_failing_tracker_store_fails_the_turn_not_the_conversation() -> None:
    from rasa.core import tracker_store
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    on_error = tracker_store.FailSafeTrackerStore.on_tracker_store_error
    on_retrieve = tracker_store.FailSafeTrackerStore.on_tracker_store_retrieve_error
    kwargs = tracker_store.create_engine_kwargs
    server.strict_tracker_store()
    try:
        store = tracker_store.FailSafeTrackerStore(BrokenTrackerStore())  # type: ignore[arg-type]
        with pytest.raises(server.TrackerStoreUnavailable):
            await store.retrieve("web-abc")  # Rasa would start an empty conversation
        with pytest.raises(server.TrackerStoreUnavailable):
            await store.save(DialogueStateTracker("web-abc", Domain.empty().slots))
        assert tracker_store.create_engine_kwargs("postgresql://h/x")["pool_pre_ping"] is True
    finally:
        tracker_store.FailSafeTrackerStore.on_tracker_store_error = on_error  # type: ignore[method-assign]
        tracker_store.FailSafeTrackerStore.on_tracker_store_retrieve_error = on_retrieve  # type: ignore[method-assign]
        tracker_store.create_engine_kwargs = kwargs  # type: ignore[assignment]
