"""Length-preserving text normalisation for matching names: full-width → half-width ASCII,
traditional → simplified characters (OpenCC ``t2s``). Offsets into the result are offsets
into the input, so a matched span still points at what the resident wrote.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

_FULLWIDTH_OFFSET = 0xFEE0


@lru_cache(maxsize=1)
def _converter() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def _halfwidth(ch: str) -> str:
    code = ord(ch)
    if 0xFF01 <= code <= 0xFF5E:
        return chr(code - _FULLWIDTH_OFFSET)
    return " " if ch == "\u3000" else ch


def normalize(text: str) -> str:
    """Half-width, simplified ``text`` of the same length."""
    if not text:
        return text
    text = "".join(_halfwidth(ch) for ch in text)
    converted: str = _converter().convert(text)
    if len(converted) == len(text):
        return converted
    chars = [_converter().convert(ch) for ch in text]
    return "".join(c if len(c) == 1 else ch for c, ch in zip(chars, text, strict=True))
