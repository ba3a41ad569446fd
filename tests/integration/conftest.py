from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.services import Stack, start_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Rasa, the action server and the case store, started once for all integration tests."""
    running = start_stack(tmp_path_factory.mktemp("stack"))
    yield running
    running.stop()
