"""Settings of the app environment (case store, console, web chat, Telegram bot)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "token"}


class Settings(BaseSettings):
    """Every setting has an embedded-mode default and is documented in the README."""

    model_config = SettingsConfigDict(env_file=ROOT / ".env", extra="ignore")

    database_url: str = f"sqlite:///{ROOT / 'var' / 'petition.db'}"
    data_dir: Path = ROOT / "data"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""
    casestore_api_token: str
    app_host: str = "127.0.0.1"
    app_port: int = 8000
    rasa_timeout_seconds: float = 30.0
    model_dir: Path = ROOT / "models"
    training_config: Path = ROOT / "config.yml"
    training_log_dir: Path = ROOT / "var" / "training"
    model_activation_margin: float = 0.02  # refused when macro-F1 drops by more, unless overridden
    console_session_hours: int = 12
    # None: Secure cookies exactly when the console is reached over HTTPS.
    console_cookie_secure: bool | None = None

    @field_validator("data_dir", "model_dir", "training_config", "training_log_dir")
    @classmethod
    def _inside_checkout(cls, value: Path) -> Path:
        """Relative paths (MODEL_DIR=models in the Makefile) are relative to the checkout."""
        return value if value.is_absolute() else ROOT / value

    @field_validator("casestore_api_token")
    @classmethod
    def _refuse_placeholder(cls, value: str) -> str:
        if value.strip().lower() in PLACEHOLDER_SECRETS or len(value) < 16:
            raise ValueError(
                "CASESTORE_API_TOKEN must be a real secret of at least 16 characters "
                "(make run writes one into .env)"
            )
        return value


@lru_cache
def get_settings() -> Settings:
    """Settings are read once per process."""
    return Settings()  # type: ignore[call-arg]
