"""Length-preserving normalisation of resident text before tokenising.

Every character maps to exactly one character, so token offsets (and the entities found on
them) still point into the resident's original text:

* full-width ASCII (１２号, ＡＢＣ) → half-width, ideographic space → space;
* traditional → simplified characters with OpenCC (``t2s``);
* URLs, e-mail addresses, emoji and other symbols → spaces;
* Latin letters → lower case.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# An e-mail address is only tried where a run of address characters starts (the
# look-behind): tried at every position of a long run, the engine scanned the rest of the
# run each time (quadratic: 20,000 characters without an "@" took 3 s, 100,000 over a
# minute, per call). The leftmost match is the same either way, since an address found inside a run
# is also found from the run's start. Every character is now looked at a bounded number of
# times: 100,000 hostile characters normalise in about 0.1 s.
URL_RE = re.compile(r"(?:https?://|www\.)\S+|(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.]+", re.IGNORECASE)
_FULLWIDTH_OFFSET = 0xFEE0
_NOISE_CATEGORIES = {"So", "Sk", "Cs", "Co", "Cn", "Mn", "Me", "Cf"}


@lru_cache(maxsize=1)
def _converter() -> object:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified; falls back to per-character conversion if lengths differ."""
    converter = _converter()
    converted: str = converter.convert(text)  # type: ignore[attr-defined]
    if len(converted) == len(text):
        return converted
    chars = [converter.convert(ch) for ch in text]  # type: ignore[attr-defined]
    return "".join(c if len(c) == 1 else ch for c, ch in zip(chars, text, strict=True))


def _char(ch: str) -> str:
    code = ord(ch)
    if 0xFF01 <= code <= 0xFF5E:
        return chr(code - _FULLWIDTH_OFFSET)
    if ch == "\u3000" or ch in "\t\r\n\xa0":
        return " "
    if unicodedata.category(ch) in _NOISE_CATEGORIES:
        return " "
    return ch


def normalize(text: str) -> str:
    """Normalise ``text`` without changing its length."""
    if not text:
        return text
    text = URL_RE.sub(lambda m: " " * len(m.group(0)), text)
    text = "".join(_char(ch) for ch in text)
    return to_simplified(text).lower()
