"""Pure validation rules for what residents type into the petition form."""

from __future__ import annotations

import re

MAX_DESCRIPTION = 1000
MIN_DESCRIPTION = 4
MAX_LOCATION = 200
MIN_LOCATION = 2
ANONYMOUS = "匿名"

_MOBILE = r"1[3-9]\d{9}"
_LANDLINE = r"0\d{2,3}-?\d{7,8}"
PHONE_RE = re.compile(rf"(?<![\d-])(?:{_MOBILE}|{_LANDLINE})(?!\d)")
ANONYMOUS_RE = re.compile(r"匿名|不留|不方便留|不想留|不用留|保密")
_SEPARATORS = re.compile(r"[\s()（）]")
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９－", "0123456789-")


def normalize_phone(text: str) -> str | None:
    """Find a mainland mobile or landline number in the text, compacted; None if there is none."""
    compact = _SEPARATORS.sub("", text.translate(_FULLWIDTH_DIGITS))
    compact = re.sub(r"^(\+?86)(?=1[3-9]\d{9})", "", compact)
    match = PHONE_RE.search(compact)
    return match.group(0) if match else None


def wants_anonymity(text: str) -> bool:
    return bool(ANONYMOUS_RE.search(text))


def clean_text(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def description_problem(text: str) -> str | None:
    """'short' or 'long' when the description is not acceptable, else None."""
    length = len(clean_text(text))
    if length < MIN_DESCRIPTION:
        return "short"
    if length > MAX_DESCRIPTION:
        return "long"
    return None


_LOCATION_PREFIX = re.compile(
    r"^(?:我家|我们|我)?(?:就)?(?:住在|位于|在|地址是|地点是|位置是|位置在)[:：]?"
)


def clean_location(text: str) -> str:
    """Drop a leading 在 / 地址是 …, keep the place itself ("在玉林小区3栋" → "玉林小区3栋")."""
    cleaned = clean_text(text).rstrip("。！!")
    stripped = _LOCATION_PREFIX.sub("", cleaned)
    return stripped if len(stripped) >= MIN_LOCATION else cleaned


def location_ok(text: str) -> bool:
    return MIN_LOCATION <= len(clean_text(text)) <= MAX_LOCATION
