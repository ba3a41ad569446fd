"""Shared set-up of the NLU component tests: model storage, context and a tokenizer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage

from nlu.tokenizer import NormalizingJiebaTokenizer

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Components:
    storage: LocalModelStorage
    context: ExecutionContext
    tokenizer: NormalizingJiebaTokenizer


@pytest.fixture
def components(tmp_path: Path) -> Components:
    from rasa.engine.storage.resource import Resource

    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    tokenizer = NormalizingJiebaTokenizer.create(
        {**NormalizingJiebaTokenizer.get_default_config(), "dictionary_path": None},
        storage, Resource("tok"), context,
    )  # fmt: skip
    return Components(storage, context, tokenizer)
