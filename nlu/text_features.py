"""Sparse text features shared by the linear classifiers.

A document is built from the normalised text and its jieba words, then turned into char
1–3-gram and word TF-IDF features. The classifiers segment the text themselves (jieba with the
project's user dictionary, which the model keeps), so they can sit before Rasa's tokenizer
in the pipeline: thousands of imported letters are then segmented once, here, and never
turned into Rasa tokens that only the entity extractor would need.

Two pieces of domain knowledge go in first:

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
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline

from nlu.normalizer import normalize

WORDS_KEY = "petition_words"  # the message's segmented words, shared by both classifiers
SEPARATOR = "\u241f"  # between the char part and the word part; never in normalised text
PLACE = "\u24c5"  # Ⓟ
DIGITS = re.compile(r"\d")

DEFAULT_FEATURE_CONFIG: Dict[str, Any] = {
    "char_max_ngram": 3,
    "char_max_features": 30000,
    "word_max_features": 10000,
    "dictionary_path": "data/jieba",  # every file in it, as Rasa's JiebaTokenizer reads it
    "taxonomy_path": "data/taxonomy.yml",
}


@dataclass(frozen=True)
class Lexicon:
    places: FrozenSet[str] = frozenset()
    terms: Tuple[Tuple[str, Tuple[str, ...]], ...] = field(default_factory=tuple)
    # The jieba user dictionary's entries (word, frequency, tag), kept with the model.
    dictionary: Tuple[Tuple[str, int, str], ...] = field(default_factory=tuple)

    def prepare_segmenter(self) -> None:
        """Make jieba know the dictionary's words (once per process and dictionary)."""
        import jieba

        key = hash(self.dictionary)
        if key in _PREPARED:
            return
        for word, freq, tag in self.dictionary:
            jieba.add_word(word, freq, tag)
        _PREPARED.add(key)

    @classmethod
    def from_files(cls, dictionary: Optional[Path], taxonomy: Optional[Path]) -> Lexicon:
        places = set()
        entries = []
        lines = [
            line
            for file in (dictionary_files(dictionary) if dictionary else [])
            if file.suffix == ".txt"
            for line in file.read_text(encoding="utf-8").splitlines()
        ]
        if lines:
            for line in lines:
                parts = line.split()
                if len(parts) == 3 and parts[1].isdigit():
                    entries.append((parts[0], int(parts[1]), parts[2]))
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
        return cls(frozenset(places), tuple(terms), tuple(entries))

    def lexicon_tokens(self, text: str) -> List[str]:
        found = []
        for label, words in self.terms:
            if any(w in text for w in words):
                found += [label, label.split("/", 1)[0]]
        return found


def dictionary_files(path: Path) -> List[Path]:
    """A file, or every file in a folder (sorted); nothing when it does not exist."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file())
    return [path] if path.exists() else []


# Raised when the stored feature objects or the model file change, so Rasa's cache does not
# hand back models saved the old way (2: SequentialUnion; 3: plain pickle, not joblib).
FEATURES_VERSION = 3


def fingerprint(config: Dict[str, Any]) -> Optional[str]:
    """Retrain when the dictionary or the taxonomy changes (they are not training data), or
    the feature code (``FEATURES_VERSION``)."""
    digest = hashlib.sha256(f"features-{FEATURES_VERSION}".encode())
    for key in ("dictionary_path", "taxonomy_path"):
        path = config.get(key)
        for file in dictionary_files(Path(path)) if path else []:
            digest.update(file.read_bytes())
    return digest.hexdigest()


def lexicon_for(config: Dict[str, Any]) -> Lexicon:
    def path(key: str) -> Optional[Path]:
        return Path(config[key]) if config.get(key) else None

    return Lexicon.from_files(path("dictionary_path"), path("taxonomy_path"))


_PREPARED: set = set()


def segmented(message: Message, lexicon: Lexicon) -> List[str]:
    """The normalised text's jieba words (computed once per message)."""
    words = message.get(WORDS_KEY)
    if words is None:
        import jieba

        lexicon.prepare_segmenter()
        text = normalize(message.get(TEXT) or "")
        words = [w for w in jieba.lcut(text) if w.strip()]
        message.set(WORDS_KEY, words)
    return list(words)


def document(message: Message, lexicon: Lexicon) -> str:
    """One string per message: masked characters, a separator, then words and lexicon tokens."""
    text = normalize(message.get(TEXT) or "")
    tokens = segmented(message, lexicon)
    words = [PLACE if t in lexicon.places else DIGITS.sub("0", t) for t in tokens]
    chars = "".join(words) if tokens else DIGITS.sub("0", text)
    return f"{chars}{SEPARATOR}{' '.join(words + lexicon.lexicon_tokens(text))}"


def _chars(doc: str) -> str:
    return doc.split(SEPARATOR, 1)[0]


def _words(doc: str) -> List[str]:
    return doc.split(SEPARATOR, 1)[1].split()


class SequentialUnion(FeatureUnion):  # type: ignore[misc]
    """Character and word features side by side, computed in turn.

    sklearn's FeatureUnion dispatches its two transformers through joblib even when it runs
    them one after the other; for one message that overhead was a third of featurisation.
    """

    def transform(self, raw: Any) -> Any:
        return sparse.hstack([t.transform(raw) for _, t in self.transformer_list]).tocsr()


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
    return SequentialUnion([("chars", char_vectorizer), ("words", word_vectorizer)])


def make_pipeline(config: Dict[str, Any], classifier: Any) -> Pipeline:
    return Pipeline([("features", build_features(config)), ("classifier", classifier)])
