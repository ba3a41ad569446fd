from tests.app_fixtures import auth, client, session, settings, taxonomy  # noqa: F401  (shared fixtures)
