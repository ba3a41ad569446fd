"""Rasa's CRF entity extractor, over the first tokens of a long message only.

A CRF over a 500-character letter (about 300 jieba tokens) costs about 30 ms in Python, per
message, in every conversation turn and in every model comparison over held-back letters.
The places, times and amounts the form pre-fills are in a message's opening words; where a
letter goes is read from its whole text by the grid resolver anyway. Entities found are cut
from the original text by token offsets, so they are the same as without the bound.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

MAX_TOKENS = "max_tokens"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class BoundedCRFEntityExtractor(CRFEntityExtractor):
    """``CRFEntityExtractor`` that tags at most ``max_tokens`` tokens of a message."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**CRFEntityExtractor.get_default_config(), MAX_TOKENS: 120}

    def extract_entities(self, message: Message) -> List[Dict[str, Any]]:
        tokens = message.get(TOKENS_NAMES[TEXT]) or []
        limit = int(self.component_config.get(MAX_TOKENS) or 0)
        if limit <= 0 or len(tokens) <= limit:
            return super().extract_entities(message)
        head = Message(
            data={**message.data, TOKENS_NAMES[TEXT]: tokens[:limit]},
            features=message.features,
        )
        return super().extract_entities(head)
