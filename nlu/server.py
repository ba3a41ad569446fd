"""Rasa's server as this project runs it: ``python -m nlu.server run …`` (``rasa run``'s arguments).

Changes to Rasa 3.6, applied before the command line is handed to Rasa:

* **No TensorFlow unless a component needs it** (``nlu/no_tensorflow.py``): a third of the
  start-up time was importing TensorFlow, which none of this project's components uses.

* **Action responses are validated with compiled validators.** Rasa checks every action
  server response with ``jsonschema.validate``, which re-checks the (large) response schema
  itself on every call: measured under load, that was three quarters of the Rasa process's
  busy time. The schemas are compiled once here and reused; responses are
  still validated as strictly.
* **Event classes are found by name in a dictionary** (``cache_event_types``).
* **A failing tracker store fails the turn** (``strict_tracker_store``) instead of starting
  the conversation afresh in the worker's memory.
* **Every worker names itself when it pulls the model.** The model comes from the case store
  (``models:`` in endpoints.yml, pulled every few seconds); each Sanic worker or replica sends
  ``X-Rasa-Worker: <host>:<pid>`` with its pulls, so the case store knows which workers run
  which model, and an activation waits until every one of them has loaded it.
* **Secrets stay off the command line** (``with_secrets``): without ``--auth-token`` the
  token is read from ``RASA_TOKEN`` (``ps`` shows a process's arguments to every user), and
  JWTs in ``Authorization: Bearer`` are accepted, signed with a key derived from the token
  (``jwt_secret``; ``core.secret.rasa_auth_header`` makes them), so callers keep the token
  out of URLs. Rasa's ``?token=`` still works; the project does not use it.
* **Request bodies are capped** at ``SANIC_REQUEST_MAX_SIZE`` (1 MiB unless set; Sanic's
  default is 100 MB); the REST channel's own checks are in ``nlu/channel.py``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import socket
import sys
from pathlib import Path
from typing import Any, Mapping

from nlu import no_tensorflow

WORKER_HEADER = "X-Rasa-Worker"
JWT_METHOD = "HS256"
# Also in core/secret.py and actions/api/rasa.py (neither may import this module): all
# derive the same key, checked against one figure in their tests.
JWT_KEY_LABEL = b"petition-channel rasa jwt v1"
REQUEST_MAX_SIZE = 1024 * 1024


def jwt_secret(token: str) -> str:
    """The key Rasa checks JWTs with: an HMAC of Rasa's token, so no second secret is needed
    and a JWT (which callers send) does not reveal the token."""
    return hmac.new(token.encode("utf-8"), JWT_KEY_LABEL, hashlib.sha256).hexdigest()


def _option(argv: list[str], *names: str) -> str | None:
    """The value of an option given as ``--name value`` or ``--name=value``."""
    for index, arg in enumerate(argv):
        for name in names:
            if arg == name and index + 1 < len(argv):
                return argv[index + 1]
            if arg.startswith(f"{name}="):
                return arg[len(name) + 1 :]
    return None


def with_secrets(argv: list[str], environ: Mapping[str, str]) -> list[str]:
    """``rasa run``'s arguments with the token from ``RASA_TOKEN`` unless ``--auth-token``
    is given, and JWT checking with the key derived from the token unless ``--jwt-secret``
    is given. Changing ``sys.argv`` here does not show in ``ps`` (it is the interpreter's
    copy), so the token is never on a visible command line."""
    if argv[:1] != ["run"] or argv[1:2] == ["actions"]:
        return argv
    argv = list(argv)
    token = _option(argv, "--auth-token", "-t")
    if token is None and environ.get("RASA_TOKEN"):
        token = environ["RASA_TOKEN"]
        argv += ["--auth-token", token]
    if token and _option(argv, "--jwt-secret") is None:
        argv += ["--jwt-secret", jwt_secret(token), "--jwt-method", JWT_METHOD]
    return argv


class TrackerStoreUnavailable(RuntimeError):
    """The tracker store failed: the turn fails too, and the resident is told to retry."""


def strict_tracker_store() -> None:
    """A tracker store that fails makes the turn fail, instead of Rasa's fallback.

    Rasa's ``FailSafeTrackerStore`` answers a failed read with no tracker — a new, empty
    conversation — and keeps a failed write in the worker's memory: when the scale profile's
    PostgreSQL went away for a moment, residents half-way through a report were asked what
    their problem was, and another worker later read the stale tracker (fault injection,
    docs/benchmarks.md). Here the error propagates: the REST call fails, the web chat keeps
    the message and sends it again, the Telegram relay keeps its job. The database engine's
    settings are ``nlu.tracker_store.engine_kwargs``.
    """
    from rasa.core import tracker_store

    from nlu.tracker_store import engine_kwargs

    def failed(error: Exception) -> None:
        raise TrackerStoreUnavailable(f"tracker store: {error}") from error

    tracker_store.FailSafeTrackerStore.on_tracker_store_error = (  # type: ignore[method-assign]
        lambda self, error: failed(error)
    )
    tracker_store.FailSafeTrackerStore.on_tracker_store_retrieve_error = (  # type: ignore[method-assign]
        lambda self, error: failed(error)
    )
    original = tracker_store.create_engine_kwargs

    @functools.wraps(original)
    def create_engine_kwargs(url: Any) -> dict[str, Any]:
        return engine_kwargs(url, original(url))

    tracker_store.create_engine_kwargs = create_engine_kwargs  # type: ignore[assignment]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def compile_action_validation() -> None:
    """Validate action server responses with compiled validators, one per event type.

    Rasa's schema checks each event against all 23 event schemas (``oneOf``); their event
    names are distinct constants, so checking the common part and then the one schema named
    by the event's ``event`` accepts and refuses exactly the same responses.
    """
    from jsonschema import ValidationError, validators
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.utils.schemas.events import EVENT_SCHEMA

    def compiled(schema: dict[str, Any]) -> Any:
        validator_class = validators.validator_for(schema)
        validator_class.check_schema(schema)
        return validator_class(schema)

    spec = RemoteAction.action_response_format_spec()
    common = {key: value for key, value in EVENT_SCHEMA.items() if key != "oneOf"}
    envelope = compiled(
        {**spec, "properties": {**spec["properties"], "events": {"type": "array", "items": common}}}
    )
    alternatives: list[dict[str, Any]] = EVENT_SCHEMA["oneOf"]  # type: ignore[assignment]
    by_type = {str(sub["properties"]["event"]["const"]): compiled(sub) for sub in alternatives}

    def first_error(result: dict[str, Any]) -> ValidationError | None:
        error = best_match(envelope.iter_errors(result))
        if error is not None:
            return error
        for event in result.get("events") or []:
            validator = by_type.get(event["event"])
            if validator is None:
                return ValidationError(f"{event['event']!r} is not a known event type")
            error = best_match(validator.iter_errors(event))
            if error is not None:
                return error
        return None

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        error = first_error(result)
        if error is not None:
            error.message += (
                ". Failed to validate Action server response from API, make sure your "
                "response from the Action endpoint is valid."
            )
            raise error
        return True

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def cache_event_types() -> None:
    """Look event classes up by name in a dictionary instead of walking every subclass of
    Event for each event read back from the tracker (a tenth of a busy worker's time)."""
    from rasa.shared.core.events import Event

    original = Event.resolve_by_type
    found: dict[str, Any] = {}

    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        if type_name not in found:
            resolved = original(type_name, default)
            if resolved is None or resolved is default:
                return resolved  # unknown names are not remembered
            found[type_name] = resolved
        return found[type_name]

    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]


def name_model_pulls() -> None:
    """Each worker adds its name to the model server's headers as it loads its agent."""
    from rasa.core import run

    original = run.load_agent_on_start

    @functools.wraps(original)
    async def load_agent_on_start(model_path: Any, endpoints: Any, *args: Any) -> Any:
        if endpoints is not None and endpoints.model is not None:
            endpoints.model.headers = {**endpoints.model.headers, WORKER_HEADER: worker_name()}
        return await original(model_path, endpoints, *args)

    run.load_agent_on_start = load_agent_on_start  # type: ignore[assignment]


def main() -> None:
    if not no_tensorflow.wanted(dict(os.environ), Path.cwd()):
        no_tensorflow.install()
    compile_action_validation()
    cache_event_types()
    strict_tracker_store()
    name_model_pulls()
    from rasa.__main__ import main as rasa_main

    os.environ.setdefault("SANIC_REQUEST_MAX_SIZE", str(REQUEST_MAX_SIZE))
    sys.argv[1:] = with_secrets(sys.argv[1:], os.environ)
    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
