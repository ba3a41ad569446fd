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
* **Every worker names itself when it pulls the model.** The model comes from the case store
  (``models:`` in endpoints.yml, pulled every few seconds); each Sanic worker or replica sends
  ``X-Rasa-Worker: <host>:<pid>`` with its pulls, so the case store knows which workers run
  which model, and an activation waits until every one of them has loaded it.
"""

from __future__ import annotations

import functools
import os
import socket
import sys
from pathlib import Path
from typing import Any

from nlu import no_tensorflow

WORKER_HEADER = "X-Rasa-Worker"


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
    name_model_pulls()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
