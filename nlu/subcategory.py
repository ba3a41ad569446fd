"""Subcategory (二级分类) classifier trained on the examples' ``metadata.subcategory``.

Runs after the intent classifiers: for a ``report_<category>`` intent it ranks only that
category's subcategories and sets ``subcategory`` ({name, confidence}) and
``subcategory_ranking`` (top 3) on the parse result; other intents get no subcategory.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

import joblib
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, METADATA
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from nlu.text_features import (
    DEFAULT_FEATURE_CONFIG,
    Lexicon,
    document,
    fingerprint,
    lexicon_for,
    make_pipeline,
)

log = logging.getLogger(__name__)
MODEL_FILE = "subcategory.joblib"
REPORT_PREFIX = "report_"
LABEL_SEPARATOR = "/"


def subcategory_of(message: Message) -> Optional[str]:
    """The subcategory named in a training example's (or its block's) metadata."""
    metadata = message.get(METADATA) or {}
    for level in ("example", "intent"):
        value = (metadata.get(level) or {}).get("subcategory")
        if value:
            return str(value)
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SubcategoryClassifier(GraphComponent):
    @classmethod
    def required_components(cls) -> List[type]:
        return [Tokenizer]

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        return fingerprint({**cls.get_default_config(), **config})

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**DEFAULT_FEATURE_CONFIG, "C": 10.0, "random_seed": 42}

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        pipeline: Optional[Pipeline] = None,
        lexicon: Optional[Lexicon] = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.pipeline = pipeline
        self.lexicon = lexicon or Lexicon()

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SubcategoryClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        docs, labels = [], []
        for message in training_data.intent_examples:
            intent = message.get(INTENT) or ""
            sub = subcategory_of(message)
            if intent.startswith(REPORT_PREFIX) and sub:
                docs.append(document(message, self.lexicon))
                labels.append(f"{intent}{LABEL_SEPARATOR}{sub}")
        if len(set(labels)) < 2:
            log.warning("SubcategoryClassifier found fewer than two subcategories; not trained")
            return self._resource
        classifier = LogisticRegression(
            C=float(self.config["C"]),
            max_iter=3000,
            class_weight="balanced",
            random_state=int(self.config["random_seed"]),
        )
        self.lexicon = lexicon_for(self.config)
        self.pipeline = make_pipeline(self.config, classifier)
        self.pipeline.fit(docs, labels)
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump((self.pipeline, self.lexicon), directory / MODEL_FILE)
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SubcategoryClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                pipeline, lexicon = joblib.load(directory / MODEL_FILE)
        except (ValueError, FileNotFoundError):
            pipeline, lexicon = None, None
        return cls(config, model_storage, resource, pipeline, lexicon)

    def process(self, messages: List[Message]) -> List[Message]:
        if self.pipeline is None:
            return messages
        reports = [
            m
            for m in messages
            if ((m.get(INTENT) or {}).get(INTENT_NAME_KEY) or "").startswith(REPORT_PREFIX)
        ]
        if not reports:
            return messages
        probabilities = self.pipeline.predict_proba([document(m, self.lexicon) for m in reports])
        classes = [str(c) for c in self.pipeline.classes_]
        for message, row in zip(reports, probabilities, strict=True):
            intent = message.get(INTENT)[INTENT_NAME_KEY]
            allowed = [i for i, c in enumerate(classes) if c.split(LABEL_SEPARATOR)[0] == intent]
            if not allowed:
                continue
            total = float(np.sum(row[allowed])) or 1.0
            ranked = sorted(allowed, key=lambda i: row[i], reverse=True)[:3]
            ranking = [
                {
                    "name": classes[i].split(LABEL_SEPARATOR, 1)[1],
                    "confidence": float(row[i]) / total,
                }
                for i in ranked
            ]
            message.set("subcategory", ranking[0], add_to_output=True)
            message.set("subcategory_ranking", ranking, add_to_output=True)
        return messages
