"""Rasa's CRF entity extractor, over the first tokens of a long message only.

A CRF over a 500-character letter (about 300 jieba tokens) costs about 30 ms in Python, per
message, in every conversation turn and in every model comparison over held-back letters.
The places, times and amounts the form pre-fills are in a message's opening words; where a
letter goes is read from its whole text by the grid resolver anyway. Entities found are cut
from the original text by token offsets, so they are the same as without the bound.

Rasa's extractor stores its training tokens and trains the CRF again every time a model is
loaded: about eight seconds of each Rasa start on this machine. This one also stores the
trained CRF files and opens them on load; a model without them is retrained as before.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, List, Optional

import rasa.shared.utils.io
import sklearn_crfsuite
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor, CRFToken
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

MAX_TOKENS = "max_tokens"
TAGGERS_FILE = "crf_taggers.json"  # tag name -> the trained CRF's file, beside Rasa's files
# Part of the training fingerprint, so Rasa's cache does not hand back an extractor stored
# without its CRF files (which would be trained again at every start).
STORAGE_VERSION = "crf-files-1"

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class BoundedCRFEntityExtractor(CRFEntityExtractor):
    """``CRFEntityExtractor`` that tags at most ``max_tokens`` tokens of a message."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**CRFEntityExtractor.get_default_config(), MAX_TOKENS: 120}

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        return STORAGE_VERSION

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

    def persist(self, dataset: List[List[CRFToken]]) -> None:
        super().persist(dataset)
        with self._model_storage.write_to(self._resource) as model_dir:
            files = {}
            for position, (tag_name, tagger) in enumerate((self.entity_taggers or {}).items()):
                file_name = f"crf_tagger_{position}.crfsuite"
                (model_dir / file_name).write_bytes(Path(tagger.modelfile.name).read_bytes())
                files[tag_name] = file_name
            rasa.shared.utils.io.dump_obj_as_json_to_file(model_dir / TAGGERS_FILE, files)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CRFEntityExtractor:
        try:
            with model_storage.read_from(resource) as model_dir:
                if not (model_dir / TAGGERS_FILE).is_file():
                    logger.info("No trained CRF files in the model: training the CRF again.")
                    return super().load(config, model_storage, resource, execution_context)
                files: Dict[str, str] = rasa.shared.utils.io.read_json_file(
                    model_dir / TAGGERS_FILE
                )
                crf_order: List[str] = rasa.shared.utils.io.read_json_file(
                    model_dir / "crf_order.json"
                )
                taggers: OrderedDict[str, sklearn_crfsuite.CRF] = OrderedDict(
                    (name, _opened(model_dir / files[name])) for name in crf_order
                )
        except ValueError:  # no resource: the extractor had nothing to train on
            return super().load(config, model_storage, resource, execution_context)
        extractor = cls(config, model_storage, resource, taggers)
        extractor.crf_order = crf_order
        return extractor


def _opened(path: Path) -> sklearn_crfsuite.CRF:
    """A trained CRF read from its file. The tagger is opened here, while the model's
    folder is certainly there; crfsuite keeps the whole model in memory once open."""
    crf = sklearn_crfsuite.CRF(model_filename=str(path))
    if crf.tagger_ is None:
        raise ValueError(f"CRF file {path} could not be opened")
    return crf
