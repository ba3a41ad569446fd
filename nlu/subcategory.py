"""Subcategory (二级分类) classifier trained on the examples' ``metadata.subcategory``.

It is also a second opinion on the category: the probability mass it puts on the predicted
category's subcategories agrees with the intent classifier when both are right. The report
intent's confidence becomes the geometric mean of the two (the intent classifier's own stays
in ``model_confidence``), which the fallback then reads: on the independent evaluation set
this ranks the classifier's errors far better than either confidence alone
(docs/benchmarks.md, "Calibration").

Runs after the intent classifiers: for a ``report_<category>`` intent it ranks only that
category's subcategories and sets ``subcategory`` ({name, confidence}) and
``subcategory_ranking`` (top 3) on the parse result; other intents get no subcategory.
"""

from __future__ import annotations

import hashlib
from typing import Any, Dict, List, Optional

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    METADATA,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.linear_component import LinearTextComponent
from nlu.text_features import (
    document,
)

REPORT_PREFIX = "report_"
INTENT_RANKING = "intent_ranking"
FALLBACK_INTENT = "nlu_fallback"
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
class SubcategoryClassifier(LinearTextComponent):
    """Ranks the subcategories of the predicted report category."""

    MODEL_FILE = "subcategory.pkl"

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        # A report whose combined confidence is below this becomes nlu_fallback (the bot
        # offers the likeliest categories); 0 turns it off. Chosen on the independent
        # evaluation set: at most 10 % of residents asked, most errors caught.
        return {
            **LinearTextComponent.get_default_config(),
            "fallback_threshold": 0.0,
            # Reports without a subcategory per category (a stable sample): enough to teach
            # the category, without thousands of imported letters slowing training.
            "max_unlabelled_per_category": 100,
        }

    def train(self, training_data: TrainingData) -> Resource:
        examples, labels = [], []
        unlabelled: Dict[str, List[Message]] = {}
        for message in training_data.intent_examples:
            intent = message.get(INTENT) or ""
            if not intent.startswith(REPORT_PREFIX):
                continue
            sub = subcategory_of(message)
            if sub:
                examples.append(message)
                labels.append(f"{intent}{LABEL_SEPARATOR}{sub}")
            else:
                unlabelled.setdefault(intent, []).append(message)
        # A report without a subcategory (a staff correction, imported history) still teaches
        # the category: it goes to the category's unnamed class, which counts for the
        # category's agreement but is never offered as a subcategory.
        limit = int(self.config["max_unlabelled_per_category"])
        for intent, messages in sorted(unlabelled.items()):
            messages.sort(key=lambda m: hashlib.sha256((m.get("text") or "").encode()).hexdigest())
            examples += messages[:limit]
            labels += [f"{intent}{LABEL_SEPARATOR}"] * len(messages[:limit])
        return self.fit(document, examples, labels)

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
            mass = float(np.sum(row[allowed]))
            self._combine_confidence(message, mass, float(self.config["fallback_threshold"]))
            named = [i for i in allowed if classes[i].split(LABEL_SEPARATOR, 1)[1]]
            if not named:
                continue
            total = float(np.sum(row[named])) or 1.0
            ranked = sorted(named, key=lambda i: row[i], reverse=True)[:3]
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

    @staticmethod
    def _combine_confidence(message: Message, mass: float, threshold: float) -> None:
        """The report intent's confidence: both classifiers' agreement on the category."""
        intent = dict(message.get(INTENT))
        combined = float(np.sqrt(max(0.0, float(intent[PREDICTED_CONFIDENCE_KEY])) * mass))
        intent["model_confidence"] = intent[PREDICTED_CONFIDENCE_KEY]
        intent[PREDICTED_CONFIDENCE_KEY] = combined
        message.set(INTENT, intent, add_to_output=True)
        ranking = [dict(r) for r in message.get(INTENT_RANKING) or []]
        if ranking and ranking[0].get(INTENT_NAME_KEY) == intent[INTENT_NAME_KEY]:
            ranking[0][PREDICTED_CONFIDENCE_KEY] = combined
            message.set(INTENT_RANKING, ranking, add_to_output=True)
        if combined < threshold:  # as FallbackClassifier does it
            fallback = {INTENT_NAME_KEY: FALLBACK_INTENT, PREDICTED_CONFIDENCE_KEY: threshold}
            message.set(INTENT, fallback, add_to_output=True)
            message.set(INTENT_RANKING, [fallback, *ranking], add_to_output=True)
