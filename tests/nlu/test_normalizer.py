from __future__ import annotations

import pytest

from nlu.normalizer import URL_RE, normalize


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


# 100,000 characters each: with the e-mail pattern tried at every position of a long run,
# each of these took minutes (the run was re-scanned from every position).
HOSTILE = {
    "dots": "a." * 50_000,
    "url": "http://" + "a" * 100_000,
    "ats": "@" * 100_000,
    "letters": "a" * 100_000,
    "chinese": "路灯坏了" * 25_000,
    "digits": "1" * 100_000,
    "mixed": ("a.b@" + "路灯" + "x-y+" + "www" + "@c.") * 6_250,
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_input_is_normalised(name: str) -> None:
    raw = HOSTILE[name]
    result = normalize(raw)
    assert len(result) == len(raw)
    if name in ("url",):
        assert result == " " * len(raw)
    if name in ("dots", "ats", "letters", "chinese", "digits"):
        assert result == raw  # nothing there is an address


def test_an_address_is_only_tried_where_a_run_of_address_characters_starts() -> None:
    """What keeps the scan linear: no match attempt from inside a run of address characters
    (the same address is found from the run's start)."""
    assert URL_RE.match("ab@example.com", 1) is None
    assert URL_RE.match("ab@example.com", 0) is not None
    assert normalize("写信到 ab@example.com 谢谢") == "写信到 " + " " * 14 + " 谢谢"
    assert normalize("邮箱ab@qq.com") == " " * 11  # \w takes Chinese: as before
