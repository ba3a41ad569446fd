"""Rasa's JiebaTokenizer on normalised text, with the user dictionary in the fingerprint."""

from __future__ import annotations

import glob
import hashlib
from pathlib import Path
from typing import Any, Dict, List, Optional

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from nlu.normalizer import normalize


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class NormalizingJiebaTokenizer(JiebaTokenizer):
    """Tokenises the normalised text (see ``nlu.normalizer``); offsets stay those of the input.

    Token texts are normalised (simplified, half-width, lower case), so featurizers see one
    form of each word; entity values are still cut from the original text by offset.
    """

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        # The dictionary is data outside the training data: retrain when it changes.
        path = config.get("dictionary_path")
        if not path:
            return None
        digest = hashlib.sha256()
        for name in sorted(glob.glob(f"{path}/*")):
            digest.update(Path(name).read_bytes())
        return digest.hexdigest()

    def tokenize(self, message: Message, attribute: str) -> List[Token]:
        import jieba

        text = normalize(message.get(attribute) or "")
        tokens = [Token(word, start) for word, start, _end in jieba.tokenize(text) if word.strip()]
        return self._apply_token_pattern(tokens)
