from tests.app_fixtures import auth, client, session, settings, taxonomy  # noqa: F401  (shared fixtures)
from tests.retraining.fixtures import (  # noqa: F401  (shared fixtures)
    factory,
    fake_rasa,
    own_settings,
    project,
    rasa_env,
    workspace,
)
