"""Comparing secrets (tokens, CSRF values, API keys) that come from outside; signing the JWTs
the app sends to Rasa's HTTP API."""

from __future__ import annotations

import hashlib
import hmac
import time

import jwt


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time equality for any text a caller sends.

    ``secrets.compare_digest`` raises TypeError on non-ASCII ``str`` (a Chinese API key, a
    token pasted with full-width characters), which ended such requests in a 500; compared
    as UTF-8 bytes they are simply wrong. An empty expected secret matches nothing.
    """
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


# The same derivation as nlu/server.py's jwt_secret (the Rasa side may not import core/).
RASA_JWT_LABEL = b"petition-channel rasa jwt v1"
RASA_JWT_SECONDS = 60


def rasa_jwt_secret(token: str) -> str:
    """The key Rasa checks JWTs with, derived from Rasa's token (see nlu/server.py)."""
    return hmac.new(token.encode("utf-8"), RASA_JWT_LABEL, hashlib.sha256).hexdigest()


def rasa_auth_header(token: str, *, now: float | None = None) -> dict[str, str]:
    """``Authorization: Bearer`` with a JWT Rasa's HTTP API takes as the admin's, valid for a
    minute: the token itself stays out of URLs (and so out of access logs). Empty without a
    token (a Rasa started without one checks nothing)."""
    if not token:
        return {}
    issued = int(time.time() if now is None else now)
    payload = {
        "user": {"username": "petition-channel", "role": "admin"},
        "iat": issued,
        "exp": issued + RASA_JWT_SECONDS,
    }
    signed = jwt.encode(payload, rasa_jwt_secret(token), algorithm="HS256")
    return {"Authorization": f"Bearer {signed}"}
