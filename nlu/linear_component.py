"""Shared life cycle of the linear text classifiers: config, persistence, fingerprint."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import joblib
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from nlu.text_features import (
    DEFAULT_FEATURE_CONFIG,
    Lexicon,
    fingerprint,
    lexicon_for,
    make_pipeline,
)


class LinearTextComponent(GraphComponent):
    """A TF-IDF + logistic-regression model over ``nlu.text_features`` documents.

    Subclasses name their model file and implement ``train`` (calling ``fit``) and ``process``.
    """

    MODEL_FILE = "linear.joblib"

    @classmethod
    def required_components(cls) -> List[type]:
        return [Tokenizer]

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        # The dictionary and the taxonomy are read at training time, outside the training data.
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
    ) -> LinearTextComponent:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearTextComponent:
        try:
            with model_storage.read_from(resource) as directory:
                pipeline, lexicon = joblib.load(directory / cls.MODEL_FILE)
        except (ValueError, FileNotFoundError):
            pipeline, lexicon = None, None
        return cls(config, model_storage, resource, pipeline, lexicon)

    def fit(self, documents_of: Any, examples: List[Any], labels: List[str]) -> Resource:
        """Fit on ``documents_of(example, lexicon)`` and persist the model with its lexicon."""
        classifier = LogisticRegression(
            C=float(self.config["C"]),
            max_iter=3000,
            class_weight="balanced",
            random_state=int(self.config["random_seed"]),
        )
        self.lexicon = lexicon_for(self.config)
        self.pipeline = make_pipeline(self.config, classifier)
        self.pipeline.fit([documents_of(e, self.lexicon) for e in examples], labels)
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump((self.pipeline, self.lexicon), directory / self.MODEL_FILE)
        return self._resource
