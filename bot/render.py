"""Turning Rasa and case-store messages into Telegram messages (plain text in HTML mode)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import texts
from bot.store import Button, NewMessage

# Telegram's limit for a message text, counted in UTF-16 code units after entity parsing.
MAX_MESSAGE_LENGTH = 4096
PARSE_MODE = "HTML"
# Where a long text is best cut, most preferred first.
_BREAKS = ("\n\n", "\n", "。", "！", "？", "；", "，", ". ", " ")


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Escape resident-visible text for HTML parse mode (only <, > and & matter)."""
    return html.escape(text, quote=False)


def split_text(text: str, limit: int = MAX_MESSAGE_LENGTH) -> list[str]:
    """Cut a text into parts of at most ``limit`` UTF-16 units, at paragraph or sentence ends."""
    parts: list[str] = []
    rest = text
    while utf16_length(rest) > limit:
        window = _prefix_within(rest, limit)
        cut = 0
        for mark in _BREAKS:
            found = window.rfind(mark)
            if found > len(window) // 2:  # do not leave tiny parts behind
                cut = found + len(mark)
                break
        if cut == 0:
            cut = len(window)
        parts.append(rest[:cut].rstrip("\n"))
        rest = rest[cut:].lstrip("\n")
    if rest or not parts:
        parts.append(rest)
    return parts


def _prefix_within(text: str, limit: int) -> str:
    """The longest prefix of ``text`` that fits in ``limit`` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return text[:index]
    return text


def keyboard(buttons: Iterable[Mapping[str, str]]) -> InlineKeyboardMarkup | None:
    """One button per row (Chinese titles are long); ``callback_data`` is the store token."""
    rows = [[InlineKeyboardButton(b["title"], callback_data=b["token"])] for b in buttons]
    return InlineKeyboardMarkup(rows) if rows else None


def chosen(text: str, title: str) -> str | None:
    """The text of a message whose button was used, with the choice echoed (HTML)."""
    marked = f"{escape(text)}\n\n✅ {escape(title)}"
    if utf16_length(f"{text}\n\n✅ {title}") > MAX_MESSAGE_LENGTH:
        return None
    return marked


def buttons_of(raw: object) -> list[Button]:
    if not isinstance(raw, list):
        return []
    found = []
    for item in raw:
        if isinstance(item, Mapping) and item.get("title") and item.get("payload"):
            found.append(Button(title=str(item["title"]), payload=str(item["payload"])))
    return found


def rasa_messages(replies: Iterable[Mapping[str, Any]]) -> list[NewMessage]:
    """Rasa REST-channel replies as messages to send; images become links."""
    messages = []
    for reply in replies:
        text = str(reply.get("text") or "")
        if reply.get("image"):
            text = f"{text}\n{reply['image']}".strip()
        buttons = buttons_of(reply.get("buttons"))
        if not text and not buttons:
            continue
        messages.append(NewMessage(text=text or texts.CHOOSE_PROMPT, buttons=buttons))
    return messages
