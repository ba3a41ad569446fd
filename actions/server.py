"""The action server: ``python -m actions.server`` (what ``make run`` starts).

rasa-sdk's own ``rasa run actions`` listens on every interface and asks no caller who it is;
anyone who reached it could post a made-up tracker (another resident's sender id) and read that
resident's tickets with the case store's token. This server is rasa-sdk's app with two
changes: it binds to ``ACTION_HOST`` (loopback by default), and every request except
``/health`` must carry ``Authorization: Bearer <ACTION_SERVER_TOKEN>``, which Rasa sends
(``endpoints.yml``).
"""

from __future__ import annotations

import hmac
import logging
import sys

from rasa_sdk import endpoint
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.settings import ActionSettings

log = logging.getLogger(__name__)
OPEN_PATHS = frozenset({"/health"})
MIN_TOKEN_LENGTH = 16
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def authorized(header: str | None, token: str) -> bool:
    """``header`` is ``Bearer <token>``; compared in constant time, any characters allowed."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))


def create_app(settings: ActionSettings) -> Sanic:
    app = endpoint.create_app("actions", cors_origins=None)

    @app.on_request
    async def check_caller(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        if authorized(request.headers.get("Authorization"), settings.action_server_token):
            return None
        return response.json({"error": "未授权的调用"}, status=401)

    return app


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = ActionSettings.from_env()
    if len(settings.action_server_token) < MIN_TOKEN_LENGTH:
        print(
            "动作服务器无法启动：ACTION_SERVER_TOKEN 未设置"
            "（至少 16 个字符，make run 会写入 .env）",
            file=sys.stderr,
        )
        return 2
    app = create_app(settings)
    log.info("action server on http://%s:%s", settings.action_host, settings.action_port)
    app.run(
        settings.action_host,
        settings.action_port,
        workers=settings.action_workers,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
