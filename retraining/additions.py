"""Taxonomy additions made from the console: runtime state under var/, never the checkout.

``var/taxonomy-additions.yml`` has the layout of ``data/taxonomy.yml``: new top-level
``categories`` (each with its subcategories and ``examples``, the residents' sentences that
teach Rasa the new intent ``report_<code>``) and new ``subcategories`` under the code of their
top-level category. The app reads it merged into the taxonomy
(``core.taxonomy.load_taxonomy_with_additions``); at training time the trainer turns it into
Rasa data in a temporary folder with ``rasa_domain``, ``rasa_training_data`` and
``dictionary_terms``. ``domain.yml`` and ``data/`` are never written.
"""

from __future__ import annotations

import copy
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from core.taxonomy import INTENT_PREFIX, TaxonomyError, intent_of

HEADER = (
    "# Taxonomy additions made from the console (分类管理) — runtime state, written by the app.\n"
    "# Merged into data/taxonomy.yml when read; turned into Rasa data at training time.\n"
)
# The form asks for the category with this response; its buttons list the categories.
CATEGORY_QUESTION = "utter_ask_category"


def read(path: Path) -> dict[str, Any]:
    """The additions (nothing added when the file does not exist)."""
    raw: Any = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    raw = raw or {}
    if not isinstance(raw, dict):
        raise TaxonomyError(f"{path} 的格式不对（应为 YAML 字典）")
    return {
        "version": 1,
        "categories": list(raw.get("categories") or []),
        "subcategories": {
            str(k): list(v or []) for k, v in (raw.get("subcategories") or {}).items()
        },
    }


def write(path: Path, raw: dict[str, Any]) -> None:
    """Replace the file in one step (temporary file + rename): readers never see half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    text = yaml.safe_dump(raw, allow_unicode=True, sort_keys=False, width=10_000)
    tmp.write_text(HEADER + text, encoding="utf-8")
    os.replace(tmp, path)


def is_empty(raw: dict[str, Any]) -> bool:
    return not raw["categories"] and not any(raw["subcategories"].values())


# ---------------------------------------------------------------- Rasa data at training time


def rasa_domain(domain: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """The project's domain plus the new intents; their names join the category buttons."""
    merged = copy.deepcopy(domain)
    intents: list[Any] = merged.setdefault("intents", [])
    known = {str(i) if not isinstance(i, dict) else str(next(iter(i))) for i in intents}
    questions = (merged.get("responses") or {}).get(CATEGORY_QUESTION) or []
    for category in raw["categories"]:
        intent, name = intent_of(str(category["code"])), str(category["name"])
        if intent not in known:
            intents.append(intent)
        for variation in questions:
            buttons = variation.get("buttons")
            if isinstance(buttons, list) and all(b.get("title") != name for b in buttons):
                buttons.append({"title": name, "payload": name})
    return merged


def start_rule(rules: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The project's rule that starts the petition form: its first step is an ``or`` of reports."""
    for rule in rules:
        steps = rule.get("steps") or []
        first = steps[0] if steps and isinstance(steps[0], dict) else {}
        options = first.get("or") or []
        if any(str(o.get("intent", "")).startswith(INTENT_PREFIX) for o in options):
            return rule
    raise TaxonomyError("data/rules 中没有由诉求意图（report_…）开始诉求表单的规则")


def nlu_data(raw: dict[str, Any]) -> dict[str, Any]:
    """The examples of the new categories as Rasa NLU data (their first subcategory's)."""
    nlu: list[dict[str, Any]] = []
    for category in raw["categories"]:
        block: dict[str, Any] = {"intent": intent_of(str(category["code"]))}
        subcategories = category.get("subcategories") or []
        if subcategories:
            block["metadata"] = {"subcategory": str(subcategories[0]["code"])}
        # Rasa reads [x](entity) as an annotation; resident text must stay plain.
        block["examples"] = "".join(
            f"- {str(e).replace('[', '［').replace(']', '］')}\n"
            for e in category.get("examples") or []
        )
        nlu.append(block)
    return {"version": "3.1", "nlu": nlu}


def rasa_training_data(raw: dict[str, Any], rule: dict[str, Any]) -> dict[str, Any]:
    """NLU examples and a rule per new intent, the rule following the project's ``rule``."""
    rules = []
    for category in raw["categories"]:
        intent = intent_of(str(category["code"]))
        steps = [{"intent": intent}, *copy.deepcopy(rule["steps"][1:])]
        rules.append({**copy.deepcopy(rule), "rule": f"{rule['rule']}（{intent}）", "steps": steps})
    return {**nlu_data(raw), "rules": rules}


def dictionary_terms(raw: dict[str, Any]) -> list[str]:
    """Names and words of everything added, for the jieba dictionary (like lexicon.py)."""
    subcategories = [s for c in raw["categories"] for s in c.get("subcategories") or []]
    subcategories += [s for subs in raw["subcategories"].values() for s in subs]
    terms = [str(c["name"]) for c in raw["categories"]]
    for sub in subcategories:
        terms.append(str(sub["name"]))
        terms += [str(t) for t in [*(sub.get("terms") or []), *(sub.get("urgent") or [])]]
    return terms
