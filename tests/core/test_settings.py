"""Settings: one object per environment, every setting documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import ROOT, Settings

README = (ROOT / "README.md").read_text(encoding="utf-8")
# Names in backticks inside the README's tables (a row starts with "|").
DOCUMENTED = {
    name
    for line in README.splitlines()
    if line.startswith("| `")
    for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1])
}


def test_every_app_setting_is_in_the_readme() -> None:
    missing = sorted(n.upper() for n in Settings.model_fields if n.upper() not in DOCUMENTED)
    assert not missing, f"add to the README's settings tables: {missing}"


def test_every_rasa_side_setting_is_in_the_readme() -> None:
    source = (ROOT / "actions" / "settings.py").read_text(encoding="utf-8")
    names = set(re.findall(r'os\.environ\.get\("([A-Z0-9_]+)"', source))
    assert names, "actions/settings.py reads its settings with os.environ.get"
    assert not sorted(names - DOCUMENTED)


def test_placeholder_secrets_are_refused() -> None:
    with pytest.raises(ValidationError, match="CASESTORE_API_TOKEN"):
        Settings(casestore_api_token="changeme", _env_file=None)  # type: ignore[call-arg]


def test_relative_paths_are_relative_to_the_checkout(tmp_path: Path) -> None:
    settings = Settings(
        casestore_api_token="a-real-secret-0123456789",
        model_dir=Path("models"),
        var_dir=tmp_path,
        _env_file=None,  # type: ignore[call-arg]
    )
    assert settings.model_dir == ROOT / "models" and settings.var_dir == tmp_path
    assert settings.rasa_bin == ROOT / ".venv-rasa" / "bin" / "rasa"
    assert settings.taxonomy_additions_path == tmp_path / "taxonomy-additions.yml"


def test_a_webhook_needs_a_proper_secret() -> None:
    base = {"casestore_api_token": "a-real-secret-0123456789", "_env_file": None}
    hook = Settings(**base, telegram_webhook_url="https://bot.example.org/tg")  # type: ignore[arg-type]
    assert hook.telegram_webhook_mode and hook.telegram_problems()
    ok = Settings(
        **base,  # type: ignore[arg-type]
        telegram_webhook_url="https://bot.example.org/tg",
        telegram_webhook_secret="s" * 20,
    )
    assert ok.telegram_problems() == []


def test_time_zone_and_body_limit_are_checked() -> None:
    base = {"casestore_api_token": "a-real-secret-0123456789", "_env_file": None}
    settings = Settings(**base)  # type: ignore[arg-type]
    assert settings.time_zone == "Asia/Shanghai" and str(settings.local_tz) == "Asia/Shanghai"
    assert settings.max_body_bytes == 12 * 1024 * 1024
    with pytest.raises(ValidationError, match="TIME_ZONE"):
        Settings(**base, time_zone="Mars/Olympus")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="MAX_BODY_BYTES"):
        Settings(**base, max_body_bytes=0)  # type: ignore[arg-type]
