"""Wait until every service of `make run` answers, then print where to go."""

from __future__ import annotations

import signal
import time

import httpx

from core.secret import rasa_auth_header
from core.settings import get_settings

CHECKS = {
    "Rasa": "{rasa}/status",
    "action server": "http://127.0.0.1:{action_port}/health",
    "app": "http://127.0.0.1:{app_port}/healthz",
}


def main() -> None:
    settings = get_settings()
    values = {
        "rasa": settings.rasa_url,
        "action_port": settings.action_port,
        "app_port": settings.app_port,
    }
    pending = dict(CHECKS)
    started = time.monotonic()
    print("waiting for Rasa to load its model (about 10 s) …", flush=True)
    while pending:
        for name, template in list(pending.items()):
            try:
                # Only Rasa checks the header; a fresh JWT each time (they last a minute).
                headers = rasa_auth_header(settings.rasa_token)
                url = template.format(**values)
                if httpx.get(url, headers=headers, timeout=2).status_code == 200:
                    del pending[name]
                    print(f"{name} is up ({time.monotonic() - started:.0f} s)", flush=True)
            except httpx.HTTPError:
                pass
        time.sleep(1)
    port = values["app_port"]
    print(
        "\n"
        f"  Web chat (居民留言):   http://localhost:{port}/chat\n"
        f"  Staff console (坐席):  http://localhost:{port}/\n"
        "    first admin:        .venv/bin/petition users create --username admin --role admin\n"
        f"  Case-store API docs:  http://localhost:{port}/docs\n"
        f"  Open311 requests:     http://localhost:{port}/open311/v2/requests.json\n"
        f"  Rasa HTTP API:        {values['rasa']} (token in .env)\n"
        "  Press Ctrl-C to stop everything.\n",
        flush=True,
    )
    signal.pause()  # stay up until make run stops (supervisord runs it once)


if __name__ == "__main__":
    main()
