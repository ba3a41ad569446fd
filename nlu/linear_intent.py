"""Intent classifier: TF-IDF (char 1–3-grams + jieba words) and logistic regression.

Measured on this machine kind (../shared/nlu-performance.md and docs/benchmarks.md) a linear
model on these features is as accurate as DIET on resident letters, trains in seconds instead
of minutes, and its probabilities are usable for the low-confidence fallback. DIET stays in
the pipeline for entities only.
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
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY
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
MODEL_FILE = "linear_intent.joblib"
INTENT_RANKING = "intent_ranking"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    """Predicts the intent with calibrated-enough probabilities for a fallback threshold."""

    @classmethod
    def required_components(cls) -> List[type]:
        return [Tokenizer]

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        return fingerprint({**cls.get_default_config(), **config})

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**DEFAULT_FEATURE_CONFIG, "C": 10.0, "ranking_length": 10, "random_seed": 42}

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
    ) -> LinearIntentClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(INTENT)]
        labels = [m.get(INTENT) for m in examples]
        if len(set(labels)) < 2:
            log.warning("LinearIntentClassifier needs at least two intents; not trained")
            return self._resource
        classifier = LogisticRegression(
            C=float(self.config["C"]),
            max_iter=3000,
            class_weight="balanced",
            random_state=int(self.config["random_seed"]),
        )
        self.lexicon = lexicon_for(self.config)
        self.pipeline = make_pipeline(self.config, classifier)
        self.pipeline.fit([document(m, self.lexicon) for m in examples], labels)
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
    ) -> LinearIntentClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                pipeline, lexicon = joblib.load(directory / MODEL_FILE)
        except (ValueError, FileNotFoundError):
            pipeline, lexicon = None, None
        return cls(config, model_storage, resource, pipeline, lexicon)

    def process(self, messages: List[Message]) -> List[Message]:
        if self.pipeline is None:
            return messages
        probabilities = self.pipeline.predict_proba([document(m, self.lexicon) for m in messages])
        classes = self.pipeline.classes_
        for message, row in zip(messages, probabilities, strict=True):
            order = np.argsort(row)[::-1][: int(self.config["ranking_length"])]
            ranking = [
                {INTENT_NAME_KEY: str(classes[i]), PREDICTED_CONFIDENCE_KEY: float(row[i])}
                for i in order
            ]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING, ranking, add_to_output=True)
        return messages
