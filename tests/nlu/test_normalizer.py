from __future__ import annotations

import pytest

from nlu.normalizer import normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("玉林北路１２号", "玉林北路12号"),
        ("這個路燈壞了", "这个路灯坏了"),
        ("ＡＢＣ小区", "abc小区"),
        ("路灯坏了😡😡", "路灯坏了  "),
        ("看这里 https://t.cn/abc 谢谢", "看这里 " + " " * 16 + " 谢谢"),
        ("电话\u3000138", "电话 138"),
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    "raw", ["後面的裏弄👍 ＃３号 www.example.com", "臺灣乾燥頭髮\t\n", "a" * 50]
)
def test_length_is_preserved(raw: str) -> None:
    assert len(normalize(raw)) == len(raw)
