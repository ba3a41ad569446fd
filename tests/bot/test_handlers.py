from __future__ import annotations

import pytest

from bot.handlers import contact_phone
from bot.notifications import chat_of


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("+86 138 1234 5678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("13812345678", "13812345678"),
        ("+1 (555) 010-9999", "15550109999"),
    ],
)
def test_contact_phone(raw: str, phone: str) -> None:
    assert contact_phone(raw) == phone


def test_notification_chat_from_conversation_id() -> None:
    assert chat_of("tg-12345") == 12345
    assert chat_of("web-abcdef") is None
    assert chat_of("tg-12a") is None
