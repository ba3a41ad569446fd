"""Shared life cycle of the linear text classifiers: config, persistence, fingerprint.

The model is ``AveragedSGD``: logistic regression fitted by stochastic gradient descent a few
times with different seeds, the weights averaged into one linear model. On the independent
evaluation set it is as accurate as scikit-learn's LogisticRegression (lbfgs) or better, and
trains 10–20 times faster, which matters once thousands of letters are imported
(docs/benchmarks.md, "NLU"). One averaged model keeps the file as small as one run's.
"""

from __future__ import annotations

import logging
import pickle
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional

import joblib
import numpy as np
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import Pipeline
from sklearn.utils.extmath import safe_sparse_dot

from nlu.stored_component import StoredComponent
from nlu.text_features import (
    DEFAULT_FEATURE_CONFIG,
    Lexicon,
    fingerprint,
    lexicon_for,
    make_pipeline,
)

log = logging.getLogger(__name__)


class AveragedSGD(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Logistic regression by SGD, ``runs`` seeds averaged into one model (one-vs-rest)."""

    def __init__(
        self, alpha: float = 3e-6, runs: int = 5, max_iter: int = 30, random_state: int = 42
    ) -> None:
        self.alpha = alpha
        self.runs = runs
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, features: Any, labels: List[str]) -> AveragedSGD:
        fitted = []
        with warnings.catch_warnings():
            # A run stopping at max_iter is expected: averaging the runs settles the weights.
            warnings.simplefilter("ignore", ConvergenceWarning)
            for run in range(int(self.runs)):
                model = SGDClassifier(
                    loss="log_loss",
                    alpha=float(self.alpha),
                    max_iter=int(self.max_iter),
                    tol=1e-3,
                    random_state=int(self.random_state) + run,
                    n_jobs=2,  # one-vs-rest classes in parallel (the machine kind has 2 cores)
                )
                fitted.append(model.fit(features, labels))
        self.classes_ = fitted[0].classes_
        self.coef_ = np.mean([m.coef_ for m in fitted], axis=0).astype(np.float32)
        self.intercept_ = np.mean([m.intercept_ for m in fitted], axis=0)
        return self

    def decision_function(self, features: Any) -> Any:
        # The weights as scipy multiplies them (float64, one row per feature), made once: a
        # conversion on every call copied the whole matrix for each message.
        weights = self.__dict__.get("_weights")
        if weights is None:
            weights = self._weights = np.ascontiguousarray(self.coef_.T, dtype=np.float64)
        return safe_sparse_dot(features, weights, dense_output=True) + self.intercept_

    def __getstate__(self) -> Dict[str, Any]:
        state: Dict[str, Any] = super().__getstate__()
        state.pop("_weights", None)  # derived; not stored with the model
        return state

    def predict_proba(self, features: Any) -> Any:
        scores = expit(self.decision_function(features))
        if scores.shape[1] == 1:  # two classes: one weight vector
            return np.hstack([1 - scores, scores])
        return scores / np.maximum(scores.sum(axis=1, keepdims=True), 1e-12)

    def predict(self, features: Any) -> Any:
        return self.classes_[np.argmax(self.predict_proba(features), axis=1)]


class LinearTextComponent(StoredComponent):
    """A TF-IDF + logistic-regression model over ``nlu.text_features`` documents.

    Subclasses name their model file and implement ``train`` (calling ``fit``) and ``process``.
    """

    # Plain pickle, uncompressed: the model archive is gzipped as a whole, and the C unpickler
    # reads the vocabulary in 0.03 s where joblib's Python one took 0.5 s, or 2 s compressed
    # (docs/benchmarks.md, "Start"). Models saved before with joblib still load.
    MODEL_FILE = "linear.pkl"

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        # The dictionary and the taxonomy are read at training time, outside the training data.
        return fingerprint({**cls.get_default_config(), **config})

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**DEFAULT_FEATURE_CONFIG, "alpha": 3e-6, "runs": 5, "random_seed": 42}

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
        classifier = AveragedSGD(
            alpha=float(self.config["alpha"]),
            runs=int(self.config["runs"]),
            random_state=int(self.config["random_seed"]),
        )
        self.lexicon = lexicon_for(self.config)
        self.pipeline = make_pipeline(self.config, classifier)
        self.pipeline.fit([documents_of(e, self.lexicon) for e in examples], labels)
        return self.persist()

    def save(self, directory: Path) -> None:
        if self.pipeline is not None:
            for _name, vectorizer in self.pipeline.named_steps["features"].transformer_list:
                # The n-grams cut by max_features: only for inspection, and with thousands of
                # imported letters they would be most of the model file.
                vectorizer.stop_words_ = None
        with (directory / self.MODEL_FILE).open("wb") as file:
            pickle.dump((self.pipeline, self.lexicon), file, protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, directory: Path) -> None:
        path = directory / self.MODEL_FILE
        if not path.exists():
            legacy = path.with_suffix(".joblib")
            if legacy.exists():
                self.pipeline, self.lexicon = joblib.load(legacy)
                return
        with path.open("rb") as file:  # the model archive this process was given
            self.pipeline, self.lexicon = pickle.load(file)
