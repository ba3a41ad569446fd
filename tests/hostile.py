"""Hostile inputs shared by the channel and API tests (plain data, both environments)."""

from __future__ import annotations

from typing import Any

XSS = "<script>alert(1)</script>"

# Strings a resident, a client or an attacker may send in any text field or parameter.
HOSTILE_TEXT: list[str] = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x0b\x1f\x7f\x1b[31m",
    "x" * 100_000,
    "路" * 100_000,
    "😀🚧🔥" * 20,
    "Ωмир中文العربية𠀀",
    "\u202e\ufeff\u200b",
    "' OR 1=1 --",
    "1; DROP TABLE ticket; --",
    XSS,
    '"><img src=x onerror=alert(1)>',
    "{{7*7}}${7*7}",
    "../../../../etc/passwd",
    "%00%2e%2e%2f",
    "NaN",
    "-Infinity",
    "-1",
    "0",
    "9223372036854775808",
    "99999999999999999999999999",
    "1e309",
    "2026-12-01",
    "2026-12-01T10:00:00",
    "2026-13-45T99:99:99+99:00",
    "true",
    "null",
    "[]",
    "{}",
    "a" * 300 + "@" + "b." * 500,
    "http://" + "a" * 20_000,
]

# httpx refuses URLs over 64 KiB: long values go into bodies, a URL value gets 5,000 characters
QUERY_TEXT = [text[:5_000] for text in HOSTILE_TEXT]  # (CJK is 9 bytes each, percent-encoded)

# Whole bodies as bytes: malformed, wrongly typed, deeply nested, not UTF-8.
HOSTILE_BODIES: list[bytes] = [
    b"",
    b"null",
    b"[]",
    b'"text"',
    b"123",
    b"{",
    b'{"a": NaN}',
    b'{"a": Infinity, "b": -Infinity}',
    b'{"a": 1e309}',
    b'{"a": "\\ud800"}',
    b'{"description": "\\udfff\\ud800"}',
    b"\xff\xfe\xfd\x00",
    b"[" * 5_000 + b"]" * 5_000,
    b'{"a":' * 3_000 + b"1" + b"}" * 3_000,
    b'{"text": "' + b"x" * 200_000 + b'"}',
]

# Values put into every field of a JSON object body.
HOSTILE_VALUES: list[Any] = [
    None,
    "",
    "\x00",
    "x" * 100_000,
    XSS,
    -1,
    2**63,
    2**200,
    1.5,
    True,
    [],
    {},
    ["x"] * 1_000,
    {"nested": {"deeper": [1, {"x": None}]}},
]
