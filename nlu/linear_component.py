"""Shared life cycle of the linear text classifiers: config, persistence, fingerprint."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional

import joblib
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from nlu.stored_component import StoredComponent
from nlu.text_features import (
    DEFAULT_FEATURE_CONFIG,
    Lexicon,
    fingerprint,
    lexicon_for,
    make_pipeline,
)

log = logging.getLogger(__name__)


class LinearTextComponent(StoredComponent):
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
        self, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource
    ) -> None:
        super().__init__(config, model_storage, resource)
        self.config = {**self.get_default_config(), **config}
        self.pipeline: Optional[Pipeline] = None
        self.lexicon = Lexicon()

    def fit(self, documents_of: Any, examples: List[Any], labels: List[str]) -> Resource:
        """Fit on ``documents_of(example, lexicon)`` and persist the model with its lexicon.

        With fewer than two labels there is nothing to choose between: the component stays
        untrained (and leaves messages alone) instead of failing the whole training run.
        """
        if len(set(labels)) < 2:
            log.warning("%s found fewer than two labels; not trained", type(self).__name__)
            return self._resource
        classifier = LogisticRegression(
            C=float(self.config["C"]),
            max_iter=3000,
            class_weight="balanced",
            random_state=int(self.config["random_seed"]),
        )
        self.lexicon = lexicon_for(self.config)
        self.pipeline = make_pipeline(self.config, classifier)
        self.pipeline.fit([documents_of(e, self.lexicon) for e in examples], labels)
        return self.persist()

    def save(self, directory: Path) -> None:
        joblib.dump((self.pipeline, self.lexicon), directory / self.MODEL_FILE)

    def restore(self, directory: Path) -> None:
        self.pipeline, self.lexicon = joblib.load(directory / self.MODEL_FILE)
