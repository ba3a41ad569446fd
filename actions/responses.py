"""Reading responses from the domain the action server receives with every call."""

from __future__ import annotations

from typing import Any

from rasa_sdk.types import DomainDict


def _first_variation(domain: DomainDict, name: str) -> dict[str, Any]:
    variations = (domain.get("responses") or {}).get(name) or [{}]
    return dict(variations[0])


def response_text(domain: DomainDict, name: str) -> str:
    """The text of a response, used as a value (a button title, a slot) rather than uttered."""
    return str(_first_variation(domain, name).get("text") or "")


def domain_buttons(domain: DomainDict, name: str) -> list[dict[str, Any]]:
    """Buttons of a domain response, attached verbatim (no slot templating of payloads)."""
    return list(_first_variation(domain, name).get("buttons") or [])
