from tests.casestore.conftest import client, settings  # noqa: F401  (shared fixtures)
