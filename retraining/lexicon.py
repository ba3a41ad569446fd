"""The jieba user dictionary, generated from the taxonomy terms and the place gazetteer.

Both the Rasa side (JiebaTokenizer reads ``data/jieba/``) and the app side (spaCy's jieba
segmenter) load the generated file, so category words and place names stay one token.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from core.taxonomy import Taxonomy
from grids.registry import load_registry_files

HEADER = ""  # jieba has no comment syntax; data/jieba/README.md says how this file is made
PLACE_FREQ = 50000
TERM_FREQ = 20000


def place_names(grids_dir: Path) -> list[str]:
    """Every name, alias and derived short form in the registry ("丰台" for 丰台区)."""
    return load_registry_files(sorted(grids_dir.glob("*.yml"))).all_names()


def taxonomy_terms(taxonomy: Taxonomy) -> list[str]:
    terms: list[str] = []
    for category in taxonomy.categories:
        terms.append(category.name)
        for sub in category.subcategories:
            terms.append(sub.name)
            terms.extend(sub.terms)
            terms.extend(sub.urgent)
    return terms


def _usable(word: str) -> bool:
    # jieba's dictionary format is whitespace separated; one-character words add nothing.
    return len(word) >= 2 and not any(ch.isspace() for ch in word)


def render(places: Iterable[str], terms: Iterable[str]) -> str:
    lines: dict[str, str] = {}
    for word in terms:
        if _usable(word):
            lines.setdefault(word, f"{word} {TERM_FREQ} n")
    for word in places:
        if _usable(word):
            lines[word] = f"{word} {PLACE_FREQ} ns"
    return HEADER + "".join(f"{lines[w]}\n" for w in sorted(lines))


def build_user_dictionary(data_dir: Path, taxonomy: Taxonomy) -> str:
    return render(place_names(data_dir / "grids"), taxonomy_terms(taxonomy))
