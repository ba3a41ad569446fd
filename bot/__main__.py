"""``python -m bot``: the Telegram bot, or a notice that it is off (and it stays idle)."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from pydantic import ValidationError

from core.settings import get_settings


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        settings = get_settings()
    except ValidationError:
        print(
            "Telegram 机器人无法启动：CASESTORE_API_TOKEN 未设置"
            "（至少 16 个字符，make run 会写入 .env）",
            file=sys.stderr,
            flush=True,
        )
        return 2
    if not settings.telegram_bot_token:
        print(
            "Telegram 机器人未启用（未设置 TELEGRAM_BOT_TOKEN）。"
            f"网页留言已开启：http://localhost:{settings.app_port}/chat",
            flush=True,
        )
        # Stay idle: supervisord would start an exited process again and again.
        while True:
            signal.pause()
    problems = settings.telegram_problems()
    if problems:
        for problem in problems:
            print(f"Telegram 机器人无法启动：{problem}", file=sys.stderr, flush=True)
        return 2
    from bot.app import serve  # PTB is imported only when the bot actually runs

    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
