"""Which examples the entity extractor trains on.

The intent and subcategory classifiers learn from every example, imported history included.
The entity extractor gains nothing from a long letter that carries no entity annotation: it
would only learn "no entity here" from hundreds of tokens, and its cost grows with the number
of tokens it sees (DIET on thousands of imported letters took most of an hour). This component
sits in the pipeline after the linear classifiers and before Rasa's tokenizer, featurizer and
the entity extractor:
in training it passes on every annotated example and, as negatives, a bounded, deterministic
sample of short unannotated ones; at prediction time it leaves messages untouched.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

log = logging.getLogger(__name__)


def _stable_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class EntityTrainingSelector(GraphComponent):
    """Narrows the training data of the components after it to what entity training needs."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            # Unannotated examples longer than this teach DIET nothing it needs.
            "max_unannotated_chars": 80,
            # At most this many unannotated examples, however much history is imported.
            "max_unannotated": 400,
        }

    def __init__(self, config: Dict[str, Any]) -> None:
        self.config = {**self.get_default_config(), **config}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EntityTrainingSelector:
        return cls(config)

    def select(self, examples: List[Message]) -> List[Message]:
        """Annotated examples, then the short unannotated ones up to the cap (stable order)."""
        annotated = [m for m in examples if m.get(ENTITIES)]
        limit = int(self.config["max_unannotated_chars"])
        short = [m for m in examples if not m.get(ENTITIES) and 0 < len(m.get(TEXT) or "") <= limit]
        short.sort(key=lambda m: _stable_key(m.get(TEXT) or ""))
        return annotated + short[: int(self.config["max_unannotated"])]

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        nlu = [m for m in training_data.training_examples if m.get(TEXT)]
        others = [m for m in training_data.training_examples if not m.get(TEXT)]
        selected = self.select(nlu)
        log.info("entity training uses %d of %d examples", len(selected), len(nlu))
        return TrainingData(
            training_examples=selected + others,
            entity_synonyms=training_data.entity_synonyms,
            regex_features=training_data.regex_features,
            lookup_tables=training_data.lookup_tables,
            responses=training_data.responses,
        )

    def process(self, messages: List[Message]) -> List[Message]:
        return messages
