"""Sparse text features shared by the linear classifiers.

A document is built from the normalised text and its jieba tokens, then turned into char
1–3-gram and word TF-IDF features. Two pieces of domain knowledge go in first:

* place names from the gazetteer (the ``ns`` entries of the jieba dictionary) are replaced by
  one marker, and digits by ``0`` — a place or a door number says nothing about the kind of
  problem, but without masking a bare answer like "玉林北路18号" (intent ``inform``) pulls
  every report that names a place towards ``inform``;
* taxonomy terms (``data/taxonomy.yml``) found in the text add lexicon tokens
  ``LEX:<category>`` and ``LEX:<category>/<subcategory>``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

import yaml
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline

from nlu.normalizer import normalize

SEPARATOR = "\u241f"  # between the char part and the word part; never in normalised text
PLACE = "\u24c5"  # Ⓟ
DIGITS = re.compile(r"\d")

DEFAULT_FEATURE_CONFIG: Dict[str, Any] = {
    "char_max_ngram": 3,
    "char_max_features": 30000,
    "word_max_features": 10000,
    "dictionary_path": "data/jieba/userdict.txt",
    "taxonomy_path": "data/taxonomy.yml",
}


@dataclass(frozen=True)
class Lexicon:
    places: FrozenSet[str] = frozenset()
    terms: Tuple[Tuple[str, Tuple[str, ...]], ...] = field(default_factory=tuple)

    @classmethod
    def from_files(cls, dictionary: Optional[Path], taxonomy: Optional[Path]) -> Lexicon:
        places = set()
        if dictionary and dictionary.exists():
            for line in dictionary.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[2] == "ns":
                    places.add(normalize(parts[0]))
        terms = []
        if taxonomy and taxonomy.exists():
            raw = yaml.safe_load(taxonomy.read_text(encoding="utf-8"))
            for cat in raw["categories"]:
                for sub in cat.get("subcategories") or []:
                    words = [sub["name"], *(sub.get("terms") or [])]
                    label = f"LEX:{cat['code']}/{sub['code']}"
                    terms.append((label, tuple(normalize(w) for w in words if len(w) >= 2)))
        return cls(frozenset(places), tuple(terms))

    def lexicon_tokens(self, text: str) -> List[str]:
        found = []
        for label, words in self.terms:
            if any(w in text for w in words):
                found += [label, label.split("/", 1)[0]]
        return found


def fingerprint(config: Dict[str, Any]) -> Optional[str]:
    """Retrain when the dictionary or the taxonomy changes (they are not training data)."""
    digest = hashlib.sha256()
    for key in ("dictionary_path", "taxonomy_path"):
        path = config.get(key)
        if path and Path(path).exists():
            digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def lexicon_for(config: Dict[str, Any]) -> Lexicon:
    def path(key: str) -> Optional[Path]:
        return Path(config[key]) if config.get(key) else None

    return Lexicon.from_files(path("dictionary_path"), path("taxonomy_path"))


def document(message: Message, lexicon: Lexicon) -> str:
    """One string per message: masked characters, a separator, then words and lexicon tokens."""
    text = normalize(message.get(TEXT) or "")
    tokens = message.get(TOKENS_NAMES[TEXT]) or []
    words = [PLACE if t.text in lexicon.places else DIGITS.sub("0", t.text) for t in tokens]
    chars = "".join(words) if tokens else DIGITS.sub("0", text)
    return f"{chars}{SEPARATOR}{' '.join(words + lexicon.lexicon_tokens(text))}"


def _chars(doc: str) -> str:
    return doc.split(SEPARATOR, 1)[0]


def _words(doc: str) -> List[str]:
    return doc.split(SEPARATOR, 1)[1].split()


def build_features(config: Dict[str, Any]) -> FeatureUnion:
    char_vectorizer = TfidfVectorizer(
        analyzer="char",
        preprocessor=_chars,
        ngram_range=(1, int(config["char_max_ngram"])),
        max_features=int(config["char_max_features"]),
        sublinear_tf=True,
    )
    word_vectorizer = TfidfVectorizer(
        analyzer=_words, max_features=int(config["word_max_features"]), sublinear_tf=True
    )
    return FeatureUnion([("chars", char_vectorizer), ("words", word_vectorizer)])


def make_pipeline(config: Dict[str, Any], classifier: Any) -> Pipeline:
    return Pipeline([("features", build_features(config)), ("classifier", classifier)])
