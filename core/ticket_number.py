"""Ticket numbers (工单号): the local date and a five-digit daily sequence, ``2026112600001``."""

from __future__ import annotations

import re

PATTERN = r"^\d{13}$"  # for pydantic fields and FastAPI path parameters
_NUMBER = re.compile(r"\d{13}")
_IN_TEXT = re.compile(r"(?<!\d)\d{13}(?!\d)")


def is_ticket_number(text: str) -> bool:
    return _NUMBER.fullmatch(text) is not None


def find_ticket_number(text: str) -> str | None:
    """The first ticket number written in a message, e.g. "查一下2026112600001"."""
    found = _IN_TEXT.search(text)
    return found.group(0) if found else None


def format_ticket_number(day: str, sequence: int) -> str:
    """``day`` is the local date as YYYYMMDD."""
    return f"{day}{sequence:05d}"
