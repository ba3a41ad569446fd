"""The one settings object of the app environment: web app, Telegram bot and CLI.

Every setting is read from the environment or ``.env`` (``make run`` writes random secrets
into it), has a default for the embedded mode (SQLite, loopback ports) and a row in the
README's settings table. The Rasa environment has its own, ``actions/settings.py``.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The checkout: the one place the app environment finds it (``core/`` lives at its top).
ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "token"}
# What Telegram accepts as a webhook secret_token; we also require some length.
TELEGRAM_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{16,256}")


class Settings(BaseSettings):
    """Relative paths are taken relative to the checkout (``MODEL_DIR=models``)."""

    model_config = SettingsConfigDict(env_file=ROOT / ".env", extra="ignore")

    # --- where things are
    database_url: str = f"sqlite:///{ROOT / 'var' / 'petition.db'}"
    project_dir: Path = ROOT  # the Rasa project (config.yml, domain.yml, data/) that is trained
    data_dir: Path = ROOT / "data"  # taxonomy and grid registry
    var_dir: Path = ROOT / "var"  # runtime state: taxonomy additions, logs
    model_dir: Path = ROOT / "models"
    rasa_env_dir: Path = ROOT / ".venv-rasa"  # the Rasa environment, for training and evaluation
    training_config: Path = ROOT / "config.yml"
    training_log_dir: Path = ROOT / "var" / "training"

    # --- the app (case store, console, web chat)
    app_host: str = "127.0.0.1"
    app_port: int = 8000
    casestore_api_token: str
    # Open311 reads without an api_key (personal data left out); false: a client key is needed.
    open311_public_reads: bool = True
    model_activation_margin: float = 0.02  # refused when macro-F1 drops by more, unless overridden
    model_swap_timeout_seconds: float = 300.0  # every Rasa worker loads an activated model
    console_session_hours: int = 12
    # None: Secure cookies exactly when the console is reached over HTTPS.
    console_cookie_secure: bool | None = None
    # Proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated).
    trusted_proxies: str = ""
    # A date or time without an offset in a query (``since=2026-12-01``) is local time here.
    time_zone: str = "Asia/Shanghai"
    # Larger request bodies get 413; photos are at most 10 MiB plus the multipart envelope.
    max_body_bytes: int = 12 * 1024 * 1024

    # --- how the processes reach each other
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""
    rasa_timeout_seconds: float = 30.0
    casestore_url: str = "http://127.0.0.1:8000"
    casestore_timeout_seconds: float = 15.0
    action_port: int = 5055

    # --- the Telegram bot (off without a token)
    telegram_bot_token: str = ""
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    # Webhook mode when the public URL is set (production); polling otherwise (development).
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = ""
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = 8443
    bot_state_path: Path = ROOT / "var" / "bot.sqlite3"
    bot_rate_limit_messages: int = 20
    bot_rate_limit_seconds: float = 60.0
    bot_notification_poll_seconds: float = 3.0
    bot_retry_seconds: float = 5.0
    bot_polling_timeout_seconds: int = 25

    @field_validator(
        "project_dir",
        "data_dir",
        "var_dir",
        "model_dir",
        "rasa_env_dir",
        "training_config",
        "training_log_dir",
        "bot_state_path",
    )
    @classmethod
    def _inside_checkout(cls, value: Path) -> Path:
        return value if value.is_absolute() else ROOT / value

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"TIME_ZONE 应为 IANA 时区名，例如 Asia/Shanghai：{value!r}") from exc
        return value

    @field_validator("max_body_bytes")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("MAX_BODY_BYTES 应为正整数（字节数）")
        return value

    @field_validator("casestore_api_token")
    @classmethod
    def _refuse_placeholder(cls, value: str) -> str:
        if value.strip().lower() in PLACEHOLDER_SECRETS or len(value) < 16:
            raise ValueError(
                "CASESTORE_API_TOKEN must be a real secret of at least 16 characters "
                "(make run writes one into .env)"
            )
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError as exc:
                raise ValueError(
                    f"TRUSTED_PROXIES 应为 IP 地址或网段，以逗号分隔：{part!r}"
                ) from exc
        return value

    @property
    def rasa_bin(self) -> Path:
        """The ``rasa`` command of the Rasa environment."""
        return self.rasa_env_dir / "bin" / "rasa"

    @property
    def local_tz(self) -> ZoneInfo:
        """The service's local time zone (``TIME_ZONE``)."""
        return ZoneInfo(self.time_zone)

    @property
    def rasa_python(self) -> Path:
        return self.rasa_env_dir / "bin" / "python"

    # Runtime data under var_dir (never the checkout): training and the app read them as well.

    @property
    def taxonomy_additions_path(self) -> Path:
        """Categories and subcategories added from the console, merged into data/taxonomy.yml."""
        return self.var_dir / "taxonomy-additions.yml"

    @property
    def imported_nlu_dir(self) -> Path:
        """Historical tickets imported as Rasa NLU data (``petition nlu import``)."""
        return self.var_dir / "nlu" / "imported"

    @property
    def holdout_dir(self) -> Path:
        """The share of imported history kept apart for evaluation (``--holdout``)."""
        return self.var_dir / "holdout"

    @property
    def telegram_webhook_mode(self) -> bool:
        return bool(self.telegram_webhook_url)

    def telegram_problems(self) -> list[str]:
        """Settings that stop an enabled bot from starting (empty when all is well)."""
        if self.telegram_webhook_mode and not TELEGRAM_SECRET_RE.fullmatch(
            self.telegram_webhook_secret
        ):
            return [
                "使用 webhook 时必须设置 TELEGRAM_WEBHOOK_SECRET"
                "（16–256 个字符，只能包含字母、数字、_ 和 -）"
            ]
        return []


@lru_cache
def get_settings() -> Settings:
    """Settings are read once per process."""
    return Settings()  # type: ignore[call-arg]
