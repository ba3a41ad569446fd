"""Clients of the outside services, one module each, built once per process.

Actions reach the case store and Rasa through ``services()``, which builds the clients from
the settings on first use. Tests install clients over a fake of the HTTP APIs with
``set_services(build_services(settings, transport=httpx.MockTransport(...)))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from actions.api.casestore import CaseStoreClient
from actions.api.rasa import RasaClient
from actions.outbox import Outbox
from actions.settings import ActionSettings


@dataclass(frozen=True)
class Services:
    settings: ActionSettings
    casestore: CaseStoreClient
    rasa: RasaClient


def build_services(
    settings: ActionSettings, transport: httpx.AsyncBaseTransport | None = None
) -> Services:
    """The clients for ``settings``; ``transport`` (tests) replaces the network for all."""
    return Services(
        settings=settings,
        casestore=CaseStoreClient(settings, Outbox(settings.outbox_path), transport=transport),
        rasa=RasaClient(settings, transport=transport),
    )


_current: Services | None = None


def services() -> Services:
    """The process's settings and clients, built from the environment on first use."""
    global _current
    if _current is None:
        _current = build_services(ActionSettings.from_env())
    return _current


def set_services(replacement: Services | None) -> None:
    """Use ``replacement`` from now on; None builds them again from the environment."""
    global _current
    _current = replacement
