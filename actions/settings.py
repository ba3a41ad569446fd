"""Settings of the Rasa-side processes (action server, outbox worker), read from the environment.

The one place in ``actions/`` that reads ``os.environ``; the names match the app's settings
where both sides mean the same thing (``CASESTORE_TIMEOUT_SECONDS``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ActionSettings:
    casestore_url: str
    casestore_api_token: str
    rasa_url: str
    rasa_token: str
    outbox_path: Path
    data_dir: Path
    var_dir: Path  # runtime state shared with the app: taxonomy additions from the console
    casestore_timeout_seconds: float
    retry_delays: tuple[float, ...]
    action_host: str = "127.0.0.1"  # the action server listens here (loopback)
    action_port: int = 5055
    action_server_token: str = ""  # Rasa's calls carry it as a bearer token
    action_workers: int = 1  # Sanic worker processes (the scale-out profile runs several)

    @classmethod
    def from_env(cls) -> ActionSettings:
        delays = os.environ.get("CASESTORE_RETRY_DELAYS", "0.3,1.0")
        return cls(
            casestore_url=os.environ.get("CASESTORE_URL", "http://127.0.0.1:8000"),
            casestore_api_token=os.environ.get("CASESTORE_API_TOKEN", ""),
            rasa_url=os.environ.get("RASA_URL", "http://127.0.0.1:5005"),
            rasa_token=os.environ.get("RASA_TOKEN", ""),
            outbox_path=Path(os.environ.get("OUTBOX_PATH", ROOT / "var" / "outbox.db")),
            data_dir=Path(os.environ.get("DATA_DIR", ROOT / "data")),
            var_dir=Path(os.environ.get("VAR_DIR", ROOT / "var")),
            casestore_timeout_seconds=float(os.environ.get("CASESTORE_TIMEOUT_SECONDS", "3")),
            retry_delays=tuple(float(d) for d in delays.split(",") if d.strip()),
            action_host=os.environ.get("ACTION_HOST", "127.0.0.1"),
            action_port=int(os.environ.get("ACTION_PORT", "5055")),
            action_server_token=os.environ.get("ACTION_SERVER_TOKEN", ""),
            action_workers=max(1, int(os.environ.get("ACTION_WORKERS", "1"))),
        )

    @property
    def taxonomy_path(self) -> Path:
        return self.data_dir / "taxonomy.yml"

    @property
    def taxonomy_additions_path(self) -> Path:
        """Categories added from the console (written by the app, same file name)."""
        return self.var_dir / "taxonomy-additions.yml"
