from tests.app_fixtures import auth, client, session, settings, taxonomy  # noqa: F401  (shared fixtures)
from tests.console.staff_fixtures import fresh_throttle, staff_client  # noqa: F401  (console fixtures)
