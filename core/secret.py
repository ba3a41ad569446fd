"""Comparing secrets (tokens, CSRF values, API keys) that come from outside."""

from __future__ import annotations

import hmac


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time equality for any text a caller sends.

    ``secrets.compare_digest`` raises TypeError on non-ASCII ``str`` (a Chinese API key, a
    token pasted with full-width characters), which ended such requests in a 500; compared
    as UTF-8 bytes they are simply wrong. An empty expected secret matches nothing.
    """
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
