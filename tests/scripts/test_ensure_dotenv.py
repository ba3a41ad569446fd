"""``scripts/ensure-dotenv.sh``: random secrets in a .env only its owner can read."""

from __future__ import annotations

import subprocess
from pathlib import Path

from webapp.supervise import ROOT, read_dotenv, secret_problems

SECRETS = ("CASESTORE_API_TOKEN", "RASA_TOKEN", "ACTION_SERVER_TOKEN")


def ensure(dotenv: Path) -> str:
    script = ROOT / "scripts" / "ensure-dotenv.sh"
    return subprocess.run(
        ["bash", str(script), str(dotenv)], check=True, capture_output=True, text=True
    ).stdout


def test_a_new_env_is_private_and_holds_usable_secrets(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    ensure(dotenv)
    assert dotenv.stat().st_mode & 0o777 == 0o600
    values = read_dotenv(dotenv)
    assert set(SECRETS) <= set(values)
    assert secret_problems(values) == []


def test_an_existing_env_is_made_private_and_keeps_its_values(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("RASA_TOKEN=kept-value-0123456789\nCASESTORE_API_TOKEN=\n", encoding="utf-8")
    dotenv.chmod(0o644)
    out = ensure(dotenv)
    assert dotenv.stat().st_mode & 0o777 == 0o600
    values = read_dotenv(dotenv)
    assert values["RASA_TOKEN"] == "kept-value-0123456789"
    assert len(values["CASESTORE_API_TOKEN"]) >= 16  # an empty one is filled in
    assert "CASESTORE_API_TOKEN" in out and "RASA_TOKEN" not in out
    assert dotenv.read_text(encoding="utf-8").count("CASESTORE_API_TOKEN=") == 1
    before = dotenv.read_text(encoding="utf-8")
    ensure(dotenv)
    assert dotenv.read_text(encoding="utf-8") == before  # a second run changes nothing
