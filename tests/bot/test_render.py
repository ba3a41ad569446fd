from __future__ import annotations

from typing import Any

from bot import render, texts
from bot.store import Button


def test_short_text_is_one_part() -> None:
    assert render.split_text("您好") == ["您好"]
    assert render.split_text("") == [""]


def test_long_text_is_split_at_sentence_ends_within_the_limit() -> None:
    sentence = "路灯坏了好几天，晚上很黑。"  # 13 characters
    text = sentence * 700  # 9,100 characters
    parts = render.split_text(text)
    assert len(parts) == 3
    assert all(render.utf16_length(p) <= render.MAX_MESSAGE_LENGTH for p in parts)
    assert all(p.endswith("。") for p in parts)
    assert "".join(parts) == text


def test_split_prefers_paragraphs_and_counts_emoji_as_two_units() -> None:
    text = "甲" * 3000 + "\n\n" + "乙" * 3000
    assert render.split_text(text) == ["甲" * 3000, "乙" * 3000]
    emoji = "😀" * 3000  # 6,000 UTF-16 units, no break anywhere
    parts = render.split_text(emoji)
    assert [render.utf16_length(p) for p in parts] == [4096, 6000 - 4096]
    assert "".join(parts) == emoji


def test_escape_for_html_parse_mode() -> None:
    assert render.escape('<b>a & b</b> "q"') == '&lt;b&gt;a &amp; b&lt;/b&gt; "q"'
    assert render.chosen("选 <1>", "满意 & 好") == "选 &lt;1&gt;\n\n✅ 满意 &amp; 好"
    assert render.chosen("长" * 4095, "满意") is None


def test_rasa_replies_become_messages_with_buttons() -> None:
    replies: list[dict[str, Any]] = [
        {
            "recipient_id": "tg-1",
            "text": "请留下您的联系电话",
            "buttons": [
                {"title": "匿名反映", "payload": "匿名"},
                {"title": "", "payload": "/broken"},
            ],
        },
        {"recipient_id": "tg-1", "buttons": [{"title": "确认提交", "payload": "/affirm"}]},
        {"recipient_id": "tg-1", "image": "https://example.org/a.png"},
        {"recipient_id": "tg-1", "custom": {"x": 1}},
    ]
    messages = render.rasa_messages(replies)
    assert [m.text for m in messages] == [
        "请留下您的联系电话",
        texts.CHOOSE_PROMPT,
        "https://example.org/a.png",
    ]
    assert list(messages[0].buttons) == [Button("匿名反映", "匿名")]


def test_keyboard_uses_tokens_as_callback_data() -> None:
    markup = render.keyboard([{"title": "满意", "token": "abc"}, {"title": "不满意", "token": "d"}])
    assert markup is not None
    assert [[b.callback_data for b in row] for row in markup.inline_keyboard] == [["abc"], ["d"]]
    assert render.keyboard([]) is None
