from collections.abc import Iterator

import pytest

from core.settings import Settings, get_settings
from tests.app_fixtures import auth, client, session, settings, taxonomy  # noqa: F401  (shared fixtures)
from tests.retraining import fixtures

# The fixtures of the retraining tests: a project copy, a fake Rasa environment and server.
project, rasa_env, fake_rasa = fixtures.project, fixtures.rasa_env, fixtures.fake_rasa
own_settings, workspace, factory = fixtures.own_settings, fixtures.workspace, fixtures.factory


@pytest.fixture
def cli_settings(own_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The CLI reads its settings from the environment: the test's, with a fake Rasa."""
    values = {
        "DATABASE_URL": own_settings.database_url,
        "CASESTORE_API_TOKEN": own_settings.casestore_api_token,
        "PROJECT_DIR": own_settings.project_dir,
        "DATA_DIR": own_settings.data_dir,
        "VAR_DIR": own_settings.var_dir,
        "MODEL_DIR": own_settings.model_dir,
        "RASA_ENV_DIR": own_settings.rasa_env_dir,
        "RASA_URL": own_settings.rasa_url,
        "RASA_TOKEN": own_settings.rasa_token,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, str(value))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()
