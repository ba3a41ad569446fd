"""Settings of the Telegram bot process (environment variables or `.env`)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
# What Telegram accepts as a webhook secret_token; we also require some length.
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{16,256}")


class BotSettings(BaseSettings):
    """Without ``TELEGRAM_BOT_TOKEN`` the bot stays off; every other setting has a default."""

    model_config = SettingsConfigDict(env_file=ROOT / ".env", extra="ignore")

    telegram_bot_token: str = ""
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    # Webhook mode when the public URL is set (production); polling otherwise (development).
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = ""
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = 8443

    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_seconds: float = 30.0
    casestore_url: str = "http://127.0.0.1:8000"
    casestore_api_token: str = ""
    casestore_timeout_seconds: float = 15.0
    app_port: int = 8000

    bot_state_path: Path = ROOT / "var" / "bot.sqlite3"
    bot_rate_limit_messages: int = 20
    bot_rate_limit_seconds: float = 60.0
    bot_notification_poll_seconds: float = 3.0
    bot_retry_seconds: float = 5.0
    bot_polling_timeout_seconds: int = 25

    @property
    def webhook_mode(self) -> bool:
        return bool(self.telegram_webhook_url)

    def problems(self) -> list[str]:
        """Settings that stop an enabled bot from starting (empty when all is well)."""
        found = []
        if len(self.casestore_api_token) < 16:
            found.append("CASESTORE_API_TOKEN 未设置（至少 16 个字符，make run 会写入 .env）")
        if self.webhook_mode and not SECRET_RE.fullmatch(self.telegram_webhook_secret):
            found.append(
                "使用 webhook 时必须设置 TELEGRAM_WEBHOOK_SECRET"
                "（16–256 个字符，只能包含字母、数字、_ 和 -）"
            )
        return found


@lru_cache
def get_settings() -> BotSettings:
    """Settings are read once per process."""
    return BotSettings()
