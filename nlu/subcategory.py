"""Subcategory (二级分类) classifier trained on the examples' ``metadata.subcategory``.

Runs after the intent classifiers: for a ``report_<category>`` intent it ranks only that
category's subcategories and sets ``subcategory`` ({name, confidence}) and
``subcategory_ranking`` (top 3) on the parse result; other intents get no subcategory.
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, METADATA
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.linear_component import LinearTextComponent
from nlu.text_features import (
    document,
)

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
class SubcategoryClassifier(LinearTextComponent):
    """Ranks the subcategories of the predicted report category."""

    MODEL_FILE = "subcategory.joblib"

    def train(self, training_data: TrainingData) -> Resource:
        examples, labels = [], []
        for message in training_data.intent_examples:
            intent = message.get(INTENT) or ""
            sub = subcategory_of(message)
            if intent.startswith(REPORT_PREFIX) and sub:
                examples.append(message)
                labels.append(f"{intent}{LABEL_SEPARATOR}{sub}")
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
