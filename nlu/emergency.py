"""Emergency wording (火灾, 正在打架, 有人晕倒 …) overrides any classification.

A resident describing an emergency in progress must be told to call 119 / 110 / 120 before
anything else, whatever the statistical classifier thinks. The patterns are the training
data's ``regex: emergency_<service>`` entries, so they are versioned and fingerprinted with
the rest of the NLU data. ``regex: emergency_guard`` lists words that, earlier in the same
sentence, make the wording habitual, past or hypothetical ("天天半夜还在打架", "差点被车撞"):
letters about a danger are petitions, not emergencies in progress.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List

import rasa.shared.utils.io
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.stored_component import StoredComponent

EMERGENCY_INTENT = "emergency"
PATTERN_PREFIX = "emergency_"
GUARD = "guard"  # regex: emergency_guard
SENTENCE_END = re.compile(r"[。！？!?；;\n]")
INTENT_RANKING = "intent_ranking"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class EmergencyClassifier(StoredComponent):
    """Sets intent ``emergency`` and entities ``emergency_service`` on emergency wording."""

    PATTERN_FILE = "emergency_patterns.json"

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {}

    def __init__(
        self, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource
    ) -> None:
        super().__init__(config, model_storage, resource)
        self._use({})

    def _use(self, patterns: Dict[str, List[str]]) -> None:
        self.patterns = patterns
        self._compiled = {
            service: [re.compile(p) for p in items]
            for service, items in patterns.items()
            if service != GUARD
        }
        self._guards = [re.compile(p) for p in patterns.get(GUARD, [])]

    def _guarded(self, text: str, start: int) -> bool:
        """Whether a guard word stands before ``start`` in the same sentence."""
        ends = [m.end() for m in SENTENCE_END.finditer(text, 0, start)]
        before = text[ends[-1] if ends else 0 : start]
        return any(g.search(before) for g in self._guards)

    def train(self, training_data: TrainingData) -> Resource:
        patterns: Dict[str, List[str]] = {}
        for regex in training_data.regex_features:
            name = regex["name"]
            if name.startswith(PATTERN_PREFIX):
                patterns.setdefault(name[len(PATTERN_PREFIX) :], []).append(regex["pattern"])
        self._use(patterns)
        return self.persist()

    def save(self, directory: Path) -> None:
        rasa.shared.utils.io.dump_obj_as_json_to_file(directory / self.PATTERN_FILE, self.patterns)

    def restore(self, directory: Path) -> None:
        self._use(rasa.shared.utils.io.read_json_file(directory / self.PATTERN_FILE))

    def services_in(self, text: str) -> List[str]:
        """Which emergency services (fire, police, medical) the text calls for."""
        return [
            service
            for service, patterns in self._compiled.items()
            if any(
                not self._guarded(text, match.start())
                for p in patterns
                for match in p.finditer(text)
            )
        ]

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):
                continue  # button payloads are never emergencies
            services = self.services_in(text)
            if not services:
                continue
            intent = {INTENT_NAME_KEY: EMERGENCY_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
            ranking = [
                r for r in message.get(INTENT_RANKING) or [] if r.get("name") != EMERGENCY_INTENT
            ]
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING, [intent, *ranking], add_to_output=True)
            entities = [
                {
                    "entity": "emergency_service",
                    "value": service,
                    "start": 0,
                    "end": len(text),
                    "extractor": self.__class__.__name__,
                }
                for service in services
            ]
            message.set(ENTITIES, (message.get(ENTITIES) or []) + entities, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
