"""The action server checks its caller (the Rasa server) before running any action."""

from __future__ import annotations

from actions.server import OPEN_PATHS, authorized, create_app
from actions.settings import ActionSettings

TOKEN = "action-token-0123456789"


def test_only_the_bearer_token_is_accepted() -> None:
    assert authorized(f"Bearer {TOKEN}", TOKEN)
    assert authorized(f"bearer {TOKEN}", TOKEN)
    for header in (None, "", TOKEN, f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer 令牌", "Bearer"):
        assert not authorized(header, TOKEN), header
    assert not authorized("Bearer ", "")  # no token configured: nobody gets in


def test_the_app_serves_rasa_sdks_routes_behind_the_check(action_settings: ActionSettings) -> None:
    app = create_app(action_settings)
    paths = {route.path.strip("/") for route in app.router.routes}
    assert {"webhook", "health", "actions"} <= paths
    assert {"/health"} == OPEN_PATHS
    assert app.request_middleware  # the caller check runs before every route
